"""Faults and damaged files through the CLI (issue 24): every case ends in one line naming the file or
key, a non-zero exit, no traceback, and leaves every file that existed before unchanged.

One tiny run is trained once for the module (by the concurrent-writer case: the second writer is
refused while the first trains) and copied per case (shutil.copytree) before it is damaged. Config
cases fail in the range check, before TensorFlow is imported. Disk-full and read-only destinations are
injected in the subprocess (`INJECT`: `open` for writing and `os.mkdir` under a path pattern raise
ENOSPC / EROFS), so the suite needs neither root nor a small file system.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import SHRINK, run_cli

import mmfusion
from mmfusion.rundir.checksums import verify
from mmfusion.rundir.files import CHECKSUMS, MARKER, sha256, write_json
from mmfusion.rundir.markers import is_complete

# Run the CLI with writes under a path pattern (fnmatch on the absolute path, or a folder prefix)
# failing with an errno: argv = pattern, errno, mmfusion arguments...
INJECT = r"""
import builtins, fnmatch, io, os, sys
pattern, code, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def hit(path):
    try:
        p = os.path.abspath(os.fspath(path))
    except TypeError:
        return False
    return fnmatch.fnmatch(p, pattern) or p.startswith(pattern.rstrip(os.sep) + os.sep) or p == pattern
real_open, real_mkdir = io.open, os.mkdir
def fake_open(file, mode="r", *args, **kwargs):
    if any(c in mode for c in "wax+") and hit(file):
        raise OSError(code, os.strerror(code), os.fspath(file))
    return real_open(file, mode, *args, **kwargs)
def fake_mkdir(path, *args, **kwargs):
    if hit(path) and not os.path.isdir(path):
        raise OSError(code, os.strerror(code), os.fspath(path))
    return real_mkdir(path, *args, **kwargs)
builtins.open = io.open = fake_open
os.mkdir = fake_mkdir
from mmfusion.cli import main
sys.exit(main(argv))
"""
TRAIN = [*SHRINK, "dataset.val_fraction=0.25", "evaluation.bootstrap=20"]


def injected(pattern: str, code: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", INJECT, pattern, str(code), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_one_line(res: subprocess.CompletedProcess, command: str, *needles: str, status: int = 2) -> str:
    """Exit status, no traceback, exactly one error line (the others are log lines) naming what it must."""
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert res.returncode == status, (res.returncode, res.stderr[-3000:])
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(f"mmfusion {command}: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr[-3000:]
    others = [ln for ln in lines[:-1] if not ln.startswith(("[20", "WARNING", "W0000", "I0000", "E0000"))]
    assert not others, res.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def assert_unchanged(before: dict, root: Path) -> None:
    """Every file that existed is byte for byte the same; no new folder claims to be complete."""
    after = snapshot(root)
    assert {k: after.get(k) for k in before} == before
    assert not [k for k in after if k not in before and k.endswith(MARKER)]


# --- the one tiny run, trained while a second writer is refused ---------------------------------------


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory):
    """Two `mmfusion train` into the same hydra.run.dir: the first trains, the second starts while the
    first holds the directory. Returns (run dir, first result, second result, second's wall time)."""
    root = tmp_path_factory.mktemp("faults")
    run = root / "run"
    args = [sys.executable, "-m", "mmfusion", "train", *TRAIN, f"hydra.run.dir={run}"]
    first = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while not (run / ".mmfusion.lock").exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert (run / ".mmfusion.lock").exists(), first.communicate()[1][-3000:]
    start = time.time()
    second = run_cli("train", *TRAIN, f"hydra.run.dir={run}", cwd=root, timeout=240)
    took = time.time() - start
    out, err = first.communicate(timeout=600)
    return run, subprocess.CompletedProcess(args, first.returncode, out, err), second, took


@pytest.fixture(scope="module")
def base_run(concurrent) -> Path:
    run, first, _, _ = concurrent
    assert first.returncode == 0, first.stderr[-3000:]
    return run


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    """A copy of the finished run, to damage."""
    return Path(shutil.copytree(base_run, tmp_path / "run"))


def test_a_second_writer_is_refused_and_the_first_run_completes_intact(concurrent):
    run, first, second, took = concurrent
    assert_one_line(second, "train", str(run), "is in use by process", "nothing was written")
    assert first.returncode == 0 and is_complete(run), first.stderr[-3000:]
    assert not (run / ".mmfusion.lock").exists()  # released at exit
    verify(run)  # every file the run wrote matches its checksum
    hydra_overrides = (run / ".hydra" / "overrides.yaml").read_text()
    assert "evaluation.bootstrap=20" in hydra_overrides
    assert not second.stdout.strip() and took < 60


def test_a_lock_of_another_host_is_obeyed_and_named(run, tmp_path):
    lock = run / ".mmfusion.lock"
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "command": "train", "since": 0}))
    before = snapshot(run)
    res = run_cli("train", *TRAIN, "resume=true", f"hydra.run.dir={run}", cwd=tmp_path, timeout=120)
    assert_one_line(res, "train", "in use by process 1 on elsewhere.example", f"delete {lock.resolve()}")
    assert_unchanged(before, run)


