#!/usr/bin/env bash
# README "Fusion inside the network": the jointly trained model (joint=lstm) beside the decision-level
# rules and the single models, on the early experiment (0.5, 1, 2 h after the onset) and the paper
# experiment, with the missing-modality curves. Same conventions as scripts/reproduce_paper.sh; the
# tables and figures come from scripts/joint_summary.py. SEEDS / PAPER_SEEDS pick the seeds;
# `scripts/joint_results.sh early|paper|interaction|summary` runs one part (default: all four).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/settings.sh
SEEDS=${SEEDS:-0,1,2}
PAPER_SEEDS=${PAPER_SEEDS:-0}  # one seed: a 25 h series epoch takes 30-45 s on a shared 2-core machine
PART=${1:-all}
fuse_all() {  # every job re-fused with every rule and the missing-modality study (no retraining)
  for job in "$1"/*/; do
    [ -f "$job/COMPLETE" ] && mmfusion fuse "$job" fusion=all robustness.enabled=true || true
  done
}

if [[ $PART == all || $PART == early ]]; then
step "early diagnosis: paper LSTMs, every rule, and the joint network, windows 0.5 / 1 / 2 h, real text"
mmfusion data build experiment=early
mmfusion train -m experiment=early $REAL joint=lstm joint.epochs=60 joint.early_stopping_patience=10 \
  dataset.series.window.length=10,20,40 seed=$SEEDS hydra.sweep.dir="$RUNS/joint_early" || true
fuse_all "$RUNS/joint_early"
python scripts/collect_results.py "$RUNS/joint_early" "$RESULTS/joint_early"
fi

if [[ $PART == all || $PART == paper ]]; then
step "the paper experiment (25 h series), validation split for the held-out rules and early stopping"
mmfusion data build experiment=paper
mmfusion train -m experiment=paper $REAL dataset.val_fraction=0.15 joint=lstm joint.epochs=20 \
  seed=$PAPER_SEEDS hydra.sweep.dir="$RUNS/joint_paper" || true
fuse_all "$RUNS/joint_paper"
python scripts/collect_results.py "$RUNS/joint_paper" "$RESULTS/joint_paper"
fi

if [[ $PART == all || $PART == interaction ]]; then
step "really paired records whose class is an interaction of the two modalities (dataset=custom)"
python scripts/joint_interaction_data.py "$RUNS/joint_interaction_data" --n 600 --seed 0
mmfusion train -m dataset=custom dataset.classes=[consistent,mismatch] \
  dataset.records="$RUNS/joint_interaction_data/records.csv" dataset.series_path="$RUNS/joint_interaction_data/series.npz" \
  dataset.val_fraction=0.2 model.text.epochs=30 model.series.epochs=30 model.text.early_stopping_patience=8 \
  model.series.early_stopping_patience=8 joint=lstm joint.epochs=40 joint.early_stopping_patience=8 \
  seed=$SEEDS hydra.sweep.dir="$RUNS/joint_interaction" || true
fuse_all "$RUNS/joint_interaction"
python scripts/collect_results.py "$RUNS/joint_interaction" "$RESULTS/joint_interaction"
fi

if [[ $PART == all || $PART == summary ]]; then
step "summary tables and missing-modality figures"
python scripts/joint_summary.py "$RUNS/joint_early" "$RESULTS/joint_early" --group dataset.series.window.length
python scripts/joint_summary.py "$RUNS/joint_paper" "$RESULTS/joint_paper"
python scripts/joint_summary.py "$RUNS/joint_interaction" "$RESULTS/joint_interaction"
fi
