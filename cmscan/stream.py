"""Scan one byte stream in fixed memory: a reused buffer, refilled with an overlap.

Whatever the size of the input, the buffer is all that is held. Consecutive fills overlap
by :data:`cmscan.detector.MAX_SPAN` bytes and each candidate is examined by exactly one
fill, so a key that straddles a fill boundary is found once, at its true offset.

Line numbers are counted only when a key turns up: for seekable files the bytes before
it are read again (cheap, and only for files that hold keys); for pipes every fill is
counted as it passes. Columns are 1-based byte offsets within the line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

from cmscan.detector import LOOKBEHIND, MAX_SPAN, Detector, Match, is_binary
from cmscan.keys import Key, scrub

DEFAULT_BUFFER = 1 << 20
_REREAD_BLOCK = 1 << 20


class Readable(Protocol):
    def readinto(self, buffer: memoryview, /) -> int | None: ...


Reread = Callable[[int, int], bytes]
"""``reread(offset, length)``: bytes of the input again (a file's ``os.pread``)."""


CONTEXT = 40
"""Bytes of the line shown on each side of a key in a finding's context."""


@dataclass(frozen=True)
class Hit:
    key: Key
    offset: int
    line: int | None
    column: int | None
    context: str | None = None
    """A short piece of the line around the key, the key (and any other) masked."""
    encoding: str | None = None
    """How the key was escaped in the data (``json-escape``, ``percent-encoding``)."""


def context_of(
    buf: bytes | bytearray, offset: int, length: int, masked: str, low: int, high: int
) -> str:
    """Up to :data:`CONTEXT` bytes of the same line on each side of the ``length``-byte key
    at ``offset`` (looking no further than ``buf[low:high]``), every key in it masked."""
    start = max(offset - CONTEXT, low)
    cut = buf.rfind(b"\n", start, offset)
    if cut >= 0:
        start = cut + 1
    after = offset + length
    end = min(after + CONTEXT, high)
    cut = buf.find(b"\n", after, end)
    if cut >= 0:
        end = cut
    before = bytes(buf[start:offset]).decode("utf-8", "replace")
    rest = bytes(buf[after:end]).decode("utf-8", "replace")
    return _printable(scrub(before)) + masked + _printable(scrub(rest))


IGNORE_MARK = b"cmscan:ignore"
"""A line holding this (in a comment of any syntax) has its keys left out of reports."""
_IGNORE_REACH = 4096
"""How far along the line, on each side of a key, the mark is looked for."""


def ignored_inline(buf: bytes | bytearray, offset: int, length: int, low: int, high: int) -> bool:
    """Whether the line of the ``length``-byte key at ``offset`` carries :data:`IGNORE_MARK`
    within :data:`_IGNORE_REACH` bytes of the key (looking no further than ``buf[low:high]``)."""
    start = max(offset - _IGNORE_REACH, low)
    cut = buf.rfind(b"\n", start, offset)
    if cut >= 0:
        start = cut + 1
    end = min(offset + length + _IGNORE_REACH, high)
    cut = buf.find(b"\n", offset + length, end)
    if cut >= 0:
        end = cut
    return buf.find(IGNORE_MARK, start, end) >= 0


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text)


@dataclass(frozen=True)
class StreamScan:
    hits: tuple[Hit, ...]
    size: int
    binary: bool


_KEPT = max(LOOKBEHIND, _IGNORE_REACH)
"""Bytes kept before the next candidate across a refill: what the detector reads back, and
the stretch of line searched for an ignore mark."""
MIN_BUFFER = 4 * (MAX_SPAN + _KEPT)


def new_buffer(size: int = DEFAULT_BUFFER) -> bytearray:
    if size < MIN_BUFFER:
        raise ValueError(f"buffer must hold at least {MIN_BUFFER} bytes")
    return bytearray(size)


@dataclass(frozen=True)
class Fill:
    """One refill of the buffer: candidates that begin in ``buffer[start:stop]`` belong to
    it, and it may read up to ``end``."""

    base: int
    """Offset in the input of ``buffer[0]``."""
    start: int
    stop: int
    end: int
    keep: int | None
    """``buffer[:keep]`` is dropped before the next fill (``None``: this is the last)."""
    read: int
    """Bytes read from the input so far."""
    low: int = 0
    """The first byte of ``buffer`` that belongs to this input (an object scanned where it
    lies among others starts further in): nothing before it is read."""


def fills(
    reader: Readable, buffer: bytearray, on_read: Callable[[int], None] | None = None
) -> Iterator[Fill]:
    """Refill ``buffer`` from ``reader`` until it ends, keeping an overlap so that every
    candidate is examined by exactly one fill; the buffer holds a fill's bytes until the
    caller asks for the next one."""
    view = memoryview(buffer)
    capacity = len(buffer)
    try:
        filled = fill(reader, view, 0)
        read = filled
        if on_read is not None:
            on_read(filled)
        base = 0
        start = 0
        while True:
            if filled < capacity:
                yield Fill(base, start, filled, filled, None, read)
                return
            stop = filled - MAX_SPAN
            keep = stop - _KEPT  # the bytes before the next candidate stay readable
            yield Fill(base, start, stop, filled, keep, read)
            tail = filled - keep
            buffer[:tail] = buffer[keep:filled]  # a copy: the regions may overlap
            base += keep
            start = _KEPT
            skipped = _skip_hole(reader, buffer, tail, capacity)
            base += skipped
            got = fill(reader, view, tail)
            read += skipped + got
            if on_read is not None:
                on_read(skipped + got)
            filled = tail + got
    finally:
        view.release()


