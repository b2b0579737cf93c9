"""Schemas of the `dataset` group: synthetic, factory (with its series and text sources), custom; each
registers what builds it (mmfusion.schemas.registry): a dataset's `build(cfg, modalities)`, a source's
`from_config` (series: `(cfg, progress)`, text: `(cfg, classes, per_class, seed)`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING, DictConfig

from mmfusion.schemas.fields import at_least, choice, fraction, int_range, positive, spec
from mmfusion.schemas.registry import register

MAX_FAULT = {"simulate": 28, "rieth": 20, "braatz": 21}  # highest fault number of each series source; 0 = normal

CLASSES = "a list of at least 2 distinct class names"


def classes(default):
    return spec(default, CLASSES, lambda v: len(v) >= 2 and len(set(v)) == len(v))


def test_fraction(default):
    return spec(default, "a number in (0, 1)", lambda v: 0 < v < 1)


REPORT_CATEGORIES = ("electronic", "leak", "mechanical", "software")  # mmfusion.data.text.phrases.CATEGORIES
FACTORY_REPORT_LABELS = {  # the bundled factoryReports.csv's categories -> dataset=factory's classes (types 1-4)
    "Electronic Failure": "electronic_failure",
    "Leak": "leak",
    "Mechanical Failure": "mechanical_failure",
    "Software Failure": "software_failure",
}


def _category(name) -> str:  # as the generator reads a category name: "Leak", "leak_failure" -> "leak"
    return str(name).strip().lower().replace(" ", "_").removesuffix("_failure")


def mapping(default=None):
    """null or a mapping (typed Any: OmegaConf cannot merge a {..} override into a None Optional[Dict])."""
    return spec(default, "null or a mapping {key: value, ...}", lambda v: isinstance(v, DictConfig))


def optional_at_least(low: int):
    return spec(None, f"null or an integer >= {low}", lambda v: v >= low)


@dataclass
class CvSchema:
    """Grouped, stratified K-fold cross-validation (null or 0: the single split of test_fraction)."""

    folds: int | None = spec(None, "null, 0 or an integer >= 2", lambda v: v == 0 or v >= 2)
    fold: int = at_least(0, 0)


@register("dataset", "synthetic", "mmfusion.data.synthetic:build")
@dataclass
class SyntheticSchema:
    name: str = choice("synthetic", "synthetic")
    classes: list[str] = classes(["type1", "type2", "type3", "type4"])
    samples_per_class: int = at_least(100, 3)
    test_fraction: float = test_fraction(0.2)
    val_fraction: float = fraction(0.0)
    seed: int = at_least(0, 0)
    cv: CvSchema = field(default_factory=CvSchema)
    text_length: list[int] = int_range([6, 16], 1)
    text_signal: float = fraction(0.3, closed=True)
    class_words: int = at_least(12, 1)
    shared_words: int = at_least(40, 1)
    series_length: int = at_least(50, 1)
    series_variables: int = at_least(8, 1)
    series_signal: float = spec(1.0, "a number >= 0", lambda v: v >= 0)


@dataclass
class WindowSchema:
    start: int | None = None
    length: int | None = optional_at_least(1)
    jitter_start: int = at_least(0, 0)  # training windows start at a random offset 0..jitter_start after start


@dataclass
class SeriesSourceSchema:
    """Keys of every series source (their values live in conf/dataset/factory.yaml)."""

    source: str = "?"
    faults: list[int] = spec(
        [1, 4, 11, 7],
        "a non-empty list of distinct fault numbers >= 0 (0 = normal)",
        lambda v: len(v) > 0 and len(set(v)) == len(v) and all(f >= 0 for f in v),
    )
    window: WindowSchema = field(default_factory=WindowSchema)


@register("dataset/series", "simulate", "mmfusion.data.series.simulate:from_config")
@dataclass
class SimulateSchema(SeriesSourceSchema):
    source: str = choice("simulate", "simulate")
    runs_per_class: int = at_least(25, 1)
    seed: int = at_least(0, 0)
    horizon_h: float = positive(25.0)
    onset_h: float = spec(1.0, "a number >= 0", lambda v: v >= 0)
    sample_interval_h: float = positive(0.05)
    control_interval_h: float = positive(0.01)
    workers: int = at_least(2, 1)
    cache_dir: str | None = None
    on_shutdown: str = choice("error", "error", "drop")


@register("dataset/series", "rieth", "mmfusion.data.series.rieth:from_config")
@dataclass
class RiethSchema(SeriesSourceSchema):
    source: str = choice("rieth", "rieth")
    path: str = MISSING
    part: str = choice("training", "training", "testing")
    runs_per_class: int = at_least(25, 1)
    first_run: int = at_least(1, 1)
    length: int | None = optional_at_least(1)
    files: Any = mapping()
    cache_dir: str | None = None


@register("dataset/series", "braatz", "mmfusion.data.series.braatz:from_config")
@dataclass
class BraatzSchema(SeriesSourceSchema):
    source: str = choice("braatz", "braatz")
    path: str = MISSING
    braatz_window: int = at_least(100, 1)
    braatz_stride: int = at_least(50, 1)
    test_onset: int = at_least(160, 0)
    cache_dir: str | None = None


@register("dataset/text", "generate", "mmfusion.data.text.generate:from_config")
@dataclass
class GenerateSchema:
    source: str = choice("generate", "generate")
    reports_per_class: int | None = optional_at_least(1)
    categories: list[str] | None = spec(
        None,
        "null or a list of distinct report categories: " + " | ".join(REPORT_CATEGORIES),
        lambda v: len({_category(c) for c in v}) == len(v) and all(_category(c) in REPORT_CATEGORIES for c in v),
    )
    ambiguous_share: float = fraction(0.1, closed=True)
    typo_rate: float = fraction(0.02)


@register("dataset/text", "csv", "mmfusion.data.text.csv:from_config")
@dataclass
class CsvSchema:
    source: str = choice("csv", "csv")
    path: str = MISSING
    text_column: str = "Description"
    label_column: str = "Category"
    id_column: str | None = None
    encoding: str = "utf-8-sig"
    empty: str = choice("error", "error", "drop")
    label_map: Any = mapping()


@register("dataset/text", "factory_reports", "mmfusion.data.text.factory_reports:from_config")
@dataclass
class FactoryReportsSchema:
    source: str = choice("factory_reports", "factory_reports")
    label_map: Any = mapping()


@register("dataset", "factory", "mmfusion.data.paper_dataset:build")
@dataclass
class FactorySchema:
    name: str = choice("factory", "factory")
    classes: list[str] = classes(["electronic_failure", "leak", "mechanical_failure", "software_failure"])
    samples_per_class: int = at_least(100, 1)
    test_fraction: float = test_fraction(0.2)
    val_fraction: float = fraction(0.0)
    split_before_resampling: bool = True
    pairing: str = choice("by_label", "by_label")
    seed: int = at_least(0, 0)
    cv: CvSchema = field(default_factory=CvSchema)
    series: Any = MISSING  # typed by the source's schema: dataset/series=simulate | rieth | braatz
    text: Any = MISSING  # typed by the source's schema: dataset/text=factory_reports | generate | csv


@register("dataset", "custom", "mmfusion.data.custom:build")
@dataclass
class CustomSchema:
    name: str = choice("custom", "custom")
    classes: list[str] = spec(MISSING, CLASSES, lambda v: len(v) >= 2 and len(set(v)) == len(v))
    records: str = MISSING
    series_path: str = MISSING
    pairing: str = choice("by_id", "by_id")
    id_column: str = "id"
    step_column: str = "step"
    text_column: str = "text"
    label_column: str = "label"
    label_map: Any = mapping()
    encoding: str = "utf-8-sig"
    missing: str = choice("error", "error", "mask")
    test_fraction: float = test_fraction(0.2)
    val_fraction: float = fraction(0.0)
    seed: int = at_least(0, 0)
    cv: CvSchema = field(default_factory=CvSchema)
