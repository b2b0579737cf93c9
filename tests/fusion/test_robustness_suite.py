"""Bad input and faults, through the command line: each case exits non-zero with one clear message
naming the file, key or record and what to do, prints no traceback, and leaves no COMPLETE marker.

Data and config errors happen before TensorFlow is imported, so each subprocess takes seconds.
The data-cache case (a corrupted or truncated entry is rebuilt, never used) is covered by
tests/data/test_tep_simulate.py::test_corrupt_cache_entries_are_rebuilt.
"""

import os
import pickle  # noqa: F401  (only to build the hostile file of the safety case)
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from helpers import SHRINK, SHRINK_MODELS, compose_cfg, run_cli

CLASSES = ["leak", "noise"]
FAULTS = [1, 4, 11, 7]
FACTORY_CLASSES = ["electronic_failure", "leak", "mechanical_failure", "software_failure"]


def write_custom(d, n=16, steps=6, variables=3):
    labels = np.array(CLASSES * (n // 2))
    ids = [f"rec{i:03d}" for i in range(n)]
    texts = [
        ("water dripping from pipe joint" if lab == "leak" else "loud rattle in gearbox") + f" case {i}"
        for i, lab in enumerate(labels)
    ]
    pd.DataFrame({"id": ids, "text": texts, "label": labels}).to_csv(d / "records.csv", index=False)
    x = np.random.default_rng(0).normal(size=(n, steps, variables)).astype(np.float32)
    np.savez(d / "series.npz", ids=np.asarray(ids), x=x)
    long = pd.DataFrame(
        [
            {"id": ids[i], "step": t, **{f"v{j}": x[i, t, j] for j in range(variables)}}
            for i in range(n)
            for t in range(steps)
        ]
    )
    long.to_csv(d / "series_long.csv", index=False)
    return ids, x


def custom_args(d, records="records.csv", series="series.npz"):
    return [
        "dataset=custom",
        f"dataset.classes=[{','.join(CLASSES)}]",
        f"dataset.records={d / records}",
        f"dataset.series_path={d / series}",
        "dataset.test_fraction=0.25",
    ]


def write_factory_text(d, name="reports.csv", rows=None):
    rows = rows or [
        (f"report {i} about a {c.replace('_', ' ')}", c.replace("_", " ").title())
        for c in FACTORY_CLASSES
        for i in range(4)
    ]
    pd.DataFrame(rows, columns=["Description", "Category"]).to_csv(d / name, index=False, encoding="utf-8-sig")


def write_rieth(d, samples=20, runs=2):
    cols = (
        ["faultNumber", "simulationRun", "sample"]
        + [f"xmeas_{i}" for i in range(1, 42)]
        + [f"xmv_{i}" for i in range(1, 12)]
    )
    rng = np.random.default_rng(0)
    rows = [[f, r, s, *rng.normal(size=52)] for f in FAULTS for r in range(1, runs + 1) for s in range(1, samples + 1)]
    pd.DataFrame(rows, columns=cols).to_csv(d / "rieth.csv", index=False)


def factory_args(d, text="reports.csv"):
    return [
        "dataset=factory",
        "dataset.samples_per_class=4",
        "dataset/series=rieth",
        f"dataset.series.path={d / 'rieth.csv'}",
        "dataset.series.runs_per_class=2",
        "dataset.series.length=20",
        "dataset/text=csv",
        f"dataset.text.path={d / text}",
    ]


def expect_failure(tmp_path, args, *fragments, command="train"):
    run = tmp_path / "run"
    extra = [*SHRINK_MODELS, f"hydra.run.dir={run}"] if command == "train" else []
    res = run_cli(command, *extra, *args, cwd=tmp_path)  # the case's own overrides win
    err = res.stderr
    assert res.returncode != 0, res.stdout[-2000:]
    assert "Traceback" not in err, err[-3000:]
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err[-3000:]}"
    assert not (run / "COMPLETE").exists() and not (run / "models").exists()
    return err


# --- files: missing, empty, columns, encodings ------------------------------------------------------
def _mutate_records(d, how):
    p = d / "records.csv"
    if how == "missing":
        p.unlink()
    elif how == "empty":
        p.write_text("")
    elif how == "header_only":
        p.write_text("id,text,label\n")
    elif how == "misspelt_column":
        p.write_text(p.read_text().replace("id,text,label", "id,text,lable", 1))
    elif how == "non_utf8":
        p.write_bytes(p.read_bytes().replace(b"case 5", b"caf\xe9 5"))


@pytest.mark.parametrize(
    "how, args, fragments",
    [
        ("missing", [], ["records.csv", "no such file"]),
        ("empty", [], ["records.csv", "empty"]),
        ("header_only", [], ["records.csv", "no data rows"]),
        ("misspelt_column", [], ["records.csv", "'label'", "lable"]),
        ("non_utf8", [], ["records.csv", "UTF-8"]),
    ],
)
def test_bad_records_file(tmp_path, how, args, fragments):
    write_custom(tmp_path)
    _mutate_records(tmp_path, how)
    expect_failure(tmp_path, custom_args(tmp_path) + args, *fragments)


def test_missing_directory(tmp_path):
    write_custom(tmp_path)
    expect_failure(tmp_path, custom_args(tmp_path, series="nowhere/series.npz"), "nowhere/series.npz", "not found")


def test_missing_rieth_folder_for_the_factory_dataset(tmp_path):
    write_factory_text(tmp_path)
    args = factory_args(tmp_path)
    args[3] = f"dataset.series.path={tmp_path / 'no_such_folder'}"
    expect_failure(tmp_path, args, "no_such_folder", "does not exist")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_bom_and_quoted_fields_with_commas_and_newlines_work(tmp_path, encoding):
    from mmfusion.data import build_dataset

    write_custom(tmp_path)
    df = pd.read_csv(tmp_path / "records.csv")
    df.loc[0, "text"] = 'water, "quoted", dripping\nfrom the joint, again'
    df.to_csv(tmp_path / "records.csv", index=False, encoding="utf-8-sig")  # BOM + quoting
    ds = build_dataset(compose_cfg(custom_args(tmp_path) + [f"dataset.encoding={encoding}"]).dataset)
    texts = np.concatenate([s.x["text"] for s in ds.splits.values()])
    assert 'water, "quoted", dripping\nfrom the joint, again' in texts.tolist()


# --- series: values and shapes ----------------------------------------------------------------------
def _npz(d, x, ids=None):
    ids = ids if ids is not None else [f"rec{i:03d}" for i in range(len(x))]
    np.savez(d / "series.npz", ids=np.asarray(ids), x=x)


@pytest.mark.parametrize("value, word", [(np.nan, "NaN"), (np.inf, "inf")])
def test_non_finite_series_values(tmp_path, value, word):
    _, x = write_custom(tmp_path)
    x[3, 2, 1] = value
    _npz(tmp_path, x)
    expect_failure(tmp_path, custom_args(tmp_path), "series.npz", "rec003", word)


def test_infinity_in_a_long_table(tmp_path):
    write_custom(tmp_path)
    p = tmp_path / "series_long.csv"
    lines = p.read_text().splitlines()
    lines[5] = ",".join(lines[5].split(",")[:-1] + ["inf"])
    p.write_text("\n".join(lines) + "\n")
    expect_failure(tmp_path, custom_args(tmp_path, series="series_long.csv"), "series_long.csv", "rec000", "inf")


def test_a_row_with_an_extra_variable_in_a_long_table(tmp_path):
    write_custom(tmp_path)
    p = tmp_path / "series_long.csv"
    lines = p.read_text().splitlines()
    lines[7] += ",9.9"
    p.write_text("\n".join(lines) + "\n")
    expect_failure(tmp_path, custom_args(tmp_path, series="series_long.csv"), "series_long.csv", "line 8")


def test_series_without_a_variable_axis(tmp_path):
    _, x = write_custom(tmp_path)
    _npz(tmp_path, x[:, :, 0])
    expect_failure(tmp_path, custom_args(tmp_path), "series.npz", "(n, T, F)")


def test_ragged_series(tmp_path):
    write_custom(tmp_path)
    p = tmp_path / "series_long.csv"
    df = pd.read_csv(p)
    df.drop(index=df.index[(df.id == "rec004") & (df.step == 5)]).to_csv(p, index=False)
    expect_failure(tmp_path, custom_args(tmp_path, series="series_long.csv"), "different lengths", "rec004")


def test_series_with_no_time_steps(tmp_path):
    _, x = write_custom(tmp_path)
    _npz(tmp_path, x[:, :0, :])
    expect_failure(tmp_path, custom_args(tmp_path), "series.npz", "time steps")


def test_window_longer_than_the_runs(tmp_path):
    write_factory_text(tmp_path)
    write_rieth(tmp_path)
    expect_failure(tmp_path, [*factory_args(tmp_path), "dataset.series.window.length=400"], "dataset.series.window")


def test_non_numeric_cell(tmp_path):
    write_custom(tmp_path)
    p = tmp_path / "series_long.csv"
    df = pd.read_csv(p).astype({"v1": object})
    df.loc[9, "v1"] = "n/a-ish"
    df.to_csv(p, index=False)
    expect_failure(tmp_path, custom_args(tmp_path, series="series_long.csv"), "non-numeric", "'n/a-ish'", "v1")


# --- labels --------------------------------------------------------------------------------------
def test_label_sets_that_differ_between_modalities(tmp_path):
    """The text CSV lacks a class that the series (faults) have."""
    write_factory_text(
        tmp_path, rows=[(f"report {i}", c.replace("_", " ").title()) for c in FACTORY_CLASSES[:3] for i in range(4)]
    )
    write_rieth(tmp_path)
    expect_failure(tmp_path, factory_args(tmp_path), "reports.csv", "software_failure")


def test_a_class_with_too_few_samples_for_the_split(tmp_path):
    write_custom(tmp_path)
    df = pd.read_csv(tmp_path / "records.csv")
    df.loc[2:, "label"] = "leak"  # one 'noise' record left
    df.to_csv(tmp_path / "records.csv", index=False)
    expect_failure(tmp_path, custom_args(tmp_path), "'noise'", "1 sample")


def test_labels_outside_label_map(tmp_path):
    write_custom(tmp_path)
    expect_failure(tmp_path, [*custom_args(tmp_path), "+dataset.label_map={leak: leak}"], "records.csv", "noise")


# --- config ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "override, fragments",
    [
        ("dataset=imagenet", ["dataset/imagenet", "Available options"]),
        ("model/text=transformer", ["model/text/transformer"]),
        ("fusion=medianx", ["fusion/medianx"]),
        ("model.text.lrr=0.1", ["lrr"]),
        ("model.text.lr=-0.001", ["model.text.lr=-0.001: expected a number > 0"]),
        ("model.series.lr=0", ["model.series.lr=0: expected a number > 0"]),
        ("model.text.epochs=0", ["model.text.epochs=0: expected an integer >= 1"]),
        ("model.series.batch_size=-4", ["model.series.batch_size=-4: expected an integer >= 1"]),
        ("model.text.batch_size=0", ["model.text.batch_size=0: expected an integer >= 1"]),
    ],
)
def test_bad_config(tmp_path, override, fragments):
    expect_failure(tmp_path, [*SHRINK, override], *fragments)


