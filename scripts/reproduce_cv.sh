#!/usr/bin/env bash
# The cross-validated protocol (README: "Reproducing the paper", cross-validation): grouped 5-fold CV,
# pooled out of fold by `mmfusion report` with cluster-bootstrap intervals. Cheapest first: the text
# models alone (the series pools are simulated once and cached), then both modalities. Same
# conventions as scripts/reproduce_paper.sh; the text is the bundled factoryReports.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/settings.sh
FOLDS="dataset.cv.folds=5 dataset.cv.fold=0,1,2,3,4"
sweep() {  # sweep <name> <overrides...>
  local name=$1; shift
  step "$name: mmfusion train -m $*"
  mmfusion train -m "$@" hydra.sweep.dir="$RUNS/$name" || echo "(some jobs of $name failed: see the report)"
  mmfusion report "$RUNS/$name"
  python scripts/collect_results.py "$RUNS/$name" "$RESULTS/$name"
}

mmfusion data build experiment=early
mmfusion data build experiment=paper
# 1. text models alone (decides whether the text LSTM's pooled interval is within +/- 3 points)
sweep cv_early_text experiment=early $REAL modalities=[text] $FOLDS seed=0
sweep cv_paper_text experiment=paper $REAL modalities=[text] $FOLDS seed=0,1
# 2. early diagnosis, windows 0.5, 1, 2, 5 h: the peers (Conv1D + TF-IDF), then the paper's LSTMs
sweep cv_early_peers experiment=early $REAL model/series=conv1d model/text=tfidf_logreg \
  dataset.series.window.length=10,20,40,100 $FOLDS seed=0
sweep cv_early_lstm experiment=early $REAL dataset.series.window.length=10,20,40,100 $FOLDS seed=0
# 3. both modalities on the paper experiment: Conv1D series + the paper's text LSTM (experiment=paper sets
#    LSTM-only text keys, which model/text=tfidf_logreg's typed schema refuses), then the paper's LSTMs
sweep cv_paper_conv1d experiment=paper $REAL model/series=conv1d $FOLDS seed=0
# its second repeat, into the same sweep directory (then report pools both seeds)
mmfusion train -m experiment=paper $REAL model/series=conv1d $FOLDS seed=1 hydra.sweep.dir="$RUNS/cv_paper_conv1d" \
  'hydra.sweep.subdir=seed1-${hydra.job.num}'
mmfusion report "$RUNS/cv_paper_conv1d"
python scripts/collect_results.py "$RUNS/cv_paper_conv1d" "$RESULTS/cv_paper_conv1d"
sweep cv_paper_lstm experiment=paper $REAL $FOLDS seed=0,1
