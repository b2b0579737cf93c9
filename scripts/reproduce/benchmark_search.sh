#!/usr/bin/env bash
# Benchmark (issue: "a search of 30 trials on one modality of the early experiment within 45 minutes on
# this 2-core machine"): the Optuna search over one LSTM of experiment=early, one network per trial from the
# paper's training, judged on the validation split; wall time and peak RSS from GNU time, beside the
# study. Needs the tune extra (pip install 'mmfusion[tune]').
#   scripts/reproduce/benchmark_search.sh [text|series] [trials]      (default: text 30)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh
M=${1:-text}
TRIALS=${2:-30}
SWEEP="$RUNS/early_search${TRIALS}_$M"
step "$TRIALS trials over the $M LSTM (experiment=early), timed"
mkdir -p "$RUNS"  # GNU time writes its report there before mmfusion makes the folder (a fresh clone has none)
/usr/bin/time -v -o "$SWEEP.time.txt" mmfusion train hparams_search="${M}_lstm" experiment=early "model/$M=lstm" $REAL \
  evaluation.bootstrap=0 objective.metric="val/$M/loss" objective.direction=minimize hydra.sweeper.n_trials="$TRIALS" \
  seed=0 hydra.sweep.dir="$SWEEP"
grep -E "Elapsed|Maximum resident" "$SWEEP.time.txt"
mmfusion report "$SWEEP"
python scripts/collect_results.py "$SWEEP" "$RESULTS/early_search${TRIALS}_$M"
cp "$SWEEP.time.txt" "$RESULTS/early_search${TRIALS}_$M/time.txt"
