"""The rules between the `model`, `modalities` and `joint` keys: each listed modality has a model, layer
lists of one length, added models (`model.<modality>_<label>`, mmfusion/basemodels.py) that are well
named, and joint=lstm with both modalities."""

from __future__ import annotations

import logging
import re

from omegaconf import OmegaConf

from mmfusion.errors import ConfigError
from mmfusion.schemas import registry
from mmfusion.schemas.check.messages import fail, show
from mmfusion.schemas.models import TRAINING_KEYS, UntrainedSchema

log = logging.getLogger(__name__)
LABEL = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")  # the label of an added model: a safe file name


def check_models(cfg) -> None:
    """A model for every listed modality, one kernel size per filter entry; keys an untrained model
    ignores are noted."""
    for m in cfg.modalities:
        if m not in cfg.model:
            raise ConfigError(f"modalities lists {m!r} but model.{m} is not configured; add model/{m}=<name>")
        mc = cfg.model[m]
        if "filters" in mc and "kernel_sizes" in mc and len(mc.filters) != len(mc.kernel_sizes):
            fail(f"model.{m}.kernel_sizes", mc.kernel_sizes, f"one kernel size per filter entry ({len(mc.filters)})")
        if issubclass(OmegaConf.get_type(mc) or dict, UntrainedSchema):
            ignored = {k: mc[k] for k in TRAINING_KEYS if mc.get(k) is not None}
            if ignored:
                log.info(
                    "model.%s=%s is not trained by epochs: ignoring %s",
                    m,
                    mc.name,
                    ", ".join(f"model.{m}.{k}={show(v)}" for k, v in ignored.items()),
                )


def check_added_models(cfg) -> None:
    """More than one model per modality: `model.<modality>_<label>` (mmfusion/basemodels.py)."""
    from mmfusion import basemodels

    added_model_keys(cfg, {m: registry.names(f"model/{m}") for m in ("text", "series")})
    for name in basemodels.base_models(cfg):  # TF-IDF: at least one of its two analyzers
        mc = cfg.model[name]
        if "word_ngrams" in mc and "char_ngrams" in mc and not mc.word_ngrams and not mc.char_ngrams:
            raise ConfigError("model.text: set word_ngrams and/or char_ngrams; both are off")


def added_model_keys(cfg, options: dict[str, list[str]]) -> None:
    """Every added model's key and name: `model.<modality>_<label>` with a known modality, a label of
    lower-case letters, digits and single `_` (a safe file name), and a model `name` of that modality
    (`options`: modality -> known model names). One ConfigError naming the key."""
    from mmfusion.basemodels import SEP, extra_key

    for key in cfg.get("model") or {}:
        key = str(key)
        if not extra_key(key):
            continue
        m, label = key.split(SEP, 1)
        if m not in options:
            raise ConfigError(
                f"model.{key}: an added model is named <modality>_<label> with a modality among "
                f"{sorted(options)}, e.g. +model/text@model.text_tfidf=tfidf_logreg"
            )
        if not LABEL.fullmatch(label):
            raise ConfigError(
                f"model.{key}: the label {label!r} must be lower-case letters and digits joined by single '_'"
            )
        node = cfg.model[key]
        name = node.get("name") if hasattr(node, "get") else None
        if name not in options[m]:
            raise ConfigError(
                f"model.{key}.name={name!r} is not a {m} model; choose one of {sorted(options[m])} "
                f"(+model/{m}@model.{key}=<name>)"
            )


def check_joint(cfg) -> None:
    """joint=lstm trains one network on both modalities: both must be listed."""
    jc = cfg.get("joint")
    if jc is not None and jc.name != "none" and not {"text", "series"} <= set(cfg.modalities):
        fail("modalities", cfg.modalities, "both series and text with joint=lstm (or joint=none)")
