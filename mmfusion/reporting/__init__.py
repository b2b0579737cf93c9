"""Reporting: the tables, figures, HTML pages and report sections that `mmfusion report` and `mmfusion fuse`
write, and the summaries of scripts/reproduce/joint_summary.py. Imports evaluation and the core, never commands."""
