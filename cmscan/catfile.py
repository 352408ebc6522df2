"""Read ``git cat-file --batch`` output and scan each object's content in fixed memory.

The output is ``<oid> SP <type> SP <size> LF <content> LF`` per object (``<oid> SP missing
LF`` for one that is not there). It is read from the pipe into one buffer; an object that
fits is scanned where it lies, with no copy, and a larger one is streamed through
:func:`cmscan.stream.scan_stream` with a second fixed buffer. Either way memory does not
grow with the size of an object or the number of objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from cmscan.detector import Detector, is_binary
from cmscan.gitrepo import Repository
from cmscan.keys import Key
from cmscan.stream import Fill, Hit, context_of, matches, new_buffer, scan_stream

CAPACITY = 4 << 20
"""The read buffer; objects up to about this size are scanned in place."""
_MESSAGE_PEEK = 64 << 10
"""How much of a large commit or tag is searched for the end of its header."""


class TruncatedOutput(Exception):
    """git stopped writing in the middle of an object (it died, or the object is corrupt)."""


@dataclass(frozen=True)
class Header:
    oid: str
    type: str
    """``blob``, ``commit``, ``tag``, ``tree``, or ``missing``."""
    size: int


@dataclass(frozen=True)
class ObjectScan:
    header: Header
    hits: tuple[Hit, ...]
    binary: bool
    message_start: int | None
    """For commits and tags: the offset where the message begins (after the blank line)."""
    message_newlines: int
    """Newlines before the message: subtract from a hit's line to count within the message."""
    parents: int
    """For commits: how many ``parent`` lines the header has."""


class BatchReader:
    """Parses a ``cat-file --batch`` stream; :meth:`scan_next` scans one object at a time."""

    def __init__(self, stream: IO[bytes], detector: Detector, capacity: int = CAPACITY) -> None:
        self._stream = stream
        self._detector = detector
        self._buf = bytearray(capacity)
        self._view = memoryview(self._buf)
        self._pos = 0
        self._end = 0
        self._scratch: bytearray | None = None  # for objects too large to hold

    def objects(self) -> Iterator[ObjectScan]:
        """Every object until git closes the stream; :class:`TruncatedOutput` if cut short."""
        while True:
            header = self._header()
            if header is None:
                return
            yield self._scan(header)

    def _header(self) -> Header | None:
        while True:
            newline = self._buf.find(b"\n", self._pos, self._end)
            if newline >= 0:
                break
            if not self._more():
                if self._pos < self._end:
                    raise TruncatedOutput("output ends inside an object header")
                return None
        fields = bytes(self._buf[self._pos : newline]).split(b" ")
        self._pos = newline + 1
        if len(fields) == 2 and fields[1] == b"missing":
            return Header(fields[0].decode("ascii", "replace"), "missing", 0)
        if len(fields) != 3 or not fields[2].isdigit():
            raise TruncatedOutput("unexpected output from git cat-file")
        return Header(fields[0].decode("ascii"), fields[1].decode("ascii"), int(fields[2]))

    def _scan(self, header: Header) -> ObjectScan:
        if header.type == "missing":
            return ObjectScan(header, (), False, None, 0, 0)
        size = header.size
        if header.type == "tree":  # paths and oids only: nothing to find
            self._skip(size + 1)
            return ObjectScan(header, (), True, None, 0, 0)
        if size + 1 <= len(self._buf):
            self._want(size + 1)
            result = self._scan_in_place(header)
        else:
            result = self._scan_streamed(header)
        if self._end - self._pos < 1 and not self._more():
            raise TruncatedOutput("output ends inside an object")
        self._pos += 1  # the LF after the content
        return result

    def _scan_in_place(self, header: Header) -> ObjectScan:
        buf, start = self._buf, self._pos
        stop = start + header.size
        binary = is_binary(buf, stop, start)
        hits: list[Hit] = []
        newlines = 0
        counted = start
        last_newline = start - 1
        whole = Fill(-start, start, stop, stop, None, header.size, low=start)  # offsets: 0 at start
        for match in matches(self._detector, buf, whole, binary):
            key = Key(match.key)
            line = column = context = None
            if not binary:
                newlines += buf.count(b"\n", counted, match.offset)
                found = buf.rfind(b"\n", counted, match.offset)
                if found >= 0:
                    last_newline = found
                counted = match.offset
                line, column = newlines + 1, match.offset - last_newline
                context = context_of(buf, match.offset, match.length, key.masked, start, stop)
            hits.append(Hit(key, match.offset - start, line, column, context, match.encoding))
        layout = _message_layout(header, buf, start, stop)
        self._pos = stop
        return ObjectScan(header, tuple(hits), binary, *layout)

    def _scan_streamed(self, header: Header) -> ObjectScan:
        layout: tuple[int | None, int, int] = (None, 0, 0)
        if header.type in ("commit", "tag"):  # its header lies in the first bytes
            peek = min(_MESSAGE_PEEK, header.size, len(self._buf))
            self._want(peek)
            layout = _message_layout(header, self._buf, self._pos, self._pos + peek)
        if self._scratch is None:
            self._scratch = new_buffer()
        reader = _Limited(self, header.size)
        scan = scan_stream(reader, self._detector, self._scratch)
        if reader.remaining:
            raise TruncatedOutput("output ends inside an object")
        return ObjectScan(header, scan.hits, scan.binary, *layout)

    # -- buffer management

    def _more(self) -> bool:
        """Read more from the pipe, making room first; False at the end of the stream."""
        if self._pos > 0 and (self._end == len(self._buf) or self._pos == self._end):
            kept = self._end - self._pos
            self._buf[:kept] = self._buf[self._pos : self._end]
            self._pos, self._end = 0, kept
        if self._end == len(self._buf):
            raise TruncatedOutput("an object header longer than the buffer")
        got = self._stream.readinto(self._view[self._end :])
        if not got:
            return False
        self._end += got
        return True

    def _want(self, count: int) -> None:
        """Make ``count`` bytes from the current position available in the buffer."""
        if self._pos + count > len(self._buf):
            kept = self._end - self._pos
            self._buf[:kept] = self._buf[self._pos : self._end]
            self._pos, self._end = 0, kept
        while self._end - self._pos < count:
            got = self._stream.readinto(self._view[self._end :])
            if not got:
                raise TruncatedOutput("output ends inside an object")
            self._end += got

    def _skip(self, count: int) -> None:
        while count > 0:
            if self._pos == self._end and not self._more():
                raise TruncatedOutput("output ends inside an object")
            taken = min(count, self._end - self._pos)
            self._pos += taken
            count -= taken

    def _read_into(self, target: memoryview) -> int:
        """Bytes for a streamed object: what is buffered first, then straight from the pipe."""
        if self._pos < self._end:
            taken = min(len(target), self._end - self._pos)
            target[:taken] = self._view[self._pos : self._pos + taken]
            self._pos += taken
            return taken
        return self._stream.readinto(target) or 0


