"""User-facing errors: one clear message, no traceback, non-zero exit.

Subclassing Hydra's CompactHydraException makes Hydra print only the message inside `mmfusion train`
(HYDRA_FULL_ERROR=1 still shows the traceback); the CLI prints the same for the other subcommands.
"""

from hydra.errors import CompactHydraException


class MmfusionError(CompactHydraException):
    """A problem with the user's input (file, column, config value) that the user can fix."""


class DataError(MmfusionError):
    """Bad or missing input data; the message names the file, column or record."""


class ConfigError(MmfusionError):
    """A config value that cannot work; the message names the key."""


class RunDirError(MmfusionError):
    """A run directory that lacks files or never finished."""