def test_a_stale_lock_is_taken_over_and_released(tmp_path, caplog):
    from mmfusion.runtime import locks

    d = tmp_path / "run"
    d.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (d / locks.LOCK).write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname(), "since": 0}))
    path = locks.acquire(d)
    assert json.loads(path.read_text())["pid"] == os.getpid() and "stale lock" in caplog.text
    assert locks.acquire(d) == path  # the same process again: held twice
    locks.release(path)
    assert path.exists()
    locks.release(path)
    assert not path.exists()


# --- damaged run directories: fuse and report -----------------------------------------------------------


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _drop_checksums(run: Path) -> None:
    (run / CHECKSUMS).unlink()


DAMAGE = {  # name -> (change to the run, file named in the message, words in it)
    "truncated predictions": (lambda r: _truncate(r / "predictions.npz"), "predictions.npz", "damaged or changed"),
    "flipped byte in predictions": (
        lambda r: (r / "predictions.npz").write_bytes(
            (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:])((r / "predictions.npz").read_bytes())
        ),
        "predictions.npz",
        "SHA-256 differs",
    ),
    "deleted predictions": (lambda r: (r / "predictions.npz").unlink(), "predictions.npz", "lacks"),
    "cut-off metrics": (lambda r: _truncate(r / "metrics.json"), "metrics.json", "damaged or changed"),
    "truncated predictions, no checksums": (
        lambda r: (_truncate(r / "predictions.npz"), _drop_checksums(r)),
        "predictions.npz",
        "damaged",
    ),
    "random bytes as predictions, no checksums": (
        lambda r: (_random_bytes(r / "predictions.npz"), _drop_checksums(r)),
        "predictions.npz",
        "not an .npz file",
    ),
    "cut-off metrics, no checksums": (
        lambda r: (_truncate(r / "metrics.json"), _drop_checksums(r)),
        "metrics.json",
        "not valid JSON",
    ),
    "damaged checksum list": (lambda r: _truncate(r / CHECKSUMS), CHECKSUMS, "not valid JSON"),
    "invalid YAML config": (
        lambda r: (r / "config.yaml").write_text("fusion: [unclosed\n  name: x: y\n"),
        "config.yaml",
        "not valid YAML",
    ),
    "config without sections": (lambda r: (r / "config.yaml").write_text("fusion: banana\n"), "config.yaml", "banana"),
    "config that is a list": (lambda r: (r / "config.yaml").write_text("- a\n- b\n"), "config.yaml", "not a config"),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_fuse_names_a_damaged_run_file(run, tmp_path, damage):
    change, name, words = DAMAGE[damage]
    change(run)
    before = snapshot(run)
    res = run_cli("fuse", str(run), cwd=tmp_path, timeout=120)
    assert_one_line(res, "fuse", name, words)
    assert_unchanged(before, run)


