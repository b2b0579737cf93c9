#!/usr/bin/env bash
# What each training recipe is worth, judged by grouped 5-fold cross-validation (README: "Hyper-parameter
# search", "Judged by cross-validation"). The settings found by scripts/reproduce/search_lstms.sh on seed 0's validation
# split (never a test fold) against the paper's defaults, one modality at a time, pooled out of fold by
# `mmfusion report`. Each sweep writes one group per value of the swept keys.
#   scripts/reproduce/cv_recipes.sh [part ...]     parts: early_text paper_text early_series (default: all)
# The baseline is the paper's own training (model/<m>=lstm; experiment=early and experiment=paper now default to
# model/<m>=lstm_tuned, the result of this comparison). The committed results were made by these sweeps before
# that change, when model/<m>=lstm was the experiments' default and not written on the command line.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh
# found by scripts/reproduce/search_lstms.sh (Optuna on seed 0's validation split, early experiment, 2 h)
TEXT_SEARCHED="model.text.lr=0.0083 model.text.batch_size=32 model.text.dropout=0.48 model.text.weight_decay=0.001 model.text.clipnorm=1.0 model.text.token_dropout=0.1"
SERIES_SEARCHED="model.series.lr=0.0029 model.series.batch_size=32 model.series.dropout=0.10 model.series.weight_decay=1e-4 model.series.label_smoothing=0.05 model.series.jitter=0.05 model.series.time_shift=2"
parts=("$@"); [ ${#parts[@]} -gt 0 ] || parts=(early_text paper_text early_series)
for part in "${parts[@]}"; do
  case $part in
    early_text)  # the paper's training and the searched one, each trained on pairs or on unique texts; then 5-network means
      sweep cv_recipes_early_text experiment=early model/text=lstm $REAL modalities=[text] $FOLDS \
        training.unique_units=false,true model.text.ensemble=1
      sweep cv_recipes_early_text_searched experiment=early model/text=lstm $REAL modalities=[text] $FOLDS \
        training.unique_units=false,true $TEXT_SEARCHED model.text.ensemble=1
      sweep cv_recipes_early_text_searched_e5 experiment=early model/text=lstm $REAL modalities=[text] $FOLDS \
        training.unique_units=false,true $TEXT_SEARCHED model.text.ensemble=5 ;;
    paper_text)  # the searched recipe on the paper experiment (no validation split: 30 epochs, no early stopping)
      sweep cv_recipes_paper_text experiment=paper model/text=lstm $REAL modalities=[text] $FOLDS $TEXT_SEARCHED \
        model.text.ensemble=1,3 ;;
    early_series)  # 2 h after the onset
      sweep cv_recipes_early_series experiment=early model/series=lstm $REAL modalities=[series] $FOLDS model.series.ensemble=1
      sweep cv_recipes_early_series_searched experiment=early model/series=lstm $REAL modalities=[series] $FOLDS \
        $SERIES_SEARCHED model.series.ensemble=1,3 ;;
    *) echo "unknown part $part (early_text paper_text early_series)" >&2; exit 2 ;;
  esac
done
