"""Base models: the models a run trains and fuses, several per modality if configured.

The model of a modality lives at `model.<modality>` (`model/text=lstm`) and is named after it (`text`),
so a run with one model per modality names, saves and scores exactly what it always did. More models
of a modality are added beside it under `model.<modality>_<label>`, with Hydra's own syntax:

    mmfusion train +model/text@model.text_tfidf=tfidf_logreg +model/series@model.series_conv1d=conv1d

trains four base models, `series`, `series_conv1d`, `text`, `text_tfidf` (grouped by modality), and
every fusion rule fuses all four. A list picks several options of a modality's group at once:
`model/text=[lstm_tuned,tfidf_logreg]` is short for `model/text=lstm_tuned
+model/text@model.text_tfidf_logreg=tfidf_logreg` (`expand_overrides`; the first option stays `text`). A base model reads the data of its modality (the part of its name
before the first `_`); a sample without that modality has none of its models. Pure Python.
"""

from __future__ import annotations

import re
from pathlib import Path

from mmfusion.errors import ConfigError

MODALITIES = ("series", "text")  # the order of the tables' columns; fused comes last
SEP = "_"
_LIST = re.compile(r"model/([A-Za-z0-9]+)=\[([^\[\]]*)\]")


def modality_of(name: str) -> str:
    """The modality a base model reads: `text` for `text` and `text_tfidf`."""
    return str(name).split(SEP, 1)[0]


def extra_key(key: str) -> bool:
    """Whether `model.<key>` is an added model (`<modality>_<label>`), not a modality's own model."""
    return SEP in str(key)


def models_dir(run_dir, name: str) -> Path:
    """Where a base model is saved: <run>/models for a modality's own model (files named after the
    modality, as always), <run>/models/<name> for an added one (`text_tfidf`: models/text_tfidf/)."""
    return Path(run_dir) / "models" / name if extra_key(name) else Path(run_dir) / "models"


def ordered_modalities(modalities) -> list[str]:
    """The run's modalities in table order (series, text, then any other)."""
    modalities = list(modalities)
    return [m for m in MODALITIES if m in modalities] + [m for m in modalities if m not in MODALITIES]


def base_models(cfg) -> list[str]:
    """The base models a run trains: per modality (table order), its own model then the added ones in
    the order they were configured. With no added model, exactly the ordered modalities."""
    keys = [str(k) for k in (cfg.get("model") or {})]
    names = []
    for m in ordered_modalities(cfg.modalities):
        names += [m] + [k for k in keys if extra_key(k) and modality_of(k) == m]
    return names


def by_modality(names: list[str]) -> dict[str, list[str]]:
    """{modality: its base models}, in the order of `names`."""
    out: dict[str, list[str]] = {}
    for n in names:
        out.setdefault(modality_of(n), []).append(n)
    return out


def expand_overrides(overrides: list[str]) -> list[str]:
    """`model/<modality>=[a,b,...]` -> `model/<modality>=a +model/<modality>@model.<modality>_b=b ...`:
    Hydra would merge the options of a list into one node; this keeps one node per model. Every other
    override (sweeps included) is left as it is."""
    out = []
    for o in overrides:
        match = _LIST.fullmatch(o)
        options = [x.strip() for x in match.group(2).split(",")] if match else []
        if not match or not all(options):
            out.append(o)
            continue
        m = match.group(1)
        if len(set(options)) != len(options):  # the overrides, before Hydra composes a config to check
            raise ConfigError(f"{o}: an option is listed twice; each model of a modality needs its own option")
        out += [f"model/{m}={options[0]}", *(f"+model/{m}@model.{m}{SEP}{x}={x}" for x in options[1:])]
    return out