def test_an_output_directory_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    res = run_cli("train", *SHRINK, f"hydra.run.dir={blocker / 'run'}", cwd=tmp_path)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    assert "a_file" in res.stderr and "not a directory" in res.stderr


# --- safety --------------------------------------------------------------------------------------
def test_a_pickled_object_array_is_refused(tmp_path):
    write_custom(tmp_path)
    hostile = np.empty(16, dtype=object)
    hostile[:] = [{"id": i} for i in range(16)]
    np.savez(tmp_path / "series.npz", ids=np.asarray([f"rec{i:03d}" for i in range(16)]), x=hostile)
    expect_failure(tmp_path, custom_args(tmp_path), "series.npz", "without pickles")


# --- run directories given to report / fuse / predict -------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from mmfusion.commands.train import train

    run = tmp_path_factory.mktemp("finished") / "run"
    train(compose_cfg(["evaluation.bootstrap=0"]), run)
    return run


def _copy_run(src, dst, drop=()):
    import shutil

    shutil.copytree(src, dst)
    for name in drop:
        target = dst / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    return dst


@pytest.mark.parametrize(
    "command, drop, fragment",
    [
        ("fuse", ("COMPLETE",), "never finished"),
        ("predict", ("COMPLETE",), "never finished"),
        ("fuse", ("predictions.npz",), "predictions.npz"),  # fuse reads probabilities, never models
        ("predict", ("models",), "models"),  # predict reads models, never saved probabilities
    ],
)
def test_incomplete_run_directories(tmp_path, finished_run, command, drop, fragment):
    run = _copy_run(finished_run, tmp_path / "copy", drop)
    args = [str(run)] + ([] if command == "fuse" else ["--text", str(tmp_path / "t.csv")])
    pd.DataFrame({"id": ["a"], "text": ["a leak"]}).to_csv(tmp_path / "t.csv", index=False)
    err = expect_failure(tmp_path, args, str(run), command=command)
    assert fragment in err, err[-2000:]


