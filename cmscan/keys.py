"""The one place that knows how a key is fingerprinted and how it is shown.

A :class:`Key` renders as its masked form everywhere (``str``, ``repr``, f-strings, logging,
exception text); the plaintext is reachable only through :meth:`Key.reveal`, which the
gateway client calls to build the request the user asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from cmscan.base64keys import TRIGGERS, decode_window

PREFIX = "cm-"
ELLIPSIS = "\u2026"
_SHOWN = 4  # characters of the body shown at each end of a masked key
_MIN_MASKABLE = 3 * _SHOWN  # shorter bodies are masked completely

# Anything that could be a key, without the randomness test: used to scrub free text.
_ESCAPED_ELLIPSIS = {None: ELLIPSIS, "json-escape": "\\u2026", "percent-encoding": "%E2%80%A6"}
"""The masked form's ellipsis, written in each encoding a key is found in."""

_KEYLIKE = re.compile(r"cm-[A-Za-z0-9_-]{8,}")


def fingerprint(key: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 key: the identity used by baselines and reports."""
    import hashlib  # loads OpenSSL: only runs that find a key pay for it

    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def mask(key: str) -> str:
    """``cm-`` + first 4 + ``…`` + last 4 of the body; short bodies show nothing."""
    body = key[len(PREFIX) :] if key.startswith(PREFIX) else key
    if len(body) < _MIN_MASKABLE:
        return PREFIX + ELLIPSIS
    return f"{PREFIX}{body[:_SHOWN]}{ELLIPSIS}{body[-_SHOWN:]}"


def scrub(text: str) -> str:
    """Mask every key-shaped run in free text (messages, exception strings, log lines),
    written plainly or in base64."""
    text = _KEYLIKE.sub(lambda match: mask(match.group()), text)
    return _scrub_base64(text) if _ENCODED.search(text) else text


_ENCODED = re.compile("|".join(literal.decode() for literal, _ in TRIGGERS))
_PLACE = {literal.decode(): place for literal, place in TRIGGERS}
_KEYLIKE_BYTES = re.compile(rb"cm-[A-Za-z0-9_-]{8,}")


def _scrub_base64(text: str) -> str:
    raw = text.encode("ascii", "replace")  # one byte per character: offsets agree
    pieces: list[str] = []
    done = 0
    for trigger in _ENCODED.finditer(text):
        if trigger.start() < done:
            continue
        window = decode_window(raw, trigger.start(), _PLACE[trigger.group()], done, len(raw))
        if window is None:
            continue
        found = _KEYLIKE_BYTES.match(window.data, window.key_at)
        if found is None:
            continue
        pieces += [text[done : window.group], mask(found.group().decode("ascii"))]
        done = window.group + window.span(found.end())
    return "".join(pieces) + text[done:]


@dataclass(frozen=True, repr=False)
class Key:
    """A found key. Equality and hashing use the key itself; rendering never shows it."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The plaintext key, for the gateway request only."""
        return self._value

    @cached_property
    def masked(self) -> str:
        return mask(self._value)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self._value)

    def masked_as(self, encoding: str | None) -> str | None:
        """The masked form written the way the key was (plain, a JSON escape or
        percent-encoding), so text that held the key stays valid; ``None`` for an encoding
        the masked form cannot be written in (base64) without breaking the data."""
        ellipsis = _ESCAPED_ELLIPSIS.get(encoding)
        return None if ellipsis is None else self.masked.replace(ELLIPSIS, ellipsis)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Key({self.masked})"

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)
