"""Keys given on stdin to ``cmscan verify``: one a line, checked before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass

from cmscan.detector import Detector
from cmscan.keys import Key


@dataclass(frozen=True)
class KeyLines:
    keys: tuple[Key, ...]
    """Distinct keys, in the order first given."""
    rejected: tuple[int, ...]
    """Line numbers that hold something other than one key (never echoed, never sent)."""
    duplicates: int


def read_key_lines(data: bytes, detector: Detector | None = None) -> KeyLines:
    """Each non-blank line must be exactly one key (surrounding blanks and CR ignored)."""
    detector = detector or Detector()
    keys: dict[str, Key] = {}
    rejected: list[int] = []
    duplicates = 0
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.strip()
        if not line:
            continue
        matches = list(detector.find(line, 0, len(line), len(line), binary=False))
        if len(matches) != 1 or matches[0].offset != 0 or len(matches[0].key) != len(line):
            rejected.append(number)
            continue
        key = Key(matches[0].key)
        if key.fingerprint in keys:
            duplicates += 1
        else:
            keys[key.fingerprint] = key
    return KeyLines(tuple(keys.values()), tuple(rejected), duplicates)