def test_report_on_an_interrupted_run_or_an_empty_directory(tmp_path, finished_run):
    run = _copy_run(finished_run, tmp_path / "copy", ("COMPLETE",))
    expect_failure(tmp_path, [str(run)], "no finished run", command="report")
    (tmp_path / "empty").mkdir()
    expect_failure(tmp_path, [str(tmp_path / "empty")], "no job subdirectories", command="report")
    expect_failure(tmp_path, [str(tmp_path / "nowhere")], "no such directory", command="report")


def test_predict_with_series_of_another_number_of_variables(tmp_path, finished_run):
    ids = np.asarray(["a", "b"])
    np.savez(tmp_path / "new.npz", ids=ids, x=np.zeros((2, 12, 7), np.float32))  # the run was trained on 4 variables
    pd.DataFrame({"id": ids, "text": ["a leak", "a noise"]}).to_csv(tmp_path / "t.csv", index=False)
    expect_failure(
        tmp_path,
        [str(finished_run), "--text", str(tmp_path / "t.csv"), "--series", str(tmp_path / "new.npz")],
        "new.npz",
        "7",
        "4",
        command="predict",
    )


# --- interruption ----------------------------------------------------------------------------------
def test_a_run_killed_mid_training_stays_incomplete_and_report_skips_it(tmp_path, finished_run):
    sweep = tmp_path / "sweep"
    _copy_run(finished_run, sweep / "0")
    run = sweep / "1"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mmfusion",
            "train",
            *SHRINK,
            "model.series.epochs=200",
            "evaluation.bootstrap=0",
            f"hydra.run.dir={run}",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        log = run / "mmfusion.log"
        while time.time() < deadline and not (log.exists() and "series epoch 2/" in log.read_text()):
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.5)
        assert log.exists() and "series epoch 2/" in log.read_text(), "training never started"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (run / "COMPLETE").exists() and (run / ".hydra").is_dir()
    res = run_cli("report", str(sweep), cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    text = (sweep / "report.md").read_text()
    assert "1 finished job(s)" in text and "Not finished" in text and "`1`" in text
    fuse = run_cli("fuse", str(run), cwd=tmp_path)
    assert fuse.returncode != 0 and "never finished" in fuse.stderr and "Traceback" not in fuse.stderr