def test_a_python_tag_in_a_config_is_refused_not_run(run, tmp_path):
    marker = tmp_path / "pwned"
    (run / "config.yaml").write_text(f"fusion: !!python/object/apply:os.system ['touch {marker}']\n")
    before = snapshot(run)
    for command in (["fuse", str(run)], ["predict", str(run), "--text", str(tmp_path / "t.csv")]):
        (tmp_path / "t.csv").write_text("id,text\na,some words\n")
        res = run_cli(*command, cwd=tmp_path, timeout=120)
        assert_one_line(res, command[0], "config.yaml", "not plain data", "never builds Python objects")
        assert "unsafe" not in res.stderr.lower() and "Loader" not in res.stderr
    assert not marker.exists()
    assert_unchanged(before, run)


def test_fuse_with_a_file_where_its_output_folder_goes(run, tmp_path):
    (run / "fuse").write_text("a file, not a folder")
    before = snapshot(run)
    res = run_cli("fuse", str(run), cwd=tmp_path, timeout=120)
    assert_one_line(res, "fuse", str(run / "fuse"))
    assert_unchanged(before, run)


@pytest.mark.parametrize(
    "code, words", [(errno.EROFS, "read-only file system"), (errno.ENOSPC, "out of disk space writing")]
)
def test_fuse_into_a_read_only_or_full_disk(run, tmp_path, code, words):
    before = snapshot(run)
    res = injected(str(run / "fuse"), code, "fuse", str(run), cwd=tmp_path)
    assert_one_line(res, "fuse", words, str(run / "fuse"))
    assert_unchanged(before, run)


def test_fuse_out_of_space_at_its_predictions_leaves_no_complete_marker(run, tmp_path):
    before = snapshot(run)
    res = injected(f"{run}/fuse/*/.predictions.npz*", errno.ENOSPC, "fuse", str(run), cwd=tmp_path)
    assert_one_line(res, "fuse", "out of disk space writing", "predictions.npz")
    assert_unchanged(before, run)
    (out,) = (run / "fuse").iterdir()
    assert not (out / MARKER).exists() and not list(out.glob(".*tmp*"))  # no temporary file left


def test_report_names_a_cut_off_metrics_file(run, tmp_path):
    _truncate(run / "metrics.json")
    before = snapshot(run)
    res = run_cli("report", str(run), cwd=tmp_path, timeout=120)
    assert_one_line(res, "report", str(run / "metrics.json"), "not valid JSON")
    assert_unchanged(before, run)


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "out of disk space"), (errno.EROFS, "read-only")])
def test_report_keeps_the_previous_report_when_it_cannot_write(run, tmp_path, code, words):
    (run / "report.md").write_text("the previous report\n")
    before = snapshot(run)
    res = injected(f"{run}/.report.md*", code, "report", str(run), cwd=tmp_path)
    assert_one_line(res, "report", words, "report.md")
    assert_unchanged(before, run)
    assert (run / "report.md").read_text() == "the previous report\n"


def test_report_on_runs_with_different_classes(base_run, tmp_path):
    sweep = tmp_path / "sweep"
    for k in range(2):
        job = Path(shutil.copytree(base_run, sweep / str(k)))
        shutil.rmtree(job / ".hydra")
    metrics = json.loads((sweep / "1" / "metrics.json").read_text())
    metrics["classes"] = [f"other{i}" for i in range(len(metrics["classes"]))]
    write_json(sweep / "1" / "metrics.json", metrics)  # keeps the checksum current
    before = snapshot(sweep)
    res = run_cli("report", str(sweep), cwd=tmp_path, timeout=120)
    assert_one_line(res, "report", "classes", str(sweep / "1"))
    assert_unchanged(before, sweep)


def test_debug_shows_the_traceback_before_the_line(run, tmp_path):
    _truncate(run / "predictions.npz")
    for args, env in (((), {"MMFUSION_DEBUG": "1"}), (("--debug",), {})):
        res = run_cli(*args, "fuse", str(run), cwd=tmp_path, env=env, timeout=120)
        assert res.returncode == 2 and "Traceback" in res.stderr
        assert res.stderr.strip().splitlines()[-1].startswith("mmfusion fuse: error: ")


# --- predict: damaged models, unsafe files, its output -------------------------------------------------


