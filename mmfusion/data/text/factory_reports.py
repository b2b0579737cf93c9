"""`dataset.text.source=factory_reports`: MathWorks' factoryReports.csv, bundled with the package.

480 fault reports in four categories (the paper's Table I texts). Redistributed under its licence
(`FactoryReportsDatasetLicense.txt`, shipped beside the file): "factoryReports data set
provided by The MathWorks, Inc. (www.mathworks.com.)". Read by the same reader as any text CSV.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from mmfusion.data.dataset import TextData
from mmfusion.data.text.csv import load_text_csv
from mmfusion.schemas.dataset import FACTORY_REPORT_LABELS  # one place: the config check reads it too

FILE = "factoryReports.csv"
LICENSE = "FactoryReportsDatasetLicense.txt"
CITATION = "factoryReports data set provided by The MathWorks, Inc. (www.mathworks.com.)"
LABEL_MAP = FACTORY_REPORT_LABELS  # the file's categories -> the factory dataset's classes (the paper's types 1-4)


def bundled_path(name: str = FILE) -> Path:
    """Where the installed package keeps the bundled file (or its licence)."""
    return Path(str(resources.files("mmfusion.data.text") / name))


def load_factory_reports(classes: list[str], label_map: dict[str, str] | None = None) -> TextData:
    """The bundled reports as TextData; `label_map` (default: LABEL_MAP) maps categories to `classes`."""
    data = load_text_csv(
        bundled_path(),
        classes,
        label_map or LABEL_MAP,
        text_column="Description",
        label_column="Category",
        encoding="utf-8-sig",
        empty="error",
    )
    data.info.update({"source": "factory_reports", "citation": CITATION, "license": LICENSE})
    return data


def from_config(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    """`dataset/text=factory_reports`: the bundled factoryReports.csv, labels mapped by `label_map`."""
    return load_factory_reports(classes, dict(cfg.label_map) if cfg.get("label_map") else None)
