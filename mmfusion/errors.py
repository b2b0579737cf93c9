"""User-facing errors: one clear message, no traceback, non-zero exit.

Subclassing Hydra's CompactHydraException makes Hydra print only the message inside `mmfusion train`
(HYDRA_FULL_ERROR=1 still shows the traceback); the CLI prints the same for the other subcommands.
"""

import errno
from contextlib import contextmanager

from hydra.errors import CompactHydraException


class MmfusionError(CompactHydraException):
    """A problem with the user's input (file, column, config value) that the user can fix."""


class DataError(MmfusionError):
    """Bad or missing input data; the message names the file, column or record."""


class ConfigError(MmfusionError):
    """A config value that cannot work; the message names the key."""


class RunDirError(MmfusionError):
    """A run directory that lacks files or never finished."""


class FileError(MmfusionError):
    """A file or folder that cannot be read or written (no space, read-only, damaged, not the expected
    format); the message names it and says what to do (mmfusion.runtime.failures builds it)."""


# --- what a failed read or write means, in one line naming the file ---------------------------------

_WRITE_HINTS = {
    errno.ENOSPC: "out of disk space writing {path}; free some space (or choose another directory) and rerun",
    errno.EDQUOT: "disk quota exceeded writing {path}; free some space (or choose another directory) and rerun",
    errno.EROFS: "{path} is on a read-only file system; choose a writable destination",
    errno.EACCES: "{path} is not writable (permission denied); choose a writable destination or fix its permissions",
    errno.EPERM: "{path} is not writable (operation not permitted); choose a writable destination",
    errno.EISDIR: "{path} is a directory; give a file name",
    errno.ENOTDIR: "{path}: a part of the path is a file, not a directory; choose another destination",
    errno.ENOENT: "{path}: its folder does not exist (or vanished while writing); choose an existing destination",
    errno.EFBIG: "{path}: file too large for this file system; choose another directory",
}
_READ_HINTS = {
    errno.ENOENT: "{path}: no such file; the run directory was changed after the run, rerun it or restore the file",
    errno.EACCES: "{path} is not readable (permission denied); fix its permissions",
    errno.EPERM: "{path} is not readable (operation not permitted); fix its permissions",
    errno.EISDIR: "{path} is a directory, not a file; the run directory was changed, rerun it",
    errno.EIO: "{path}: input/output error reading it (a failing disk?); restore the file or rerun",
}
DAMAGED = "{path}: {what}; the file is damaged or was changed after mmfusion wrote it: rerun, or restore it"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def is_file_fault(err: BaseException) -> bool:
    """An exception that a damaged, unreadable or unwritable file raises (as opposed to a bug)."""
    import json
    import zipfile

    return isinstance(err, (OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError)) or (
        type(err).__module__.split(".")[0] == "yaml"
    )


def describe(path, err: BaseException, writing: bool = False) -> str:
    """One line: what went wrong with `path` and what to do (a read when writing=False)."""
    import json
    import zipfile

    path = str(path)
    if isinstance(err, MmfusionError):
        return str(err)
    if isinstance(err, OSError) and err.errno is not None:
        if err.errno == errno.ENOSPC:  # also met while reading: a write of a cache or temp file
            return _WRITE_HINTS[errno.ENOSPC].format(path=path)
        hints = _WRITE_HINTS if writing else _READ_HINTS
        if err.errno in hints:
            return hints[err.errno].format(path=path)
        if err.errno == errno.EROFS:
            return _WRITE_HINTS[errno.EROFS].format(path=path)
        verb = "writing" if writing else "reading"
        return f"{path}: {err.strerror or _first_line(err)} while {verb} it"
    if isinstance(err, zipfile.BadZipFile) or (isinstance(err, (OSError, EOFError)) and not writing):
        return DAMAGED.format(path=path, what=f"not a whole .npz/zip archive ({_first_line(err)})")
    if isinstance(err, json.JSONDecodeError):
        return DAMAGED.format(path=path, what=f"not valid JSON ({err.msg}, line {err.lineno})")
    if isinstance(err, UnicodeDecodeError):
        return DAMAGED.format(path=path, what="not UTF-8 text")
    if type(err).__module__.split(".")[0] == "yaml":
        tag = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f", line {tag + 1}" if tag is not None else ""
        if "python/" in str(err) or "constructor" in str(err):
            return (
                f"{path}: holds a YAML tag that is not plain data{where}; mmfusion reads plain YAML only "
                f"and never builds Python objects from it: remove the tag or rerun the run"
            )
        return DAMAGED.format(path=path, what=f"not valid YAML{where}")
    verb = "write" if writing else "read"
    return f"{path}: cannot {verb} it ({type(err).__name__}: {_first_line(err)})"


@contextmanager
def reading(path, what: str | None = None):
    """Any file fault while reading `path` becomes one FileError naming it."""
    try:
        yield
    except MmfusionError:
        raise
    except Exception as err:
        if not is_file_fault(err) and not isinstance(err, ValueError):
            raise
        text = describe(path, err)
        if isinstance(err, ValueError) and not is_file_fault(err):
            text = DAMAGED.format(path=path, what=f"{what or 'not readable'} ({_first_line(err)})")
        raise FileError(text) from err


@contextmanager
def writing(path):
    """An OSError while writing `path` becomes one FileError naming it (no space, read-only, ...)."""
    try:
        yield
    except MmfusionError:
        raise
    except OSError as err:
        raise FileError(describe(path, err, writing=True)) from err