@pytest.fixture
def texts(tmp_path) -> Path:
    p = tmp_path / "texts.csv"
    p.write_text("id,text\nr1,pump noise and leak near the valve\nr2,software fault after update\n")
    return p


PREDICT_DAMAGE = {
    "truncated text model": (lambda r: _truncate(r / "models" / "text.keras"), "text.keras", "damaged or changed"),
    "deleted text model state": (lambda r: (r / "models" / "text.json").unlink(), "text.json", "missing"),
    "deleted text model state, no checksums": (
        lambda r: ((r / "models" / "text.json").unlink(), _drop_checksums(r)),
        "text.json",
        "missing",
    ),
    "invalid YAML config": (lambda r: (r / "config.yaml").write_text("model: {text: [\n"), "config.yaml", "YAML"),
    "config without sections": (
        lambda r: (r / "config.yaml").write_text("fusion: banana\n"),
        "config.yaml",
        "not the section the run saved",
    ),
    "cut-off metrics": (lambda r: _truncate(r / "metrics.json"), "metrics.json", "damaged or changed"),
}


@pytest.mark.parametrize("damage", list(PREDICT_DAMAGE), ids=list(PREDICT_DAMAGE))
def test_predict_names_a_damaged_run_file(run, tmp_path, texts, damage):
    change, name, words = PREDICT_DAMAGE[damage]
    change(run)
    before = snapshot(run)
    res = run_cli("predict", str(run), "--text", str(texts), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    assert_one_line(res, "predict", name, words)
    assert_unchanged(before, run) and not (tmp_path / "p.csv").exists()


def _lambda_model(path: Path) -> None:
    """A .keras archive whose network holds a Lambda layer (Python bytecode): Keras' safe mode refuses it."""
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 2], "dtype": "float32", "name": "in"},
                },
                {
                    "module": "keras.layers",
                    "class_name": "Lambda",
                    "config": {
                        "name": "code",
                        "function": {
                            "class_name": "__lambda__",
                            "config": {
                                "code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTAKkBTqkAKQHaAXhyAgAAAHICAAAA+gg8c3RyaW5nPtoIPGxhbWJkYT4BAAAA8wAAAAA=",
                                "defaults": None,
                                "closure": None,
                            },
                        },
                    },
                },
            ],
        },
    }
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0", "date_saved": "2026-01-01"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"")


def test_a_model_with_a_lambda_layer_is_refused_in_one_line(run, tmp_path, texts):
    _lambda_model(run / "models" / "text.keras")
    _drop_checksums(run)  # as a run made before checksums: the file reaches Keras (safe mode)
    before = snapshot(run)
    res = run_cli("predict", str(run), "--text", str(texts), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    line = assert_one_line(res, "predict", "text.keras", "Lambda", "safe mode")
    assert "safe_mode=False" not in res.stderr and "trust" not in line
    assert_unchanged(before, run)


def test_a_model_replaced_after_the_run_is_caught_by_its_checksum(run, tmp_path, texts):
    _lambda_model(run / "models" / "text.keras")
    res = run_cli("predict", str(run), "--text", str(texts), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    assert_one_line(res, "predict", "text.keras", "damaged or changed")


def test_predict_out_naming_a_directory(base_run, tmp_path, texts):
    (tmp_path / "outdir").mkdir()
    res = run_cli("predict", str(base_run), "--text", str(texts), "--out", str(tmp_path / "outdir"), cwd=tmp_path)
    assert_one_line(res, "predict", "--out", "outdir", "is a directory")
    assert not list((tmp_path / "outdir").iterdir())


def test_predict_out_naming_its_own_input(base_run, tmp_path, texts):
    before = texts.read_bytes()
    res = run_cli("predict", str(base_run), "--text", str(texts), "--out", str(texts), cwd=tmp_path)
    assert_one_line(res, "predict", "--out", "input file")
    assert texts.read_bytes() == before


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "out of disk space writing"), (errno.EROFS, "read-only")])
def test_predict_keeps_the_previous_output_when_it_cannot_write(base_run, tmp_path, texts, code, words):
    """A read-only folder is found before any work (a probe file); a full disk at the final write."""
    out = tmp_path / "p.csv"
    out.write_text("the previous predictions\n")
    pattern = f"{tmp_path}/.p.csv.[0-9]*.tmp" if code == errno.ENOSPC else f"{tmp_path}/.p.csv*"
    res = injected(pattern, code, "predict", str(base_run), "--text", str(texts), "--out", str(out), cwd=tmp_path)
    assert_one_line(res, "predict", words, str(out))
    assert out.read_text() == "the previous predictions\n" and not list(tmp_path.glob(".p.csv*"))
    if code == errno.EROFS:  # refused up front, before any model was loaded
        assert "tensorflow" not in res.stderr.lower() and not res.stdout.strip()


