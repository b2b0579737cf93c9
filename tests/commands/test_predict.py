"""`predict`: a finished run's models and fusion on new records, in the training file formats."""

import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from omegaconf import OmegaConf
from tiny_run import tiny_val_run

from mmfusion.commands.predict import predict
from mmfusion.errors import DataError, RunDirError
from mmfusion.rundir.files import load_npz


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_val_run(tmp_path_factory)


@pytest.fixture(scope="module")
def records(run, tmp_path_factory):
    """The run's own test records, written as a user would give them."""
    from mmfusion.data import build_dataset

    test = build_dataset(OmegaConf.load(run / "config.yaml").dataset).splits["test"]
    d = tmp_path_factory.mktemp("records")
    pd.DataFrame({"id": test.ids, "text": test.x["text"]}).to_csv(d / "text.csv", index=False)
    np.savez(d / "series.npz", ids=test.ids, x=test.x["series"])
    n, t, f = test.x["series"].shape
    long = pd.DataFrame(np.asarray(test.x["series"]).reshape(n * t, f), columns=[f"v{j + 1}" for j in range(f)])
    long.insert(0, "step", np.tile(np.arange(t), n))
    long.insert(0, "id", np.repeat(test.ids, t))
    long.sample(frac=1, random_state=0).to_csv(d / "series.csv", index=False)  # any row order
    return d, test


def cols(df, model, classes):
    return df[[f"{model}_{c}" for c in classes]].to_numpy()


def test_own_test_records_reproduce_saved_probabilities(run, records):
    d, test = records
    saved = load_npz(run / "predictions.npz")
    classes = saved["classes"].tolist()
    df = predict(run, d / "text.csv", d / "series.npz")
    assert df["id"].tolist() == test.ids.tolist()
    for m in ("series", "text", "fused"):
        np.testing.assert_allclose(cols(df, m, classes), saved[f"proba_test_{m}"], atol=1e-5)
    assert df["fused_class"].tolist() == [classes[k] for k in saved["proba_test_fused"].argmax(1)]


def test_records_with_one_modality_are_fused_over_what_they_have(run, records, tmp_path):
    d, test = records
    classes = load_npz(run / "predictions.npz")["classes"].tolist()
    np.savez(tmp_path / "few.npz", ids=test.ids[:5], x=test.x["series"][:5])
    df = predict(run, d / "text.csv", tmp_path / "few.npz")
    assert df[[f"series_{c}" for c in classes]].iloc[5:].isna().all().all()
    # the paper's rule renormalises its weights: a text-only record's fused probabilities are the text ones
    np.testing.assert_allclose(cols(df, "fused", classes)[5:], cols(df, "text", classes)[5:], atol=1e-12)
    only_series = predict(run, series=d / "series.csv")
    np.testing.assert_allclose(
        cols(only_series.set_index("id").loc[test.ids].reset_index(), "fused", classes),
        cols(predict(run, series=d / "series.npz"), "series", classes),
        atol=1e-5,
    )


def test_cli_predict_writes_the_csv(run, records, tmp_path):
    d, test = records
    out = tmp_path / "pred.csv"
    res = run_cli(
        "predict",
        str(run),
        "--text",
        str(d / "text.csv"),
        "--series",
        str(d / "series.csv"),
        "--out",
        str(out),
        cwd=tmp_path,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    df = pd.read_csv(out)
    saved = load_npz(run / "predictions.npz")
    classes = saved["classes"].tolist()
    assert list(df.columns[:1]) == ["id"] and {"fused_class", "fused_probability"} <= set(df.columns)
    np.testing.assert_allclose(
        cols(df.set_index("id").loc[test.ids].reset_index(), "fused", classes), saved["proba_test_fused"], atol=1e-5
    )
    bad = tmp_path / "bad.npz"
    np.savez(bad, ids=test.ids, x=test.x["series"][:, :, :-1])
    res = run_cli("predict", str(run), "--series", str(bad), cwd=tmp_path, timeout=300)
    assert res.returncode != 0 and "variables" in res.stderr and test.ids[0] in res.stderr
    assert "Traceback" not in res.stderr


def test_bad_records_are_named(run, records, tmp_path):
    d, test = records
    np.savez(tmp_path / "short.npz", ids=test.ids, x=test.x["series"][:, :-2])
    with pytest.raises(DataError, match=f"{test.ids[0]}.*time steps"):
        predict(run, series=tmp_path / "short.npz")
    long = pd.read_csv(d / "series.csv")
    victim = test.ids[3]
    long[~((long.id == victim) & (long.step == 0))].to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(DataError, match=f"{victim}.*time steps"):
        predict(run, series=tmp_path / "gap.csv")
    texts = pd.read_csv(d / "text.csv")
    texts.loc[2, "text"] = ""
    texts.to_csv(tmp_path / "empty.csv", index=False)
    with pytest.raises(DataError, match=f"{test.ids[2]}.*no readable text"):
        predict(run, text=tmp_path / "empty.csv")
    (tmp_path / "latin.csv").write_bytes(b"id,text\nr1,caf\xe9 leak\n")
    with pytest.raises(DataError, match="line 2 is not valid UTF-8"):
        predict(run, text=tmp_path / "latin.csv")
    with pytest.raises(DataError, match="no such file"):
        predict(run, text=tmp_path / "missing.csv")


def test_unfinished_run_is_refused(run, records, tmp_path):
    d, _ = records
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run, unfinished, ignore=shutil.ignore_patterns("fuse", "COMPLETE"))
    with pytest.raises(RunDirError, match="never finished"):
        predict(unfinished, text=d / "text.csv")
