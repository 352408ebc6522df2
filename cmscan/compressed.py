"""Compressed files (gzip, bzip2, xz), recognised by their first bytes and read as streams.

A rotated log such as ``access.log.3.gz`` is decompressed on the fly into the scanner's
fixed buffer: nothing is written anywhere, memory does not grow with the file, and line
numbers are those of the decompressed text. Output is produced in bounded steps
(``max_length``), so a small file that expands enormously never floods memory, and a
file that expands more than :data:`MAX_RATIO` times is cut off there (a decompression bomb).
A stream that is corrupt or cut short ends the scan of that file where the good data ends;
what was found until then is kept and the problem is reported.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any, BinaryIO

from cmscan.formats import compression_of

MAX_RATIO = 1000
"""Decompressed bytes per compressed byte beyond which reading stops (logs reach ~20)."""
_RATIO_GRACE = 1 << 20
"""Below this much output the ratio is not checked (tiny files compress oddly)."""
_INPUT_BLOCK = 256 << 10


def _new(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class DecompressingReader:
    """``readinto`` over the decompressed content of ``raw`` (all members of a multi-member
    gzip or bzip2 file, one after the other). Reading stops early on a problem, which is
    kept in :attr:`problem`: the scanner keeps what it found, ``redact`` refuses the file."""

    def __init__(self, raw: BinaryIO, kind: str) -> None:
        self._raw = raw
        self._kind = kind
        self._decompressor = _new(kind)
        self._input = b""  # compressed bytes not yet given to the decompressor
        self._raw_done = False
        self.consumed = 0
        self.produced = 0
        self.problem: str | None = None
        """Why reading stopped early (corrupt, cut short, too large, other bytes after the
        end), or ``None``."""

    @property
    def note(self) -> str | None:
        """The problem as a scan reports it."""
        if self.problem is None:
            return None
        return f"{self.problem}: scanned the {self.produced:,} bytes before it"

    def readinto(self, target: memoryview, /) -> int:
        while self.problem is None:
            data = self._step(len(target))
            if data is None:
                return 0
            if data:
                target[: len(data)] = data
                self.produced += len(data)
                if self.produced > _RATIO_GRACE and self.produced > MAX_RATIO * max(
                    self.consumed, 1
                ):
                    self.problem = f"{self._kind} data expands more than {MAX_RATIO}x"
                return len(data)
        return 0

    def _step(self, limit: int) -> bytes | None:
        """Up to ``limit`` decompressed bytes; ``b""`` to try again; ``None`` at the end."""
        decompressor = self._decompressor
        if decompressor.eof:
            rest = decompressor.unused_data + self._input
            self._input = b""
            if not rest:
                rest = self._read()
            if not rest:
                return None
            if compression_of(rest) != self._kind:
                self.problem = f"other bytes follow the end of the {self._kind} data"
                return None
            self._decompressor = decompressor = _new(self._kind)
            self._input = rest
        if not self._input and self._needs_input():
            self._input = self._read()
            if not self._input:
                self.problem = f"{self._kind} data is cut short"
                return None
        try:
            data = self._decompress(limit)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as error:
            self.problem = f"corrupt {self._kind} data ({error})"
            return None
        return data

    def _needs_input(self) -> bool:
        decompressor = self._decompressor
        if isinstance(decompressor, (bz2.BZ2Decompressor, lzma.LZMADecompressor)):
            return decompressor.needs_input
        return not decompressor.unconsumed_tail

    def _decompress(self, limit: int) -> bytes:
        decompressor = self._decompressor
        if isinstance(decompressor, (bz2.BZ2Decompressor, lzma.LZMADecompressor)):
            data = decompressor.decompress(self._input, max_length=limit)
            self._input = b""
            return data
        data = decompressor.decompress(decompressor.unconsumed_tail or self._input, limit)
        self._input = b""
        return data

    def _read(self) -> bytes:
        if self._raw_done:
            return b""
        chunk = self._raw.read(_INPUT_BLOCK)
        if not chunk:
            self._raw_done = True
            return b""
        self.consumed += len(chunk)
        return chunk
