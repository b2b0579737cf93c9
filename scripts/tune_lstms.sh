#!/usr/bin/env bash
# Can the paper's LSTMs close on the peers in the early experiment (first 2 h after onset)?
# Single-modality sweeps, real text, seeds 0-2 (README: "Early diagnosis").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
# series LSTM: learning rate and batch size, longer patience
mmfusion train -m experiment=early $REAL modalities=[series] model.series.lr=1e-3,3e-4 model.series.batch_size=16,32 \
  model.series.epochs=150 model.series.early_stopping_patience=20 seed=0,1,2 hydra.sweep.dir="$RUNS/early_tune_series" || true
publish "early_tune_series"
# text LSTM: dropout with longer patience, learned vs word2vec embeddings
mmfusion train -m experiment=early $REAL modalities=[text] model.text.dropout=0.3 model.text.epochs=80 \
  model.text.early_stopping_patience=15 model.text.embedding=learned,word2vec seed=0,1,2 \
  hydra.sweep.dir="$RUNS/early_tune_text" || true
publish "early_tune_text"
