#!/usr/bin/env bash
# Results beyond the paper committed under outputs/results/ (README: "Fusion beyond the paper" and
# "Early diagnosis"). Same conventions as scripts/reproduce_paper.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "early diagnosis: the paper's LSTMs, windows of 0.5, 1, 2 and 5 h after the onset, real text, 3 seeds"
mmfusion data build experiment=early
mmfusion train -m experiment=early model/text=lstm model/series=lstm $REAL dataset.series.window.length=10,20,40,100 seed=0,1,2 \
  hydra.sweep.dir="$RUNS/early_real_lstm" || true
fuse_all "$RUNS/early_real_lstm"
publish "early_real_lstm"

step "early diagnosis with the peers: temporal CNN for the series, TF-IDF + logistic regression for the text"
mmfusion train -m experiment=early $REAL model/series=conv1d model/text=tfidf_logreg \
  dataset.series.window.length=10,20,40,100 seed=0,1,2 hydra.sweep.dir="$RUNS/early_real_peers" || true
fuse_all "$RUNS/early_real_peers"
publish "early_real_peers"

step "every fusion rule on the paper experiment with real text (validation split for the held-out rules)"
mmfusion train experiment=paper model/text=lstm $REAL dataset.val_fraction=0.15 seed=0 hydra.run.dir="$RUNS/paper_real_val"
fuse_all "$RUNS/paper_real_val" robustness.enabled=true
publish "paper_real_val"

step "text LSTM: learned embedding vs word2vec (honest split, real text, 3 seeds)"
mmfusion train -m experiment=early model/text=lstm $REAL modalities=[text] model.text.embedding=learned,word2vec seed=0,1,2 \
  hydra.sweep.dir="$RUNS/early_text_embedding" || true
publish "early_text_embedding"

step "early diagnosis with MiniRocket for the series (optional extra; needs an environment with aeon)"
# aeon pins older numpy/pandas through numba, so it lives in its own environment:
#   python -m venv .venv-minirocket && .venv-minirocket/bin/pip install -e '.[minirocket]'
MR=${MINIROCKET_PY:-.venv-minirocket/bin/python}
if "$MR" -c "import aeon" 2>/dev/null; then
  "$MR" -m mmfusion train -m experiment=early $REAL model/series=minirocket model/text=tfidf_logreg \
    dataset.series.window.length=10,20,40,100 seed=0,1,2 hydra.sweep.dir="$RUNS/early_real_minirocket" || true
  fuse_all "$RUNS/early_real_minirocket"
  publish "early_real_minirocket"
else
  echo "skipped: no aeon in $MR (see the comment above)"
fi
