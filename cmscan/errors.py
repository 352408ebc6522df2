"""The one error family. The CLI maps each kind to an exit code; nothing else exits."""

from __future__ import annotations


class CmscanError(Exception):
    """An expected failure with a message for the user (never containing a full key)."""

    exit_code = 3


class UsageError(CmscanError):
    """The command line, a path argument or a configuration value is wrong."""

    exit_code = 2


class ScanError(CmscanError):
    """A scan could not run at all (as opposed to one file that could not be read)."""

    exit_code = 3