SERIES_INPUTS = {  # name -> (writes the file, words in the message)
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(1).bytes(300)), "not an .npz file"),
    "truncated archive": (
        lambda p: (np.savez(p, ids=np.array(["a"]), x=np.zeros((1, 12, 4))), _truncate(p, 0.6)),
        "not a readable .npz",
    ),
    "beyond float32": (
        lambda p: np.savez(p, ids=np.array(["a"]), x=np.full((1, 12, 4), 1e39)),
        "out of float32 range",
    ),
}


@pytest.mark.parametrize("kind", list(SERIES_INPUTS), ids=list(SERIES_INPUTS))
def test_predict_says_what_is_wrong_with_a_series_file(base_run, tmp_path, kind):
    write, words = SERIES_INPUTS[kind]
    path = tmp_path / "s.npz"
    write(path)
    res = run_cli("predict", str(base_run), "--series", str(path), "--out", str(tmp_path / "p.csv"), cwd=tmp_path)
    line = assert_one_line(res, "predict", str(path), words)
    assert "pickle" not in line and "NaN" not in line
    assert not (tmp_path / "p.csv").exists()


# --- train: values out of bounds, keys added with +, faults before any work ----------------------------

BAD_VALUES = [  # (overrides, the key named, words)
    (["model.series.lr=inf"], "model.series.lr=inf", "finite"),
    (["model.text.lr=-inf"], "model.text.lr=-inf", "expected"),
    (["dataset.samples_per_class=100000000000000000000000"], "dataset.samples_per_class=", "at most"),
    (["model.text.batch_size=99999999999"], "model.text.batch_size=", "at most"),
    (["evaluation.bootstrap=1000000000000"], "evaluation.bootstrap=", "at most"),
    (["model.series.epochs=100000000000000000000"], "model.series.epochs=", "at most"),
    (["dataset.series_length=1000000000"], "dataset.series_length=", "at most"),
    (["model.series.lstm_units=[8,1000000000]"], "model.series.lstm_units=", "at most"),
    (["seed=4294967296"], "seed=4294967296", "0..4294967295"),
    (["dataset.seed=99999999999"], "dataset.seed=", "0..4294967295"),
    (["model.series.time_shift=12"], "model.series.time_shift=12", "below the series length (12"),
    (["+model.text.epoch=5"], "model.text.epoch", "not a key of model.text"),
    (["+fusion.weight=2"], "fusion.weight", "not a key of fusion"),
    (["+extra=1"], "extra", "not a key of the top level"),
    (["memory_budget_gb=inf"], "memory_budget_gb=inf", "finite"),
]


CLI_VALUES = [BAD_VALUES[i] for i in (0, 2, 8, 10, 11)]  # one of each family through the CLI (2 s each)


@pytest.mark.parametrize("overrides, key, words", BAD_VALUES, ids=[" ".join(o) for o, _, _ in BAD_VALUES])
def test_the_check_names_a_value_out_of_bounds(overrides, key, words):
    from mmfusion.config import precheck
    from mmfusion.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        precheck([*SHRINK, *overrides])
    assert str(err.value).startswith(key) and words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("overrides, key, words", CLI_VALUES, ids=[" ".join(o) for o, _, _ in CLI_VALUES])
def test_train_stops_a_value_out_of_bounds_before_any_work(tmp_path, overrides, key, words):
    res = run_cli("train", *SHRINK, *overrides, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, timeout=120)
    line = assert_one_line(res, "train", key, words)
    assert line.startswith(f"mmfusion train: error: {key}")
    assert not (tmp_path / "run").exists() and not (tmp_path / "outputs").exists()


