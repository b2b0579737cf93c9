#!/usr/bin/env bash
# A small Optuna search over one LSTM's training on the early experiment (first 2 h, real text),
# judged on seed 0's validation split only (val/<m>/loss), then the chosen settings against the
# defaults on fresh seeds 1-3, whose test splits the search never saw (README: "Hyper-parameter search").
#   bash scripts/reproduce/search_lstms.sh text 12      (modality, trials; then ENSEMBLE=3: the best as a 3-network ensemble)
# Needs the tune extra: pip install 'mmfusion[tune]'.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh
M=${1:-text}
TRIALS=${2:-12}
SWEEP="$RUNS/early_search_$M"
step "search over the $M LSTM: $TRIALS trials"
# one network per trial, from the paper's training (experiment=early's own model/<m>=lstm_tuned is the result)
time mmfusion train hparams_search="${M}_lstm" experiment=early "model/$M=lstm" $REAL evaluation.bootstrap=0 \
  objective.metric="val/$M/loss" objective.direction=minimize hydra.sweeper.n_trials="$TRIALS" seed=0 \
  hydra.sweep.dir="$SWEEP"
mmfusion report "$SWEEP"
python scripts/collect_results.py "$SWEEP" "$RESULTS/early_search_$M"
# the best parameters as overrides, e.g. model.text.lr=0.003 model.text.embedding=fasttext ...
BEST=$(best_params "$SWEEP")
step "defaults vs the search's best ($BEST), seeds 1-3"
mmfusion train -m experiment=early "model/$M=lstm" $REAL modalities=[$M] seed=1,2,3 hydra.sweep.dir="$RUNS/early_search_${M}_defaults"
mmfusion train -m experiment=early "model/$M=lstm" $REAL modalities=[$M] seed=1,2,3 $BEST hydra.sweep.dir="$RUNS/early_search_${M}_best"
RUNS_DONE="early_search_${M}_defaults early_search_${M}_best"
if [ -n "${ENSEMBLE:-}" ]; then
  mmfusion train -m experiment=early "model/$M=lstm" $REAL modalities=[$M] seed=1,2,3 $BEST "model.$M.ensemble=$ENSEMBLE" \
    hydra.sweep.dir="$RUNS/early_search_${M}_best_ensemble"
  RUNS_DONE="$RUNS_DONE early_search_${M}_best_ensemble"
fi
for d in $RUNS_DONE; do
  publish "$d"
done
