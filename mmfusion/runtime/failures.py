"""The one error path of every command: whatever stops a command ends in one line on stderr,
`mmfusion <command>: error: <what, naming the file or key, and what to do>`, and a non-zero exit.

- A user error (`MmfusionError`: a config value, a missing or damaged file, no disk space) exits 2.
- A file fault raised below the readers and writers (OSError, a damaged .npz / JSON / YAML) is put in
  the same words (`mmfusion.errors.describe`) and exits 2.
- Anything else is a bug: one line saying so, exit 1.
`mmfusion --debug <command> ...` or MMFUSION_DEBUG=1 prints the traceback first (HYDRA_FULL_ERROR=1,
Hydra's own switch, does the same for `train`). `train` runs inside Hydra, which would print its own
traceback: `prepare` asks Hydra to pass exceptions on (HYDRA_FULL_ERROR) so they end here too.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

from mmfusion.errors import MmfusionError, describe, is_file_fault

DEBUG_FLAG = "--debug"
DEBUG_ENV = "MMFUSION_DEBUG"
_USER_WANTS_HYDRA_TRACEBACK = "HYDRA_FULL_ERROR" in os.environ


def debug() -> bool:
    value = os.environ.get(DEBUG_ENV, "").strip().lower()
    return value not in ("", "0", "false", "no", "off") or _USER_WANTS_HYDRA_TRACEBACK


def take_debug_flag(argv: list[str], others=("-v", "--verbose")) -> list[str]:
    """`mmfusion [-v] --debug <command> ...`: switch tracebacks on and drop the flag (among the flags
    before the command)."""
    n = 0
    while n < len(argv) and argv[n] in (DEBUG_FLAG, *others):
        n += 1
    if DEBUG_FLAG in argv[:n]:
        os.environ[DEBUG_ENV] = "1"
        return [a for a in argv[:n] if a != DEBUG_FLAG] + argv[n:]
    return argv


def prepare(command: str) -> None:
    """Before dispatch: exceptions raised inside Hydra's job (`train`) come back to the CLI unprinted."""
    global _USER_WANTS_HYDRA_TRACEBACK
    if command == "train":
        _USER_WANTS_HYDRA_TRACEBACK = _USER_WANTS_HYDRA_TRACEBACK or "HYDRA_FULL_ERROR" in os.environ
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")
        _quiet_failed_jobs()


def _quiet_failed_jobs() -> None:
    """Hydra writes `Error executing job with overrides: [...]` before re-raising a job's exception; the
    one line printed here says what failed, so that second line is dropped (the exception is unchanged)."""
    try:
        from hydra.core.utils import JobReturn, JobStatus
    except ImportError:  # pragma: no cover - Hydra is a dependency
        return
    prop = JobReturn.__dict__.get("return_value")
    if not isinstance(prop, property) or getattr(prop.fget, "_mmfusion", False):
        return

    def return_value(self):
        if self.status == JobStatus.FAILED:
            raise self._return_value
        return prop.fget(self)

    return_value._mmfusion = True
    JobReturn.return_value = property(return_value, prop.fset)


def message(err: BaseException) -> str:
    """The one line for an exception (without the `mmfusion <command>: error:` prefix)."""
    if isinstance(err, MmfusionError):  # its own words, kept whole on one line
        return " ".join(ln.strip() for ln in str(err).splitlines() if ln.strip()) or type(err).__name__
    cause = err
    while not isinstance(cause, MmfusionError) and cause.__cause__ is not None:
        cause = cause.__cause__  # Hydra wraps a job's exception
    if isinstance(cause, MmfusionError):
        return message(cause)
    if is_file_fault(err):
        name = getattr(err, "filename", None) or "a file"
        if isinstance(err, OSError) and err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, None):
            return f"{name}: {err.strerror}; check the path and its permissions, then rerun"
        return describe(name, err, writing=isinstance(err, OSError))
    if type(err).__module__.split(".")[0] in ("hydra", "omegaconf"):  # raised while composing
        from mmfusion.schemas.check.messages import composition_message

        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        return composition_message(err) or (lines[0] if lines else type(err).__name__)
    text = str(err).strip().splitlines()
    return (
        f"unexpected {type(err).__name__}: {text[0] if text else ''} (a bug in mmfusion: rerun with "
        f"`mmfusion --debug ...` to see the traceback, and report it)"
    )


def exit_status(err: BaseException) -> int:
    cause = err
    while not isinstance(cause, MmfusionError) and cause.__cause__ is not None:
        cause = cause.__cause__
    known = isinstance(cause, MmfusionError) or is_file_fault(err)
    known = known or type(err).__module__.split(".")[0] in ("hydra", "omegaconf")
    return 2 if known else 1


def handle_failure(command: str, err: BaseException) -> int:
    """Print the one line (after the traceback with --debug) and return the exit status."""
    sys.stdout.flush()
    if debug():
        traceback.print_exception(err, file=sys.stderr)
    print(f"mmfusion {command}: error: {message(err)}", file=sys.stderr, flush=True)
    return exit_status(err)
