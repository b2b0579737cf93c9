"""Summarise a sweep trained with `joint=lstm` and re-fused with `mmfusion fuse <job> fusion=all
robustness.enabled=true` (scripts/reproduce/joint_results.sh, scripts/reproduce/reproduce_cv.sh):

    python scripts/reproduce/joint_summary.py <sweep-dir> <results-dir> [--group <override key>] [--pooled|--per-seed]

The summary itself is mmfusion/reporting/joint_summary.py (its docstring says what is written).
"""

from mmfusion.reporting.joint_summary import main

if __name__ == "__main__":
    main()
