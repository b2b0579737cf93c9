#!/usr/bin/env bash
# The fused LSTMs of the early experiment (first 2 h, real text) with the defaults and with the best
# settings of the two single-modality searches (scripts/search_lstms.sh text|series), seeds 1-3; then
# the searched series LSTM as a 3-network ensemble (README: "Hyper-parameter search").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
TEXT=$(best_params "$RUNS/early_search_text")
SERIES=$(best_params "$RUNS/early_search_series")
mmfusion train -m experiment=early $REAL seed=1,2,3 hydra.sweep.dir="$RUNS/early_search_fused_defaults"
mmfusion train -m experiment=early $REAL seed=1,2,3 $TEXT $SERIES hydra.sweep.dir="$RUNS/early_search_fused_best"
mmfusion train -m experiment=early $REAL modalities=[series] seed=1,2,3 $SERIES model.series.ensemble=3 \
  hydra.sweep.dir="$RUNS/early_search_series_best_ensemble"
for d in early_search_fused_defaults early_search_fused_best early_search_series_best_ensemble; do
  publish "$d"
done
# both searched networks as 3-network ensembles, fused (declared before seeing the rows above on test)
mmfusion train -m experiment=early $REAL seed=1,2,3 $TEXT $SERIES model.text.ensemble=3 model.series.ensemble=3 \
  hydra.sweep.dir="$RUNS/early_search_fused_best_ensemble"
publish "early_search_fused_best_ensemble"