def test_a_window_past_the_series_end_is_refused(tmp_path):
    res = run_cli(
        "data",
        "build",
        "dataset=factory",
        "dataset.series.window.start=1000",
        cwd=tmp_path,
        timeout=120,
        env={"MMFUSION_CACHE": str(tmp_path / "cache")},
    )
    assert_one_line(res, "data", "dataset.series.window.start=1000", "inside the series")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "out of disk space writing"), (errno.EROFS, "read-only")])
def test_train_into_a_full_or_read_only_disk(tmp_path, code, words):
    run = tmp_path / "run"
    res = injected(f"{run}/.hydra", code, "train", *SHRINK, f"hydra.run.dir={run}", cwd=tmp_path)
    assert_one_line(res, "train", words, str(run / ".hydra"))
    assert not (run / MARKER).exists() and not (run / ".mmfusion.lock").exists()


# --- the readers themselves: no pickles, no unsafe YAML, no unsafe Keras -------------------------------


def test_no_code_path_loads_pickles_unsafe_yaml_or_unsafe_keras_objects():
    root = Path(mmfusion.__file__).parent
    unsafe = ("allow_pickle=True", "safe_mode=False", "yaml.load(", "yaml.unsafe_load", "pickle.load", "UnsafeLoader")
    found = [f"{p.relative_to(root)}: {word}" for p in root.rglob("*.py") for word in unsafe if word in p.read_text()]
    assert not found
    for p in root.rglob("*.py"):
        text = p.read_text()
        if "np.load(" in text:  # every np.load says allow_pickle=False
            assert text.count("np.load(") <= text.count("allow_pickle=False"), p
        if "load_model(" in text and "keras.models.load_model" in text:
            assert "safe_mode=True" in text, p


def test_a_damaged_checkpoint_is_set_aside_for_the_previous_one(tmp_path, caplog):
    from mmfusion.models import checkpoint

    d = tmp_path / "ckpt"
    d.mkdir()

    def commit(epoch: int, previous: dict | None) -> dict:
        name = f"epoch-{epoch:04d}.weights.h5"
        (d / name).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(200 + epoch))
        state = {"epoch": epoch, "weights": name, "finished": False, "history": {"loss": [1.0] * epoch}}
        state["files"] = {name: {"bytes": (d / name).stat().st_size, "sha256": sha256(d / name)}}
        if previous:
            (d / checkpoint.PREVIOUS).write_text(json.dumps(previous))
        (d / checkpoint.METADATA).write_text(json.dumps(state))
        return state

    commit(2, commit(1, None))
    assert checkpoint.read_state(d)["epoch"] == 2
    _truncate(d / "epoch-0002.weights.h5")
    assert checkpoint.read_state(d)["epoch"] == 1  # the previous checkpoint
    assert (d / "epoch-0002.weights.h5.damaged").exists() and "resuming after epoch 1" in caplog.text
    assert checkpoint.read_state(d)["epoch"] == 1  # the same answer when asked again
    _truncate(d / "epoch-0001.weights.h5")
    assert checkpoint.read_state(d) is None and "training starts over" in caplog.text
    assert (d / "epoch-0001.weights.h5.damaged").exists() and not (d / checkpoint.METADATA).exists()


def _tiny_data():
    return np.random.default_rng(0).normal(size=(16, 3)).astype("float32"), np.arange(16) % 2


def _tiny_network(dropout: bool = False):
    """The seeded network of the checkpoint tests: a softmax layer, or with `dropout` a hidden layer,
    dropout and logits."""
    import keras

    keras.utils.set_random_seed(0)
    if dropout:
        layers = [keras.Input((3,)), keras.layers.Dense(8), keras.layers.Dropout(0.5), keras.layers.Dense(2)]
        net = keras.Sequential(layers)
        net.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return net
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return net


def _stop_after(last_epoch: int):
    """A callback that ends training after epoch `last_epoch` (counted from 0) and its checkpoint: a kill."""
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == last_epoch:
                self.model.stop_training = True

    return Stop()


