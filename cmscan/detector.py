"""The key grammar: where in a buffer of raw bytes a CrossModel key starts.

A candidate is ``cm-`` and a maximal body of ``min_body`` to ``max_body`` characters of
``[A-Za-z0-9_-]``. In text, the byte before ``cm-`` must not be one of those characters (so
``x-cm-…`` and base64 runs are not candidates); in binary content it may be anything,
because packed string tables put a length byte or another string right before a key. A
candidate is a key only if its body looks random (:mod:`cmscan.randomness`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from cmscan.base64keys import TRIGGERS, decode_window
from cmscan.grammar import KEY_BYTES, MAX_BODY, MIN_BODY
from cmscan.randomness import RandomnessRules, looks_random

__all__ = ["KEY_BYTES", "MAX_BODY", "MIN_BODY", "Detector", "Match", "Rules", "is_binary"]
BINARY_SNIFF = 8000
"""Content with a NUL byte in its first 8,000 bytes is binary (git's rule)."""

_ESCAPE_WIDTH = 6
"""The longest escaped form of one key character: ``\\u002d`` (``%2D`` is 3)."""
# Longest span a candidate can need, counted from one byte before its start: the byte
# before, "cm" and an escaped "-", the longest body with every character escaped, and one
# escape more to prove the body is maximal.
MAX_SPAN = 1 + 2 + _ESCAPE_WIDTH * (MAX_BODY + 2)

LOOKBEHIND = 8
"""Bytes before a candidate that must stay readable: the byte before ``cm-``, or for base64
the rest of the trigger's group and the group before it."""

BASE64_LIMIT = 4 << 20
"""Base64 is decoded in the first 4 MiB of each text file, stream or blob: configs,
manifests, pages and most bundles whole. The three extra searches together cost about
as much as the main one (measured: +28% on an npm tree, where nearly every file is
small), so logs of many GB are not searched for base64 past their first 4 MiB (+3% on
1.8 GB)."""

ENCODINGS = {b"\\": "json-escape", b"%": "percent-encoding"}
"""How a key written with escapes is described in its finding."""

_SSH_DIR = b".ssh/"  # ~/.ssh/cm-%C: OpenSSH control sockets named by a hash


@dataclass(frozen=True)
class Rules:
    """What counts as a key. Configuration may tighten these, never loosen them."""

    min_body: int = MIN_BODY
    max_body: int = MAX_BODY
    randomness: RandomnessRules = field(default_factory=RandomnessRules)
    base64_bytes: int = BASE64_LIMIT
    """Base64 is decoded in this many first bytes of each input (see :data:`BASE64_LIMIT`)."""

    def __post_init__(self) -> None:
        if not MIN_BODY <= self.min_body <= self.max_body <= MAX_BODY:
            raise ValueError(
                f"body length limits must satisfy {MIN_BODY} <= min <= max <= {MAX_BODY}"
            )


@dataclass(frozen=True)
class Match:
    """A key at ``offset`` (of the ``c`` of ``cm-``) in the scanned bytes."""

    offset: int
    key: str = field(repr=False)
    length: int = 0
    """Bytes the key takes in the data (more than ``len(key)`` when escaped)."""
    encoding: str | None = None
    """``json-escape`` (``cm\\u002d…``) or ``percent-encoding`` (``cm%2D…``) if escaped."""


def is_binary(data: bytes | bytearray | memoryview, end: int | None = None, start: int = 0) -> bool:
    """Git's test: a NUL byte within the first 8,000 bytes of ``data[start:end]``."""
    limit = start + BINARY_SNIFF if end is None else min(end, start + BINARY_SNIFF)
    return data.find(b"\0", start, limit) != -1  # type: ignore[union-attr]


class Detector:
    """Finds keys in buffers. Stateless after construction; one per worker is plenty."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.base64_limit = self.rules.base64_bytes
        """Scanners decode base64 only in the first ``base64_limit`` bytes of each input."""
        # "cm-" followed by at least min_body key characters; the body itself is read with a
        # second bounded match so a megabyte-long token costs max_body + 1 steps, not more.
        # Escaped dashes (JSON/JS "\u002d", URL "%2D") share the "cm" prefix, which keeps
        # the regex engine's fast literal search.
        self._trigger = re.compile(
            rb"cm(?:-(?=[A-Za-z0-9_-]{%d})|\\u002[dD]|%%2[dD])" % self.rules.min_body
        )
        self._body = re.compile(rb"[A-Za-z0-9_-]{%d,%d}" % (self.rules.min_body, MAX_BODY + 1))
        # One literal search per encoded form: a single alternation would lose the regex
        # engine's fast literal scan and cost ten times more.
        self._encoded = [(re.compile(re.escape(literal)), place) for literal, place in TRIGGERS]

    def find(
        self,
        buf: bytes | bytearray,
        start: int,
        stop: int,
        end: int,
        *,
        binary: bool,
        base64: bool = False,
        low: int = 0,
    ) -> Iterator[Match]:
        """Yield keys that begin in ``buf[start:stop]``, reading no further than ``end``, in
        order of offset.

        ``buf[start - 1]`` must be valid whenever ``start > 0`` (the byte before a candidate
        decides whether it is one). A body that runs into ``end`` is taken to end there, so
        callers that stream must keep ``end - stop >= MAX_SPAN - 1`` until the last chunk.
        With ``base64``, text is also searched for base64-encoded keys, reading back to
        ``low`` (at most :data:`LOOKBEHIND` bytes before ``start`` are needed); such a
        match starts at the group of 4 characters that holds the key's ``c``.
        """
        plain = self._find_plain(buf, start, stop, end, binary)
        if binary or not base64:
            return plain
        encoded = list(self._find_base64(buf, start, stop, end, low))
        if not encoded:  # nearly always: no merging needed
            return plain
        return iter(sorted([*plain, *encoded], key=lambda match: match.offset))

    def _find_base64(
        self, buf: bytes | bytearray, start: int, stop: int, end: int, low: int
    ) -> Iterator[Match]:
        rules = self.rules
        for literal, place in self._encoded:
            for trigger in literal.finditer(buf, start, stop):
                window = decode_window(buf, trigger.start(), place, low, end)
                if window is None:
                    continue
                data, at = window.data, window.key_at
                if at > 0 and data[at - 1] in KEY_BYTES:
                    continue
                body = self._body.match(data, at + 3)
                if body is None or body.end() - body.start() > rules.max_body:
                    continue
                text = body.group().decode("ascii")
                if len(text) < rules.min_body or not looks_random(text, rules.randomness):
                    continue
                yield Match(window.group, "cm-" + text, window.span(body.end()), "base64")

    def _find_plain(
        self, buf: bytes | bytearray, start: int, stop: int, end: int, binary: bool
    ) -> Iterator[Match]:
        rules = self.rules
        for trigger in self._trigger.finditer(buf, start, end):
            offset = trigger.start()
            if offset >= stop:
                return
            if not binary and offset > 0 and buf[offset - 1] in KEY_BYTES:
                continue
            if trigger.end() - offset == 3:
                body = self._body.match(buf, offset + 3, end)
                if body is None:  # pragma: no cover - the lookahead guarantees a match
                    continue
                raw = body.group()
                if binary:  # a length-prefixed string ends where its length says
                    declared = _declared_body(buf, offset)
                    if declared is not None and rules.min_body <= declared < len(raw):
                        raw = raw[:declared]
                if len(raw) > rules.max_body:
                    continue
                text = raw.decode("ascii")
                length, encoding = 3 + len(text), None
            else:
                decoded = _unescape(buf, trigger.end(), end, buf[offset + 2 : offset + 3])
                if decoded is None:
                    continue
                text, consumed = decoded
                if not rules.min_body <= len(text) <= rules.max_body:
                    continue
                length = trigger.end() - offset + consumed
                encoding = ENCODINGS[bytes(buf[offset + 2 : offset + 3])]
            if not looks_random(text, rules.randomness):
                continue
            if offset >= len(_SSH_DIR) and buf[offset - len(_SSH_DIR) : offset] == _SSH_DIR:
                continue
            yield Match(offset, "cm-" + text, length, encoding)


_SHORT_STRING = frozenset(b"zZ\xfa\xda")
"""Python's marshal (``.pyc``): a short ASCII string's type byte (with or without the
reference flag), then one length byte, then the bytes, then the next object's type byte,
which may be a key character (``N`` for None)."""


def _declared_body(buf: bytes | bytearray, offset: int) -> int | None:
    """The body length that a length-prefixed string at ``offset`` declares, in the two
    layouts whose next byte can glue onto a key: marshal's short strings and a Java class
    file's ``CONSTANT_Utf8`` (tag 1, big-endian 2-byte length)."""
    if offset < 2:
        return None
    size = buf[offset - 1]
    if buf[offset - 2] in _SHORT_STRING or (
        offset >= 3 and buf[offset - 3 : offset - 1] == b"\x01\x00"
    ):
        return size - 3
    return None


_HEX = frozenset(b"0123456789abcdefABCDEF")
_PLAIN = re.compile(rb"[A-Za-z0-9_-]+")


def _unescape(
    buf: bytes | bytearray, at: int, end: int, mark: bytes | bytearray
) -> tuple[str, int] | None:
    """The key characters from ``at`` on, plain or escaped the way the trigger was (``\\u00XX``
    or ``%XX``), up to one more than the longest body; and how many bytes they took.

    ``None`` when the run is too long to be a key or is cut off by ``end`` mid-escape."""
    chars: list[str] = []
    count = 0
    position = at
    json = mark == b"\\"
    while position < end and count <= MAX_BODY:
        plain = _PLAIN.match(buf, position, min(end, position + MAX_BODY + 2 - count))
        if plain is not None and plain.end() > position:  # a run of plain key characters
            chars.append(plain.group().decode("ascii"))
            count += plain.end() - position
            position = plain.end()
            continue
        if json and buf[position : position + 4] == b"\\u00" and position + 6 <= end:
            digits = bytes(buf[position + 4 : position + 6])
            step = 6
        elif not json and buf[position] == 0x25 and position + 3 <= end:  # "%"
            digits = bytes(buf[position + 1 : position + 3])
            step = 3
        else:
            break
        if not all(digit in _HEX for digit in digits):
            break
        value = int(digits, 16)
        if value not in KEY_BYTES:
            break
        chars.append(chr(value))
        count += 1
        position += step
    if count > MAX_BODY:
        return None
    return "".join(chars), position - at
