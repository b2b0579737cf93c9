"""Models by name: `model.<modality>.name` (and `joint.name`) -> model class, through the one registry
(mmfusion.schemas.registry; each schema in mmfusion/schemas/models.py names its class). Configs name
models, never import paths. Every model keeps one contract: mmfusion.models.contract.Model (BaseModel for a modality)."""

from __future__ import annotations

from mmfusion.models.contract import BaseModel, Model
from mmfusion.schemas import registry


def _kind(modality: str) -> str:
    return "joint" if modality == "joint" else f"model/{modality}"


def model_class(modality: str, name: str):
    return registry.lookup(_kind(modality), name)


def build_model(modality: str, cfg, num_classes: int, strategy=None) -> BaseModel | Model:
    return registry.build(_kind(modality), cfg, num_classes, strategy)


def load_model(modality: str, cfg, num_classes: int, directory) -> BaseModel | Model:
    return build_model(modality, cfg, num_classes).load(directory)