def _message_layout(
    header: Header, buf: bytearray, start: int, stop: int
) -> tuple[int | None, int, int]:
    """For a commit or tag in ``buf[start:stop]``: where its message starts (after the blank
    line), how many newlines precede it, and how many ``parent`` lines the header has."""
    if header.type not in ("commit", "tag"):
        return None, 0, 0
    head_end = buf.find(b"\n\n", start, stop)
    if head_end < 0:
        return None, 0, 0
    return (
        head_end + 2 - start,
        buf.count(b"\n", start, head_end + 2),
        buf.count(b"\nparent ", start, head_end),
    )


class _Limited:
    """The next ``size`` bytes of the batch stream, as a reader for :func:`scan_stream`."""

    def __init__(self, reader: BatchReader, size: int) -> None:
        self._reader = reader
        self.remaining = size

    def readinto(self, target: memoryview, /) -> int:
        if self.remaining <= 0:
            return 0
        got = self._reader._read_into(target[: self.remaining])
        self.remaining -= got
        return got


MAX_RESTARTS = 100
"""After this many failed ``cat-file`` runs, the objects still unread are given up together."""


@dataclass(frozen=True)
class Unreadable:
    """An object that git could not give us (missing, or its data is corrupt)."""

    oid: str
    reason: str


def scan_objects(
    repo: Repository, oids: Sequence[str], detector: Detector
) -> Iterator[ObjectScan | Unreadable]:
    """Scan the objects ``oids`` in that order through one long-lived ``cat-file --batch``.

    When git dies on a corrupt object, that object is reported unreadable and a new
    ``cat-file`` carries on after it, so one bad object never costs the rest.
    """
    index = restarts = 0
    while index < len(oids):
        lines = (oid.encode("ascii") for oid in oids[index:])
        problem = ""
        with repo.start(["cat-file", "--batch", "--buffer"], lines) as process:
            try:
                for scan in BatchReader(process.stdout, detector).objects():
                    oid = oids[index]
                    index += 1
                    if scan.header.type == "missing":
                        yield Unreadable(oid, "missing object")
                    else:
                        yield scan
            except TruncatedOutput as error:
                problem = str(error)
            code, message = process.finish()
        if index >= len(oids):
            break
        reason = f"unreadable object ({message if code else problem or message})"
        restarts += 1
        if restarts > MAX_RESTARTS:
            for oid in oids[index:]:
                yield Unreadable(oid, reason)
            break
        yield Unreadable(oids[index], reason)
        index += 1
