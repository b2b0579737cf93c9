# Settings shared by the reproduction scripts (sourced from the project root, never run).
# Text: MathWorks' factoryReports.csv as the package bundles it (nothing outside the clone is needed);
# REPORTS=<file> reads another copy instead. RUNS: where runs go (git-ignored); RESULTS: where the
# citable files are copied.
RUNS=${RUNS:-outputs/runs}
RESULTS=${RESULTS:-outputs/results}
if [ -n "${REPORTS:-}" ]; then
  REAL="dataset/text=csv dataset.text.path=$REPORTS"
else
  REAL="dataset/text=factory_reports"
fi
step() { echo; echo "== $*"; }
