"""What a user sees on the console: no TensorFlow start-up noise (unless -v), the run-start and run-end
lines, the sweep summary, per-epoch progress lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, SHRINK, run_cli

TF_NOISE = re.compile(r"oneDNN|absl|cuda|computation placer|cpu_feature_guard|^[IWE]0000 ", re.I | re.M)


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "MMFUSION_VERBOSE")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One default `mmfusion train` run (tiny), as a user types it: its stdout, stderr and directory."""
    tmp = tmp_path_factory.mktemp("console")
    run_dir = tmp / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "mmfusion", "train", *SHRINK, f"hydra.run.dir={run_dir}"],
        cwd=tmp,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc, run_dir


def test_default_run_has_no_tensorflow_lines_on_stderr(tiny_run):
    proc, _ = tiny_run
    assert not TF_NOISE.search(proc.stderr), proc.stderr[:2000]


def _fake_tensorflow(tmp_path):
    """A package named tensorflow that writes to file descriptor 2 at import, as TensorFlow's C++ does."""
    pkg = tmp_path / "tensorflow"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("import os\nos.write(2, b'I0000 port.cc oneDNN custom operations are on\\n')\n")
    return tmp_path


@pytest.mark.parametrize("verbose", [False, True])
def test_quiet_import_silences_fd2_unless_verbose(tmp_path, verbose):
    code = textwrap.dedent(
        """
        import sys
        from mmfusion.runtime import quiet
        quiet.install()
        import tensorflow
        sys.stderr.write("python stderr still works\\n")
        import importlib.util; importlib.util.find_spec("tensorflow")
        """
    )
    env = _env(
        PYTHONPATH=f"{_fake_tensorflow(tmp_path)}{os.pathsep}{ROOT}", **({"MMFUSION_VERBOSE": "1"} if verbose else {})
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "python stderr still works" in proc.stderr
    assert ("oneDNN" in proc.stderr) == verbose


def test_find_spec_before_import_keeps_the_import_quiet(tmp_path):
    """Libraries ask importlib.util.find_spec('tensorflow') before anything imports it: still quiet."""
    code = "import importlib.util\nfrom mmfusion.runtime import quiet\nquiet.install()\n"
    code += "importlib.util.find_spec('tensorflow')\nimport tensorflow\n"
    env = _env(PYTHONPATH=f"{_fake_tensorflow(tmp_path)}{os.pathsep}{ROOT}")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "oneDNN" not in proc.stderr, proc.stderr


def test_verbose_flag_is_taken_before_the_command(tmp_path):
    proc = run_cli("-v", "--version", cwd=tmp_path, env=_env())
    assert proc.returncode == 0 and proc.stdout.startswith("mmfusion ")
    proc = run_cli("--verbose", "nope", cwd=tmp_path, env=_env())
    assert proc.returncode == 2 and "unknown command 'nope'" in proc.stderr
