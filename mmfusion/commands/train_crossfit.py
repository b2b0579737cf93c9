"""Cross-fitting (`fusion.fit_on=crossfit`): out-of-fold predictions of the training split, so that
fitted fusion rules learn from every training unit instead of the validation split alone.

For each base model, the training samples that have its modality are dealt into K =
`fusion.crossfit_folds` folds grouped by that modality's units (`split.units`: the unique texts, grouped
as the splits group them, and the runs), stratified by class: a unit lies in exactly one fold, so no
text (run) is both in the part a fold model is trained on and in the part it predicts. The models of one
modality share its folds; the text and the series models have folds of their own (random pairing links
most texts of a class to most of its runs, so folds that kept both units apart would be one group).
Per fold, a fresh copy of the base model (the same config, seeded from `seed` and the fold) is trained on
the other K-1 folds, with the run's validation split as the final model has it, and predicts its
fold. The final models are trained as usual (commands/train_steps.py), and only they predict val and test.
The rule is fitted on these predictions in mmfusion/fusion/crossfit.py.
"""

from __future__ import annotations

import logging
import zlib

import numpy as np
from omegaconf import DictConfig

from mmfusion.basemodels import modality_of
from mmfusion.commands.train_steps import first_of_units, predict_present
from mmfusion.data import Dataset
from mmfusion.data.splits import fold_of_units
from mmfusion.errors import DataError
from mmfusion.rundir.provenance import timed
from mmfusion.runtime import interrupt, progress
from mmfusion.runtime.seeding import seed_everything

log = logging.getLogger("mmfusion.commands.train")
WHAT = {"text": "texts", "series": "time series runs"}


def wanted(cfg: DictConfig, names: list[str]) -> bool:
    """Whether this run cross-fits: fusion.fit_on=crossfit and at least two base models to fuse."""
    return cfg.fusion.fit_on == "crossfit" and len(names) > 1


def fold_seed(seed: int, fold: int) -> int:
    """The seed of fold `fold`'s models: drawn from (seed, fold), so it is not any final model's seed."""
    return int(np.random.SeedSequence([int(seed), 29, int(fold)]).generate_state(1)[0])


def unit_folds(split, modality: str, folds: int, seed: int, classes: list[str]) -> np.ndarray:
    """The fold (0..K-1) of every sample of `split` that has `modality`, -1 where it is absent: per class,
    the class's shuffled units dealt round-robin (data/splits.py `fold_of_units`); a unit filed under
    two classes keeps the fold its first class gave it. A class with fewer than K units is refused."""
    units, present = split.units[modality], split.present[modality]
    rng = np.random.default_rng([int(seed), 37, zlib.crc32(modality.encode())])
    assigned: dict = {}
    for k, cls in enumerate(classes):
        own = units[present & (split.y == k)]
        if len(np.unique(own)) < folds:
            raise DataError(
                f"fusion.crossfit_folds={folds}: class {cls!r} has {len(np.unique(own))} distinct "
                f"{WHAT.get(modality, modality + ' units')} in the training split, fewer than the folds; lower "
                f"fusion.crossfit_folds or add data for that class"
            )
        fold_of_units(own, folds, rng, assigned)
    return np.asarray([assigned[u] if p else -1 for u, p in zip(units, present)], dtype=np.int64)


def folds_by_modality(cfg: DictConfig, ds: Dataset, names: list[str]) -> dict[str, np.ndarray]:
    """{modality: the fold of every training sample} for the modalities of `names`; called before any
    model trains, so a class with too few units is refused at once."""
    folds = int(cfg.fusion.crossfit_folds)
    mods = dict.fromkeys(modality_of(m) for m in names)
    return {mod: unit_folds(ds.splits["train"], mod, folds, cfg.seed, ds.classes) for mod in mods}


def plan(cfg: DictConfig, names: list[str]) -> None:
    """Add the fold models' epochs to the run's plan (runtime/progress.py), so the ETA counts them."""
    folds = int(cfg.fusion.crossfit_folds)
    for m in names:
        if m in progress.PLAN.total:
            progress.PLAN.total[m] *= folds + 1


def out_of_fold(
    cfg: DictConfig, ds: Dataset, names: list[str], strategy=None, timings=None, by_modality: dict | None = None
) -> dict:
    """{"folds": K, "fold": {model: (n_train,) fold}, "probs" / "logprobs": {model: (n_train, q)}}: each
    training sample predicted once, by the fold model that did not see its unit (NaN where absent).
    `by_modality`: the folds from `folds_by_modality`, when already dealt."""
    from mmfusion.models import build_model

    folds, q = int(cfg.fusion.crossfit_folds), ds.num_classes
    tr, va = ds.splits["train"], ds.splits.get("val")
    unique = bool(cfg.training.unique_units)
    by_modality = by_modality if by_modality is not None else folds_by_modality(cfg, ds, names)
    out = {"folds": folds, "fold": {}, "probs": {}, "logprobs": {}}
    for m in names:
        mod = modality_of(m)
        fold = by_modality[mod]
        lp = np.full((len(tr), q), np.nan)
        clock = timed(timings, f"crossfit_{m}").start()
        for k in range(folds):
            fit = np.flatnonzero((fold >= 0) & (fold != k))
            if unique:  # the first sample of each unit, as the final model is trained
                _, first = np.unique(tr.units[mod][fit], return_index=True)
                fit = fit[np.sort(first)]
            model = build_model(mod, cfg.model[m], q, strategy)
            log.info("cross-fitting the %s model: fold %d/%d, trained on %d samples", m, k + 1, folds, len(fit))
            seed_everything(fold_seed(cfg.seed, k), cfg.deterministic)
            vkeep = first_of_units(va, mod, unique) if va is not None else None
            val = (va.x[mod][vkeep], va.y[vkeep]) if va is not None else None
            with interrupt.stage(f"cross-fitting the {m} model (fold {k + 1} of {folds})"):
                model.fit((tr.x[mod][fit], tr.y[fit]), val)
            held = fold == k
            lp[held] = predict_present(model, tr.x[mod], held, q)[held]
        clock.stop()
        out["fold"][m], out["logprobs"][m], out["probs"][m] = fold, lp, np.exp(lp)
    return out
