"""Where a report goes: stdout, or a file replaced atomically (never left half-written).

Only a regular file (or a new one) is replaced: a device, FIFO or socket such as
``/dev/null`` or ``/dev/stdout`` is written to as it is, and a symbolic link is followed
so that the file it points at is replaced, not the link.
"""

from __future__ import annotations

import contextlib
import os
import stat
from typing import TextIO


def write_report(text: str, path: str | None, stdout: TextIO) -> None:
    if path is None or path == "-":
        stdout.write(text)
        stdout.flush()
        return
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    import tempfile

    directory = os.path.dirname(target)
    fd, temporary = tempfile.mkstemp(prefix=".cmscan-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
