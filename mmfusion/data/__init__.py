"""Datasets by name: `dataset.name` -> its `build(cfg, modalities)`, through the one registry
(mmfusion.schemas.registry; each schema in mmfusion/schemas/dataset.py names its builder)."""

from __future__ import annotations

from mmfusion.data.dataset import SPLITS, Dataset, SeriesData, Split, TextData
from mmfusion.schemas import registry

DATASETS = registry.Catalogue("dataset")  # name -> builder, a live view of the registry


def build_dataset(cfg, modalities=None) -> Dataset:
    """The dataset `cfg` describes; `modalities` (the run's, None: all) lets a source skip building the
    modalities no model uses (dataset=factory: a text-only run simulates and loads no series)."""
    return registry.build("dataset", cfg, None if modalities is None else list(modalities))


__all__ = ["DATASETS", "SPLITS", "Dataset", "SeriesData", "Split", "TextData", "build_dataset"]