class Sparse(Protocol):
    """A reader that knows where its input is a hole (a sparse file's unwritten zeros)."""

    def hole(self) -> int:
        """How many bytes from the read position on are a hole (0 if none)."""

    def skip(self, count: int) -> None:
        """Move the read position ``count`` bytes on."""


def _skip_hole(reader: Readable, buffer: bytearray, tail: int, capacity: int) -> int:
    """Bytes of a long hole to jump over instead of reading them: only while the kept
    tail is zeros too, and leaving a buffer's worth of the hole to read on each side, so
    the buffer holds the same zeros either way and no offset changes meaning."""
    if not hasattr(reader, "hole") or buffer.count(0, 0, tail) != tail:
        return 0
    sparse = cast(Sparse, reader)
    ahead = sparse.hole()
    if ahead < 2 * capacity:
        return 0
    jump = ahead - capacity
    sparse.skip(jump)
    return jump


def matches(detector: Detector, buffer: bytearray, at: Fill, binary: bool) -> Iterator[Match]:
    """The keys of one fill that a report shows: base64 only in the first bytes of the
    input, none on a line marked ``cmscan:ignore``."""
    base64 = at.base + at.low < detector.base64_limit
    found = detector.find(
        buffer, at.start, at.stop, at.end, binary=binary, base64=base64, low=at.low
    )
    for match in found:
        if binary or not ignored_inline(buffer, match.offset, match.length, at.low, at.end):
            yield match


def scan_stream(
    reader: Readable,
    detector: Detector,
    buffer: bytearray,
    reread: Reread | None = None,
    on_read: Callable[[int], None] | None = None,
) -> StreamScan:
    """Scan everything ``reader`` yields; ``buffer`` is scratch space, reused as is.

    ``on_read(count)`` is told how many bytes each refill brought (for progress displays).
    """
    hits: list[Hit] = []
    binary = False
    lines: _LineCounter | None = None
    size = 0
    for index, at in enumerate(fills(reader, buffer, on_read)):
        if index == 0:
            binary = is_binary(buffer, at.end)
            lines = None if binary else _LineCounter(reread)
        for match in matches(detector, buffer, at, binary):
            line = column = None
            if lines is not None:
                line, column = lines.locate(buffer, at.base, match.offset)
            key = Key(match.key)
            context = None
            if not binary:
                context = context_of(buffer, match.offset, match.length, key.masked, 0, at.end)
            hits.append(Hit(key, at.base + match.offset, line, column, context, match.encoding))
        if lines is not None and at.keep is not None:
            lines.passing(buffer, at.base, at.keep)
        size = at.read
    return StreamScan(tuple(hits), size, binary)


def fill(reader: Readable, view: memoryview, position: int) -> int:
    """Read until ``view`` is full from ``position`` on, or the input ends."""
    total = 0
    capacity = len(view)
    while position < capacity:
        got = reader.readinto(view[position:])
        if not got:
            break
        position += got
        total += got
    return total


class _LineCounter:
    """Newlines seen so far, counted lazily up to the offset of the latest key."""

    def __init__(self, reread: Reread | None) -> None:
        self._reread = reread
        self._counted = 0  # input offset up to which newlines are counted
        self._newlines = 0
        self._last_newline = -1  # input offset of the last newline counted

    def passing(self, buffer: bytearray, base: int, upto: int) -> None:
        """``buffer[:upto]`` is about to be dropped: a pipe can't be read again, so count."""
        if self._reread is None:
            self._count(buffer, base, upto)

    def locate(self, buffer: bytearray, base: int, offset: int) -> tuple[int, int]:
        """1-based line and byte column of ``buffer[offset]``."""
        if self._counted < base and self._reread is not None:
            self._catch_up(base)
        self._count(buffer, base, offset)
        return self._newlines + 1, base + offset - self._last_newline

    def _count(self, data: bytes | bytearray, base: int, upto: int) -> None:
        low = max(self._counted - base, 0)
        if upto <= low:
            return
        self._newlines += data.count(b"\n", low, upto)
        last = data.rfind(b"\n", low, upto)
        if last >= 0:
            self._last_newline = base + last
        self._counted = base + upto

    def _catch_up(self, target: int) -> None:
        assert self._reread is not None
        while self._counted < target:
            block = self._reread(self._counted, min(_REREAD_BLOCK, target - self._counted))
            if not block:  # the file shrank under us: the count stays as far as it got
                return
            self._count(block, self._counted, len(block))
