"""Schemas of the `fusion` group, one per rule, each registering its rule class
(mmfusion.schemas.registry); tables list the rules in the order they are registered here.

Where fitted weights come from has one key across the rules, `fusion.weights`:
`equal | train_accuracy | val_accuracy` (accuracy: the two accuracies; product: all three). The old
spelling `fusion.weights_from=train|val` is refused with a message naming the new key (RENAMED in
mmfusion.schemas.check.messages); `mmfusion fuse` maps it for runs whose saved config still has `weights_from`.

What a rule is fitted on has one key across the rules, `fusion.fit_on`: `val` (the validation split,
or the training accuracies: what every run did before the key existed) or `crossfit` (out-of-fold
predictions of the training split from `fusion.crossfit_folds` extra trainings per base model, plus the
validation split when there is one; mmfusion/commands/train_crossfit.py, docs/fusion.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from mmfusion.schemas.fields import at_least, choice, positive, spec
from mmfusion.schemas.registry import register


@dataclass
class RuleSchema:
    name: str = "?"
    calibrate: bool = False
    fit_on: str = choice("val", "val", "crossfit")
    crossfit_folds: int = at_least(5, 2)


@register("fusion", "equal", "mmfusion.fusion.weighted:Equal")
@dataclass
class EqualSchema(RuleSchema):
    name: str = choice("equal", "equal")


@register("fusion", "accuracy", "mmfusion.fusion.weighted:Accuracy")
@dataclass
class AccuracySchema(RuleSchema):
    name: str = choice("accuracy", "accuracy")
    weights: str = choice("train_accuracy", "train_accuracy", "val_accuracy")


@register("fusion", "per_class", "mmfusion.fusion.rules:PerClass")
@dataclass
class PerClassSchema(RuleSchema):
    name: str = choice("per_class", "per_class")


@register("fusion", "product", "mmfusion.fusion.rules:Product")
@dataclass
class ProductSchema(RuleSchema):
    name: str = choice("product", "product")
    weights: str = choice("equal", "equal", "train_accuracy", "val_accuracy")
    eps: float = spec(1.0e-6, "a number in (0, 1)", lambda v: 0 < v < 1)


@register("fusion", "stacking", "mmfusion.fusion.rules:Stacking")
@dataclass
class StackingSchema(RuleSchema):
    name: str = choice("stacking", "stacking")
    features: str = choice("proba", "proba", "log")
    C: float = positive(1.0)


@register("fusion", "ensemble_selection", "mmfusion.fusion.rules:EnsembleSelection")
@dataclass
class EnsembleSelectionSchema(RuleSchema):
    name: str = choice("ensemble_selection", "ensemble_selection")
    rounds: int = at_least(20, 1)
