#!/usr/bin/env bash
# The cross-validated protocol (README: "Reproducing the paper", cross-validation; "Early diagnosis";
# "Fusion inside the network"): grouped 5-fold CV, pooled out of fold by `mmfusion report` with
# cluster-bootstrap intervals. Same conventions as scripts/reproduce/reproduce_paper.sh; the text is the bundled
# factoryReports.csv. `scripts/reproduce/reproduce_cv.sh [part ...]` runs some parts (default: all, in this order):
#   paper_text_original  the text LSTM alone with the paper's training (model/text=lstm), two repeats
#   early_lstm       experiment=early's LSTMs (searched recipes, ensembles) and the joint network, 0.5-5 h
#   paper_conv1d     Conv1D series + the text LSTM with the paper's training, two repeats
#   paper_lstm       experiment=paper (its text LSTM with the searched recipe), two repeats
#   paper_peers      Conv1D + TF-IDF on the paper experiment, two repeats
#   early_fresh      a fresh CV repeat of experiment=early (fold seed 10) with LSTM + TF-IDF text and LSTM + Conv1D
#                    series, every rule re-fused: the figures of no choice (not in the default list)
#   early_fresh_batched, early_fresh_grouped, early_fresh_joint   its 2 h group batched; all four windows with
#                    both LSTM ensembles grouped; the joint network with a recipe on its folds
#   paper_fresh      a fresh CV repeat of experiment=paper (fold seed 10, used for no choice), every rule
#                    re-fused (not in the default list)
# Sweeps with joint=lstm are re-fused with every rule (`mmfusion fuse <job> fusion=all
# robustness.enabled=true`) for scripts/reproduce/joint_summary.py (see scripts/reproduce/joint_results.sh summary).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(paper_text_original early_lstm paper_conv1d paper_lstm paper_peers)
mmfusion data build experiment=early
mmfusion data build experiment=paper
for part in "${parts[@]}"; do
  case $part in
    paper_text_original) sweep cv_paper_text experiment=paper model/text=lstm $REAL modalities=[text] $FOLDS seed=0,1 ;;
    early_lstm)
      sweep cv_early_lstm experiment=early joint=lstm dataset.series.window.length=10,20,40,100 $FOLDS seed=0 ;;
    paper_conv1d)  # the second repeat goes into the same sweep directory, so report pools both seeds;
      # published once, after both (a collected folder is written whole)
      step "cv_paper_conv1d: seeds 0 and 1"
      mmfusion train -m experiment=paper model/text=lstm $REAL model/series=conv1d $FOLDS seed=0 \
        hydra.sweep.dir="$RUNS/cv_paper_conv1d" || true
      mmfusion train -m experiment=paper model/text=lstm $REAL model/series=conv1d $FOLDS seed=1 \
        hydra.sweep.dir="$RUNS/cv_paper_conv1d" 'hydra.sweep.subdir=seed1-${hydra.job.num}'
      publish cv_paper_conv1d ;;
    early_fresh)  # a fresh repeat (fold seed 10, used for no choice) of experiment=early with two base models
      # per modality, declared before any of its numbers were seen; 5 h last (its jobs go to h5-<n>)
      FRESH=(experiment=early 'model/text=[lstm_tuned,tfidf_logreg]' 'model/series=[lstm_tuned,conv1d]' $FOLDS seed=10)
      mmfusion train -m "${FRESH[@]}" dataset.series.window.length=40,20,10 hydra.sweep.dir="$RUNS/cv_early_fresh" || true
      mmfusion train -m "${FRESH[@]}" dataset.series.window.length=100 hydra.sweep.dir="$RUNS/cv_early_fresh" \
        'hydra.sweep.subdir=h5-${hydra.job.num}' || true
      fuse_all "$RUNS/cv_early_fresh"
      publish cv_early_fresh
      python scripts/reproduce/early_errors.py "$RESULTS/cv_early_fresh" ;;
    early_fresh_batched)  # its 2 h group with both LSTM ensembles batched (docs/performance-ensembles.md)
      sweep cv_early_fresh_batched experiment=early 'model/text=[lstm_tuned,tfidf_logreg]' \
        'model/series=[lstm_tuned,conv1d]' $FOLDS seed=10 dataset.series.window.length=40 \
        model.text.batched_ensemble=true model.series.batched_ensemble=true ;;
    early_fresh_grouped)  # all four windows with both LSTM ensembles grouped (docs/performance-ensembles.md)
      sweep cv_early_fresh_grouped experiment=early 'model/text=[lstm_tuned,tfidf_logreg]' \
        'model/series=[lstm_tuned,conv1d]' $FOLDS seed=10 dataset.series.window.length=40,20,10,100 \
        model.text.grouped_lstm=true model.series.grouped_lstm=true ;;
    early_fresh_joint)  # the joint network with a training recipe on the fresh folds (docs/joint-network.md)
      sweep cv_early_fresh_joint experiment=early model/text=tfidf_logreg model/series=conv1d \
        joint=lstm_tuned $FOLDS seed=10 dataset.series.window.length=10,20,40
      python scripts/reproduce/joint_summary.py "$RUNS/cv_early_fresh_joint" "$RESULTS/cv_early_fresh_joint" --pooled \
        --group dataset.series.window.length ;;
    paper_lstm) sweep cv_paper_lstm experiment=paper $FOLDS seed=0,1 ;;
    paper_fresh)  # declared before any of its numbers were seen: experiment=paper as shipped, on new folds
      mmfusion train -m experiment=paper $FOLDS seed=10 hydra.sweep.dir="$RUNS/cv_paper_fresh" || true
      fuse_all "$RUNS/cv_paper_fresh"
      publish cv_paper_fresh ;;
    paper_peers) sweep cv_paper_peers experiment=paper model/series=conv1d model/text=tfidf_logreg $FOLDS seed=0,1 ;;
    *) echo "unknown part $part (see the header of $0)" >&2; exit 2 ;;
  esac
done
