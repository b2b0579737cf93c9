# Settings shared by the reproduction scripts (sourced from the project root, never run).
# REPORTS: MathWorks' factoryReports.csv (default: the reference copy beside this project);
# RUNS: where runs go (git-ignored); RESULTS: where the citable files are copied.
REPORTS=${REPORTS:-../shared/data/factory_reports/factoryReports.csv}
RUNS=${RUNS:-outputs/runs}
RESULTS=${RESULTS:-outputs/results}
REAL="dataset/text=csv dataset.text.path=$REPORTS"
step() { echo; echo "== $*"; }
