"""The run-start line names every base model, several per modality where configured (issue 22)."""

from helpers import compose_cfg

from mmfusion.commands.summary import run_start


def test_run_start_lists_every_base_model():
    cfg = compose_cfg(["+model/text@model.text_tfidf_logreg=tfidf_logreg", "+model/series@model.series_conv1d=conv1d"])
    line = next(x for x in run_start(cfg, "/tmp/run").splitlines() if "models:" in x)
    assert line.strip() == (
        "models: series=lstm, series_conv1d=conv1d, text=lstm, text_tfidf_logreg=tfidf_logreg; fusion: accuracy"
    )


def test_run_start_with_one_model_per_modality_is_unchanged():
    line = next(x for x in run_start(compose_cfg([]), "/tmp/run").splitlines() if "models:" in x)
    assert line.strip() == "models: series=lstm, text=lstm; fusion: accuracy"
