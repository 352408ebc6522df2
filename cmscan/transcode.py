"""UTF-16 text read as UTF-8, on the fly, so the byte-level detector sees its keys.

A key in a UTF-16 file (Windows tools, PowerShell transcripts, .NET configs, some logs) is
``c\\0m\\0-\\0…``: invisible to a byte scanner. The file is decoded incrementally in fixed
blocks and re-encoded as UTF-8 into the scanner's buffer; line numbers are those of the
text. Bytes that are not valid UTF-16 (an odd byte at the end, a lone surrogate) become
U+FFFD; the rest is still scanned.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, BinaryIO

from cmscan.formats import utf16_of

if TYPE_CHECKING:
    from cmscan.formats import Peeked
    from cmscan.stream import Readable

_INPUT_BLOCK = 256 << 10


class TranscodingReader:
    """``readinto`` over ``raw`` (``encoding``, e.g. ``utf-16-le``) as UTF-8 bytes."""

    def __init__(self, raw: BinaryIO, encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._done = False
        self._first = True
        self.encoding = encoding

    def readinto(self, target: memoryview, /) -> int:
        while not self._pending and not self._done:
            chunk = self._raw.read(_INPUT_BLOCK)
            text = self._decoder.decode(chunk, final=not chunk)
            if self._first and text.startswith("\ufeff"):
                text = text[1:]  # the byte-order mark is not content
            if text:
                self._first = False
            self._pending = text.encode("utf-8", "surrogatepass")
            self._done = not chunk
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def as_text(peeked: Peeked) -> tuple[Readable, str | None]:
    """``peeked`` as the detector should read it: transcoded when its first bytes say
    UTF-16 (and which), else as it is."""
    encoding = utf16_of(peeked.head)
    if encoding is None:
        return peeked, None
    return TranscodingReader(peeked, encoding), encoding  # type: ignore[arg-type]
