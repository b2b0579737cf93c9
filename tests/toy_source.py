"""A text source added the way docs/extending.md shows: this function and its schema, plus one YAML
(tests/toy_conf/dataset/text/templated.yaml); no other file names it (tests/schemas/test_registry.py builds it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmfusion.data.dataset import TextData
from mmfusion.schemas.fields import choice
from mmfusion.schemas.registry import register


def from_config(cfg, classes: list[str], per_class: int, seed: int) -> TextData:
    """`per_class` texts per class from one template: `{label}` is the class, `{i}` the report's number."""
    texts = [cfg.template.format(label=c.replace("_", " "), i=i) for c in classes for i in range(per_class)]
    return TextData(
        texts=np.asarray(texts, dtype=object),
        y=np.repeat(np.arange(len(classes)), per_class),
        ids=np.asarray([f"template-{k}" for k in range(len(texts))]),
        info={"source": "templated"},
    )


@register("dataset/text", "templated", from_config)
@dataclass
class TemplatedSchema:
    source: str = choice("templated", "templated")
    template: str = "report {i}: a {label} fault"
