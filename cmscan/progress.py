"""A one-line progress display on stderr, for terminals only."""

from __future__ import annotations

import time
from typing import TextIO

_INTERVAL = 0.1


class TerminalProgress:
    """Files and bytes done, redrawn in place at most ten times a second."""

    def __init__(self, stream: TextIO, what: str = "scanned", unit: str = "files") -> None:
        self._stream = stream
        self._what = what
        self._unit = unit
        self._files = 0
        self._bytes = 0
        self._shown_at = 0.0
        self._drawn = False

    def advance(self, files: int, size: int) -> None:
        self._files += files
        self._bytes += size
        now = time.monotonic()
        if now - self._shown_at >= _INTERVAL:
            self._shown_at = now
            megabytes = self._bytes / 1e6
            shown = f"{self._what} {self._files:,} {self._unit}, {megabytes:,.1f} MB"
            self._stream.write(f"\r\033[K{shown}")
            self._stream.flush()
            self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()
