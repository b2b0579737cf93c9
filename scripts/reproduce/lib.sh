# The shell library of the reproduction scripts (sourced from the project root, never run): where runs
# and results go, which text to read, and the steps every recipe repeats.
# Text: MathWorks' factoryReports.csv as the package bundles it (nothing outside the clone is needed);
# REPORTS=<file> reads another copy instead. RUNS: where runs go (git-ignored); RESULTS: where the
# citable files are copied.
RUNS=${RUNS:-outputs/runs}
RESULTS=${RESULTS:-outputs/results}
FOLDS="dataset.cv.folds=5 dataset.cv.fold=0,1,2,3,4"
if [ -n "${REPORTS:-}" ]; then
  REAL="dataset/text=csv dataset.text.path=$REPORTS"
else
  REAL="dataset/text=factory_reports"
fi

step() { echo; echo "== $*"; }

publish() {  # publish <name>: report the run or sweep $RUNS/<name> and copy its citable files to $RESULTS/<name>
  mmfusion report "$RUNS/$1"
  python scripts/collect_results.py "$RUNS/$1" "$RESULTS/$1"
}

fuse_all() {  # fuse_all <run-or-sweep> [overrides...]: every finished job re-fused with every rule (no retraining)
  local dir=$1 job; shift
  for job in "$dir" "$dir"/*/; do
    [ -f "$job/COMPLETE" ] && mmfusion fuse "$job" fusion=all "$@" || true
  done
}

sweep() {  # sweep <name> <overrides...>: a multirun into $RUNS/<name>, re-fused with every rule when it
  local name=$1; shift  # trains the joint network, then published
  step "$name: mmfusion train -m $*"
  mmfusion train -m "$@" hydra.sweep.dir="$RUNS/$name" || echo "(some jobs of $name failed: see the report)"
  if [[ " $* " == *" joint=lstm"* ]]; then  # joint=lstm or joint=lstm_tuned
    fuse_all "$RUNS/$name" robustness.enabled=true
  fi
  publish "$name"
}

best_params() {  # best_params <search sweep dir>: the best parameters of an Optuna search as overrides
  python - "$1/optimization_results.yaml" <<'PY'
import sys, yaml
best = yaml.safe_load(open(sys.argv[1]))["best_params"]
print(" ".join(f"{k}={'null' if v is None else v}" for k, v in best.items()))
PY
}
