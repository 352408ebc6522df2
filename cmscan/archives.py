"""Archives scanned in place: the zip family (.zip .jar .apk .aab .ipa .whl .xpi) and tar
(plain or compressed), recognised by content, nested up to a depth, never extracted.

Members are streamed into the scanner's buffer one by one and reported as
``outer.zip!inner/path`` (nesting repeats ``!``). Limits keep hostile archives cheap: the
bytes decompressed per archive (:attr:`ArchiveLimits.max_total`) and each zip member's
expansion ratio are capped, and a nested zip (which must be seekable) is held in memory
only up to :attr:`ArchiveLimits.max_nested_in_memory`. What goes over a limit is skipped
with a reason; the rest of the archive is still scanned.
"""

from __future__ import annotations

import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cmscan.compressed import DecompressingReader
from cmscan.detector import Detector
from cmscan.formats import (
    SEPARATOR,
    ArchiveLimits,
    Peeked,
    archive_kind,
    compression_of,
)
from cmscan.model import Finding, Skipped
from cmscan.stream import Readable, scan_stream
from cmscan.transcode import as_text

_DECOMPRESSION_ERRORS = (zlib.error, lzma.LZMAError, EOFError, OSError, ValueError)
"""What reading a damaged member can raise: zip's deflate data fails with ``zlib.error``
and its xz data with ``LZMAError``, neither of which is an ``OSError``. The standard
library's archive readers raise still other errors on hostile input (``IndexError``,
``struct.error``, ``KeyError``, found by fuzzing): a whole archive that fails in any way
is reported as broken, with what was found in it until then, and the scan goes on."""


@dataclass
class _Budget:
    left: int


class ArchiveScanner:
    """Walks one outermost archive; yields findings and skipped members as it goes."""

    def __init__(self, detector: Detector, buffer: bytearray, limits: ArchiveLimits) -> None:
        self._detector = detector
        self._buffer = buffer
        self._limits = limits
        self.bytes = 0

    def scan(
        self, source: BinaryIO | Peeked, kind: str, path: str, depth: int = 1
    ) -> Iterator[Finding | Skipped]:
        budget = _Budget(self._limits.max_total)
        yield from self._archive(source, kind, path, depth, budget)

    def _archive(
        self, source: BinaryIO | Peeked, kind: str, path: str, depth: int, budget: _Budget
    ) -> Iterator[Finding | Skipped]:
        try:
            if kind == "zip":
                yield from self._zip(source, path, depth, budget)
            else:
                yield from self._tar(source, path, depth, budget)
        except Exception as error:  # hostile archives: see _DECOMPRESSION_ERRORS
            yield Skipped(
                path, f"broken {kind} archive ({_short(error)}): scanned what was readable"
            )

    def _zip(
        self, source: BinaryIO | Peeked, path: str, depth: int, budget: _Budget
    ) -> Iterator[Finding | Skipped]:
        with zipfile.ZipFile(source) as archive:  # type: ignore[arg-type]
            for info in archive.infolist():
                if info.filename.endswith("/"):  # a directory (is_dir() fails on "")
                    continue
                name = f"{path}{SEPARATOR}{info.filename or '(no name)'}"
                if info.file_size > budget.left:
                    yield Skipped(name, "over the archive's decompression limit")
                    continue
                ratio = info.file_size / max(info.compress_size, 1)
                if info.file_size > (1 << 20) and ratio > self._limits.max_ratio:
                    yield Skipped(name, f"expands {ratio:,.0f}x: a decompression bomb")
                    continue
                try:
                    with archive.open(info) as member:
                        yield from self._member(member, name, depth, budget)
                except (
                    zipfile.BadZipFile,
                    NotImplementedError,
                    RuntimeError,
                    *_DECOMPRESSION_ERRORS,
                ) as error:
                    yield Skipped(name, f"unreadable member ({_short(error)})")

    def _tar(
        self, source: BinaryIO | Peeked, path: str, depth: int, budget: _Budget
    ) -> Iterator[Finding | Skipped]:
        with tarfile.open(fileobj=source, mode="r|") as archive:  # type: ignore[arg-type]
            for member in archive:
                if not member.isfile():
                    continue
                name = f"{path}{SEPARATOR}{member.name}"
                if member.size > budget.left:
                    yield Skipped(name, "over the archive's decompression limit")
                    continue
                stream = archive.extractfile(member)
                if stream is not None:
                    yield from self._member(stream, name, depth, budget)

    def _member(
        self, stream: BinaryIO, name: str, depth: int, budget: _Budget
    ) -> Iterator[Finding | Skipped]:
        reader: Readable = stream  # type: ignore[assignment]
        peeked = Peeked(reader)
        compression = compression_of(peeked.head)
        decompressed: DecompressingReader | None = None
        if compression is not None:
            decompressed = DecompressingReader(peeked, compression)  # type: ignore[arg-type]
            peeked = Peeked(decompressed)
        kind = archive_kind(peeked.head)
        if kind is not None and depth < self._limits.max_depth:
            if kind == "zip":
                data = peeked.read(self._limits.max_nested_in_memory + 1)
                if len(data) > self._limits.max_nested_in_memory:
                    yield Skipped(name, "nested zip larger than the in-memory limit")
                    return
                budget.left -= len(data)
                yield from self._archive(io.BytesIO(data), "zip", name, depth + 1, budget)
            else:
                yield from self._archive(peeked, "tar", name, depth + 1, budget)
            return
        text, encoding = as_text(peeked)
        counted = _Counted(text, budget)
        scan = scan_stream(counted, self._detector, self._buffer)
        self.bytes += counted.count
        for hit in scan.hits:
            yield Finding.of_hit(hit, name, "archive", encoding=hit.encoding or encoding)
        if decompressed is not None and decompressed.note:
            yield Skipped(name, decompressed.note)
        if counted.over:
            yield Skipped(name, "stopped at the archive's decompression limit")


class _Counted:
    """Counts the bytes read and stops at the archive's remaining budget."""

    def __init__(self, reader: Readable, budget: _Budget) -> None:
        self._reader = reader
        self._budget = budget
        self.count = 0
        self.over = False

    def readinto(self, target: memoryview, /) -> int:
        if self._budget.left <= 0:
            self.over = True
            return 0
        got = self._reader.readinto(target[: self._budget.left]) or 0
        self._budget.left -= got
        self.count += got
        return got


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
