#!/usr/bin/env bash
# The fused LSTMs of the early experiment (first 2 h, real text) with the defaults and with the best
# settings of the two single-modality searches (scripts/search_lstms.sh text|series), seeds 1-3; then
# the searched series LSTM as a 3-network ensemble (README: "Hyper-parameter search").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/settings.sh
best() {  # the best parameters of a search as overrides
  python - "$RUNS/early_search_$1/optimization_results.yaml" <<'PY'
import sys, yaml
print(" ".join(f"{k}={v}" for k, v in yaml.safe_load(open(sys.argv[1]))["best_params"].items()))
PY
}
TEXT=$(best text)
SERIES=$(best series)
mmfusion train -m experiment=early $REAL seed=1,2,3 hydra.sweep.dir="$RUNS/early_search_fused_defaults"
mmfusion train -m experiment=early $REAL seed=1,2,3 $TEXT $SERIES hydra.sweep.dir="$RUNS/early_search_fused_best"
mmfusion train -m experiment=early $REAL modalities=[series] seed=1,2,3 $SERIES model.series.ensemble=3 \
  hydra.sweep.dir="$RUNS/early_search_series_best_ensemble"
for d in early_search_fused_defaults early_search_fused_best early_search_series_best_ensemble; do
  mmfusion report "$RUNS/$d"
  python scripts/collect_results.py "$RUNS/$d" "$RESULTS/$d"
done
# both searched networks as 3-network ensembles, fused (declared before seeing the rows above on test)
mmfusion train -m experiment=early $REAL seed=1,2,3 $TEXT $SERIES model.text.ensemble=3 model.series.ensemble=3 \
  hydra.sweep.dir="$RUNS/early_search_fused_best_ensemble"
mmfusion report "$RUNS/early_search_fused_best_ensemble"
python scripts/collect_results.py "$RUNS/early_search_fused_best_ensemble" "$RESULTS/early_search_fused_best_ensemble"
