"""Every registered model keeps the one contract (mmfusion.models.contract.Model) that train, fuse,
predict and resume call: a new model that lacks a method fails here, not mid-run."""

import inspect

import pytest

import mmfusion.schemas  # noqa: F401  (registers every option)
from mmfusion.models.contract import BaseModel, Model
from mmfusion.schemas import registry

KINDS = ["model/text", "model/series", "joint"]
METHODS = {"joint": ("fit", "predict_proba", "save", "load")}  # the joint network is a Model
BASE = ("fit", "predict_proba", "predict_log_proba", "save", "load")  # a modality's model is a BaseModel


def _classes():
    for kind in KINDS:
        for name in registry.names(kind):
            if kind == "joint" and name == "none":
                continue
            try:
                cls = registry.lookup(kind, name)
            except ImportError:  # an optional extra (aeon) that is not installed
                continue
            yield pytest.param(kind, cls, id=f"{kind}={name}")


@pytest.mark.parametrize(("kind", "cls"), list(_classes()))
def test_every_model_keeps_the_contract(kind, cls):
    for method in METHODS.get(kind, BASE):
        assert callable(getattr(cls, method, None)), f"{cls.__name__} lacks {method}()"
        want = list(inspect.signature(getattr(BaseModel, method)).parameters)
        have = list(inspect.signature(getattr(cls, method)).parameters)
        assert have[: len(want)] == want, f"{cls.__name__}.{method}{have} differs from the contract's {want}"
    for attr in ("modality", "checkpoint_dir"):
        assert hasattr(cls, attr), f"{cls.__name__} lacks the attribute {attr}"


def test_a_built_model_is_a_model():
    from helpers import compose_cfg

    from mmfusion.models import build_model

    cfg = compose_cfg(["model/text=tfidf_logreg"], shrink=False)
    model = build_model("text", cfg.model.text, 4)
    assert isinstance(model, Model) and isinstance(model, BaseModel)
