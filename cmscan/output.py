"""Where a report goes: stdout, or a file replaced atomically (never left half-written)."""

from __future__ import annotations

import contextlib
import os
from typing import TextIO


def write_report(text: str, path: str | None, stdout: TextIO) -> None:
    if path is None or path == "-":
        stdout.write(text)
        stdout.flush()
        return
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".cmscan-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
