"""Datasets: a registry from `dataset.name` to a builder returning a `Dataset`."""

from __future__ import annotations

from collections.abc import Callable

from mmfusion.data.dataset import SPLITS, Dataset, SeriesData, Split, TextData
from mmfusion.errors import ConfigError


def _synthetic(cfg) -> Dataset:
    from mmfusion.data import synthetic

    return synthetic.build(cfg)


def _factory(cfg, modalities=None) -> Dataset:
    from mmfusion.data import factory

    return factory.build(cfg, modalities)


def _custom(cfg) -> Dataset:
    from mmfusion.data import custom

    return custom.build(cfg)


DATASETS: dict[str, Callable] = {"synthetic": _synthetic, "factory": _factory, "custom": _custom}


def build_dataset(cfg, modalities=None) -> Dataset:
    """The dataset `cfg` describes; `modalities` (the run's, None: all) lets a source skip building the
    modalities no model uses (dataset=factory: a text-only run simulates and loads no series)."""
    name = cfg.name
    if name not in DATASETS:
        raise ConfigError(f"dataset.name={name!r} is not known; choose one of {sorted(DATASETS)}")
    if modalities is not None and name == "factory":
        return DATASETS[name](cfg, list(modalities))
    return DATASETS[name](cfg)


__all__ = ["DATASETS", "SPLITS", "Dataset", "SeriesData", "Split", "TextData", "build_dataset"]
