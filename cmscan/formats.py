"""What a file is, from its first bytes: compressed streams and archives; their limits.

Light on purpose (no zipfile, tarfile or decompressor imports): every scanned file is
sniffed here, and only the few that turn out to be containers load the readers
(:mod:`cmscan.compressed`, :mod:`cmscan.archives`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cmscan.stream import Readable

SEPARATOR = "!"
"""Between a container and what is inside it: ``outer.zip!inner/path``."""
SNIFF = 512
"""Bytes needed to recognise any supported format (tar's magic sits at 257)."""
_TAR_MAGIC_AT = 257

_COMPRESSION_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def compression_of(head: bytes) -> str | None:
    """``gzip``, ``bzip2`` or ``xz`` when ``head`` (the first bytes) starts such a stream."""
    for magic, name in _COMPRESSION_MAGIC:
        if head.startswith(magic):
            return name
    return None


def archive_kind(head: bytes) -> str | None:
    """``zip`` or ``tar`` when ``head`` (at least :data:`SNIFF` bytes if there are) starts one."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar":
        return "tar"
    return None


@dataclass(frozen=True)
class ArchiveLimits:
    max_depth: int = 3
    """Archives inside archives, counting the outermost as 1."""
    max_total: int = 4 << 30
    """Decompressed bytes scanned per outermost archive."""
    max_ratio: int = 200
    """A zip member whose size is more than this many times its compressed size is a bomb."""
    max_nested_in_memory: int = 64 << 20
    """A zip inside an archive is read into memory (zip needs to seek) up to this size."""


class Peeked:
    """A reader whose first bytes were read ahead to sniff the format, replayed first."""

    def __init__(self, reader: Readable, size: int = SNIFF) -> None:
        self._reader = reader
        head = bytearray(size)
        view = memoryview(head)
        got = 0
        while got < size:
            count = reader.readinto(view[got:]) or 0
            if not count:
                break
            got += count
        self.head = bytes(head[:got])
        self._at = 0

    def readinto(self, target: memoryview, /) -> int:
        if self._at < len(self.head):
            count = min(len(target), len(self.head) - self._at)
            target[:count] = self.head[self._at : self._at + count]
            self._at += count
            return count
        return self._reader.readinto(target) or 0

    def read(self, size: int = -1) -> bytes:
        """For :mod:`tarfile`'s stream mode."""
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = self.readinto(view[got:])
            if not count:
                break
            got += count
        return bytes(buffer[:got])


def utf16_of(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``head`` is UTF-16 text: a byte-order mark, or
    (for mostly-ASCII text without one) a NUL in every other byte."""
    if head.startswith(b"\xff\xfe") and not head.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16-le"
    if head.startswith(b"\xfe\xff"):
        return "utf-16-be"
    if b"\x00" not in head:  # text without NULs (almost every file) is not UTF-16
        return None
    sample = head[: len(head) // 2 * 2]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= 0.9 * pairs and even_nuls <= 0.1 * pairs:
        return "utf-16-le"
    if even_nuls >= 0.9 * pairs and odd_nuls <= 0.1 * pairs:
        return "utf-16-be"
    return None
