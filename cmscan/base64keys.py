"""Keys hidden in base64: where ``cm-`` can show through an encoding, and a bounded decode.

Base64 turns 3 bytes into 4 characters, so ``cm-`` encodes three ways depending on where
the key starts in the encoded data: ``Y20t`` (at a multiple of 3), ``?NtL`` (one byte
after) or ``??jbS`` (two after). Each of those literals says where its 4-character group
starts, so the window around it can be decoded without finding where the base64 text
began; if the guess is wrong the decoded bytes are noise, and noise fails the key grammar
(20 or more bytes all drawn from 64 of 256 values: about 1 chance in 10^12).

The standard and URL-safe alphabets are both read. Only one window of at most
:data:`WINDOW` characters is decoded per trigger, so the work stays bounded.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from cmscan.grammar import MAX_BODY

TRIGGERS = ((b"Y20t", 0), (b"NtL", 2), (b"jbS", 3))
"""Each encoded form of ``cm-`` with the position of its first character in its group."""
_KEY_BYTE = {0: 0, 2: 1, 3: 2}
"""Where ``c`` lies among the 3 bytes a group decodes to, by the trigger's group position."""

WINDOW = 4 + 4 * ((2 + 3 + MAX_BODY + 1 + 2) // 3 + 1)
"""Characters decoded per trigger: the group before (for the byte before the key), and
enough groups for the longest key plus one byte to prove its body ends."""

_RUN = re.compile(rb"[A-Za-z0-9+/_-]*")
_URLSAFE = bytes.maketrans(b"-_", b"+/")
_B64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")


@dataclass(frozen=True)
class Window:
    """Decoded base64 around a trigger: ``data[key_at:]`` should start with ``cm-``."""

    data: bytes
    key_at: int
    origin: int
    """Offset in the scanned buffer of the first character decoded (a group start)."""
    group: int
    """Offset in the scanned buffer of the group that holds the key's ``c``."""

    def span(self, key_end: int) -> int:
        """Characters from :attr:`group` to the one holding byte ``key_end - 1``."""
        return self.origin + -(-8 * key_end // 6) - self.group


def decode_window(
    buf: bytes | bytearray, trigger_at: int, position: int, low: int, end: int
) -> Window | None:
    """Decode the base64 around a trigger found at ``buf[trigger_at]`` whose first character
    sits at ``position`` in its group, reading no further back than ``low`` or on than
    ``end``. ``None`` when the characters before the trigger in its group are not base64."""
    group = trigger_at - position
    if group < low:
        return None
    origin = group
    if group - 4 >= low and all(byte in _B64 for byte in buf[group - 4 : group]):
        origin = group - 4
    run = _RUN.match(buf, origin, min(end, origin + WINDOW))
    if run is None or run.end() <= trigger_at + 2:
        return None
    chars = run.group()
    if len(chars) % 4 == 1:  # a lone last character holds no whole byte
        chars = chars[:-1]
    chars = chars.translate(_URLSAFE) + b"=" * (-len(chars) % 4)
    try:
        data = binascii.a2b_base64(chars)
    except binascii.Error:  # pragma: no cover - only alphabet characters are passed
        return None
    key_at = (group - origin) // 4 * 3 + _KEY_BYTE[position]
    if data[key_at : key_at + 3] != b"cm-":
        return None
    return Window(data, key_at, origin, group)
