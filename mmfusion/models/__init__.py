"""Registry: (modality, model name) -> model class. Configs name models, never import paths."""

from __future__ import annotations

from mmfusion.errors import ConfigError

MODELS: dict[tuple[str, str], str] = {
    ("text", "lstm"): "mmfusion.models.text_lstm:TextLSTM",
    ("series", "lstm"): "mmfusion.models.series_lstm:SeriesLSTM",
    ("series", "gru"): "mmfusion.models.series_nets:SeriesGRU",
    ("series", "bilstm"): "mmfusion.models.series_nets:SeriesBiLSTM",
    ("series", "conv1d"): "mmfusion.models.series_nets:SeriesConv1D",
    ("series", "minirocket"): "mmfusion.models.minirocket:SeriesMiniRocket",  # extra: mmfusion[minirocket]
    ("text", "bilstm"): "mmfusion.models.text_nets:TextBiLSTM",
    ("text", "tfidf_logreg"): "mmfusion.models.sklearn_text:TextTfidfLogReg",
    ("joint", "lstm"): "mmfusion.models.joint:JointLSTM",  # joint=lstm: both modalities in one network
}


def model_class(modality: str, name: str):
    key = (modality, name)
    if key not in MODELS:
        known = sorted(n for m, n in MODELS if m == modality)
        raise ConfigError(f"model.{modality}.name={name!r} is not known; choose one of {known}")
    import importlib

    module, cls = MODELS[key].split(":")
    return getattr(importlib.import_module(module), cls)


def build_model(modality: str, cfg, num_classes: int, strategy=None):
    return model_class(modality, cfg.name)(cfg, num_classes, strategy)


def load_model(modality: str, cfg, num_classes: int, directory):
    return build_model(modality, cfg, num_classes).load(directory)
