"""TensorFlow without its start-up noise: the absl / oneDNN / CUDA lines its C++ side writes to stderr.

`install()` (called by the CLI before any command runs) quiets TensorFlow's logging through the
environment (TF_CPP_MIN_LOG_LEVEL, before TensorFlow is loaded) and puts a finder on `sys.meta_path`
so that, whenever and wherever `import tensorflow` first happens, the C-level stderr (file descriptor
2) points at /dev/null while the import runs: the lines the C++ runtime prints at load time (absl's
"All log messages before absl::InitializeLog()", oneDNN's notice, CUDA factory registrations, "computation
placer already registered") never reach the terminal. Python-level errors are unaffected: an import
that fails re-raises with its traceback after stderr is restored.

`mmfusion -v <command>` (or MMFUSION_VERBOSE=1) skips all of this and shows TensorFlow's own logs.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import logging
import os
import sys

VERBOSE_ENV = "MMFUSION_VERBOSE"
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR"}


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


@contextlib.contextmanager
def stderr_silenced():
    """File descriptor 2 redirected to /dev/null (what C++ code writes), Python's sys.stderr untouched."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real fd 2 (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietLoader(importlib.abc.Loader):
    """Wraps TensorFlow's own loader: runs its module code with fd 2 silenced."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        _remove_finder()  # once loaded, TensorFlow is never found again
        with stderr_silenced():
            self.loader.exec_module(module)
        _quiet_python_loggers()


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` through the path finder and hands back a silenced loader. It stays on
    `sys.meta_path` until the module is executed: `importlib.util.find_spec` (asked by libraries that
    only check whether TensorFlow is installed) finds without loading."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _QuietLoader(spec.loader)
        return spec


def _remove_finder() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _QuietFinder)]


def _quiet_python_loggers() -> None:
    """TensorFlow's and absl's Python loggers at ERROR (deprecation notes, 'retracing' warnings)."""
    for name in ("tensorflow", "absl", "h5py", "keras"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; without it there is nothing to quiet
        pass


def install() -> bool:
    """Quiet TensorFlow for this process (and, through the environment, its children) unless verbose;
    returns whether it did. Harmless when TensorFlow is already imported or never is."""
    if verbose():
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"  # mmfusion/__init__.py sets 3 by default
        return False
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "tensorflow" in sys.modules:
        _quiet_python_loggers()
    elif not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())
    return True
