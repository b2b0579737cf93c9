#!/usr/bin/env bash
# README "Fusion inside the network": the jointly trained model (joint=lstm) beside the decision-level
# rules and the single models, on the early experiment (0.5, 1, 2 h after the onset) and the paper
# experiment, with the missing-modality curves. Same conventions as scripts/reproduce/reproduce_paper.sh; the
# tables and figures come from scripts/reproduce/joint_summary.py. The early and paper parts follow the
# cross-validation protocol of scripts/reproduce/reproduce_cv.sh (grouped 5-fold CV, seed 0; CV_SEEDS adds
# repeats to the paper part), summarised pooled out of fold (`joint_summary.py --pooled`);
# the interaction part keeps its fixed split over SEEDS. `scripts/reproduce/joint_results.sh
# early|paper|interaction|summary` runs one part (default: all four).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh
SEEDS=${SEEDS:-0,1,2}
CV_SEEDS=${CV_SEEDS:-0}  # one repeat: a 25 h series epoch takes 30-45 s on a shared 2-core machine
PART=${1:-all}

if [[ $PART == all || $PART == early ]]; then
step "early diagnosis, 5-fold CV: the LSTMs, every rule and the joint network (the sweeps of scripts/reproduce/reproduce_cv.sh)"
# experiment=early (searched recipes) at 0.5 / 1 / 2 / 5 h
bash scripts/reproduce/reproduce_cv.sh early_lstm
fi

if [[ $PART == all || $PART == paper ]]; then
step "the paper experiment (25 h series), 3-fold CV, validation split for the held-out rules and early stopping"
# 3 folds, not 5: a 25 h series job with the joint network takes 7-8 minutes on this 2-core machine
mmfusion data build experiment=paper
mmfusion train -m experiment=paper $REAL dataset.val_fraction=0.15 joint=lstm joint.epochs=20 \
  dataset.cv.folds=3 dataset.cv.fold=0,1,2 seed=$CV_SEEDS hydra.sweep.dir="$RUNS/cv_paper_joint" || true
fuse_all "$RUNS/cv_paper_joint" robustness.enabled=true
publish "cv_paper_joint"
fi

if [[ $PART == all || $PART == interaction ]]; then
step "really paired records whose class is an interaction of the two modalities (dataset=custom)"
python scripts/reproduce/joint_interaction_data.py "$RUNS/joint_interaction_data" --n 600 --seed 0
mmfusion train -m dataset=custom dataset.classes=[consistent,mismatch] \
  dataset.records="$RUNS/joint_interaction_data/records.csv" dataset.series_path="$RUNS/joint_interaction_data/series.npz" \
  dataset.val_fraction=0.2 model.text.epochs=30 model.series.epochs=30 model.text.early_stopping_patience=8 \
  model.series.early_stopping_patience=8 joint=lstm joint.epochs=40 joint.early_stopping_patience=8 \
  seed=$SEEDS hydra.sweep.dir="$RUNS/joint_interaction" || true
fuse_all "$RUNS/joint_interaction" robustness.enabled=true
python scripts/collect_results.py "$RUNS/joint_interaction" "$RESULTS/joint_interaction"
fi

if [[ $PART == all || $PART == summary ]]; then
step "summary tables and missing-modality figures"
python scripts/reproduce/joint_summary.py "$RUNS/cv_early_lstm" "$RESULTS/cv_early_lstm" --pooled \
  --group dataset.series.window.length
python scripts/reproduce/joint_summary.py "$RUNS/cv_paper_joint" "$RESULTS/cv_paper_joint" --pooled
python scripts/reproduce/joint_summary.py "$RUNS/joint_interaction" "$RESULTS/joint_interaction"
fi