def test_training_resumes_from_the_checkpoint_before_a_damaged_one(tmp_path, caplog):
    from mmfusion.models.checkpoint import METADATA, EpochCheckpoint

    x, y = _tiny_data()

    def fit(epochs: int) -> EpochCheckpoint:
        net = _tiny_network()
        ckpt = EpochCheckpoint(tmp_path / "ckpt", "tiny")
        net.fit(x, y, epochs=epochs, batch_size=8, verbose=0, callbacks=[ckpt])
        return ckpt

    net = _tiny_network()
    ckpt = EpochCheckpoint(tmp_path / "ckpt", "tiny")
    ckpt.on_train_end = lambda logs=None: None  # killed: never marked finished
    net.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[ckpt, _stop_after(2)])
    state = json.loads((tmp_path / "ckpt" / METADATA).read_text())
    assert state["epoch"] == 3 and not state["finished"]
    _truncate(tmp_path / "ckpt" / state["weights"])
    resumed = fit(5)
    assert resumed.restored_epoch == 2 and "resuming after epoch 2 from the previous checkpoint" in caplog.text
    assert len(resumed.history["loss"]) == 5 and list((tmp_path / "ckpt").glob("*.damaged"))


def test_a_checkpoint_of_an_earlier_version_still_resumes(tmp_path):
    """Earlier versions saved Keras' `.weights.h5`; the checkpoint now holds the variables as one .npz. A run
    interrupted under the old format resumes from it, with its weights and optimizer state."""
    import keras

    from mmfusion.models.checkpoint import METADATA, EpochCheckpoint

    x, y = _tiny_data()
    net = _tiny_network()
    net.fit(x, y, epochs=2, batch_size=8, verbose=0)
    d = tmp_path / "ckpt"
    d.mkdir()
    net.save_weights(d / "epoch-0002.weights.h5")  # what an earlier version wrote after epoch 2
    state = {"epoch": 2, "batch": 0, "weights": "epoch-0002.weights.h5", "finished": False, "history": {"loss": [1, 1]}}
    state["files"] = {
        state["weights"]: {"bytes": (d / state["weights"]).stat().st_size, "sha256": sha256(d / state["weights"])}
    }
    (d / METADATA).write_text(json.dumps(state))
    resumed = _tiny_network()
    ckpt = EpochCheckpoint(d, "tiny")
    seen = []

    class Weights(keras.callbacks.Callback):  # the weights the resumed training starts from
        def on_epoch_begin(self, epoch, logs=None):
            seen.append((epoch, [w.copy() for w in self.model.get_weights()], int(self.model.optimizer.iterations)))

    resumed.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[ckpt, Weights()])
    assert ckpt.restored_epoch == 2 and seen[0][0] == 2 and seen[0][2] == int(net.optimizer.iterations) == 4
    for got, want in zip(seen[0][1], net.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert json.loads((d / METADATA).read_text())["weights"].endswith(".npz")  # the next checkpoint: the new format


def test_a_resumed_run_with_dropout_matches_an_uninterrupted_one(tmp_path):
    """The checkpoint holds the layers' seed states (dropout's random stream) as well as the weights and the
    optimizer's state; Keras' `.weights.h5` did not, so a resumed run with dropout drew other masks."""
    from mmfusion.models.checkpoint import EpochCheckpoint

    x, y = _tiny_data()
    whole = _tiny_network(dropout=True)
    whole.fit(x, y, epochs=4, batch_size=8, verbose=0, shuffle=False)
    first = EpochCheckpoint(tmp_path, "tiny")
    first.on_train_end = lambda logs=None: None  # never marked finished
    _tiny_network(dropout=True).fit(
        x, y, epochs=4, batch_size=8, verbose=0, shuffle=False, callbacks=[first, _stop_after(1)]
    )
    again, second = _tiny_network(dropout=True), EpochCheckpoint(tmp_path, "tiny")
    again.fit(x, y, epochs=4, batch_size=8, verbose=0, shuffle=False, callbacks=[second])
    assert second.restored_epoch == 2
    for got, want in zip(again.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(got, want)
