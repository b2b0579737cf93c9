"""The rules between the `fusion` and `dataset` keys: cross-fitting's folds against the training units
each class has."""

from __future__ import annotations

import math

from mmfusion.schemas.check.messages import fail


def check_crossfit(cfg) -> None:
    """fusion.fit_on=crossfit deals each class's training units (texts, runs) into fusion.crossfit_folds
    folds: more folds than a class has training units is impossible. Known here for dataset=synthetic
    (each sample its own unit) and for series sources that set runs_per_class; the data's own count is
    checked again once it is built (commands/train_crossfit.py)."""
    f, d = cfg.get("fusion"), cfg.get("dataset")
    if f is None or d is None or f.get("fit_on") != "crossfit":
        return
    folds = f.crossfit_folds
    cv = d.get("cv")
    test = 1.0 / cv.folds if cv is not None and cv.folds else d.test_fraction
    val = d.val_fraction
    limits = []
    if d.get("name") == "synthetic":
        per_class = d.samples_per_class - math.ceil(d.samples_per_class * test) - math.ceil(d.samples_per_class * val)
        limits.append((per_class, f"training samples (dataset.samples_per_class={d.samples_per_class})"))
    runs = (d.get("series") or {}).get("runs_per_class") if d.get("name") == "factory" else None
    if runs is not None and "series" in cfg.modalities:
        limits.append((runs, f"runs in all (dataset.series.runs_per_class={runs})"))
    for most, what in limits:
        if folds > most:
            fail(
                "fusion.crossfit_folds",
                folds,
                f"at most {max(most, 0)} with fusion.fit_on=crossfit: each class has about {max(most, 0)} {what}, "
                f"and every fold must hold out one of each class; lower fusion.crossfit_folds "
                f"or use fusion.fit_on=val",
            )
