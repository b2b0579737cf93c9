#!/usr/bin/env bash
# Every fusion rule on the paper experiment, committed under outputs/results/paper_real_val (docs/fusion.md).
# Same conventions as scripts/reproduce/reproduce_paper.sh; early diagnosis is cross-validated in scripts/reproduce/reproduce_cv.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/reproduce/lib.sh

step "every fusion rule on the paper experiment with real text (validation split for the held-out rules)"
mmfusion train experiment=paper model/text=lstm $REAL dataset.val_fraction=0.15 seed=0 hydra.run.dir="$RUNS/paper_real_val"
fuse_all "$RUNS/paper_real_val" robustness.enabled=true
publish "paper_real_val"
