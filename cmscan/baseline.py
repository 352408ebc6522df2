"""Known findings: a baseline file, and the config's allowlist, taken out of a result.

A baseline holds a fingerprint and a path per entry and nothing else: no line numbers (they
move with every edit), no plaintext, no timestamps. Entries are sorted and unique, so the
file only changes when the set of known leaks does, and it diffs cleanly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from cmscan.errors import UsageError
from cmscan.model import Finding, ScanResult, Suppression

FORMAT_VERSION = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Entry:
    """One known leak: this key (by fingerprint) at this path (``None``: a message)."""

    path: str | None
    fingerprint: str

    @classmethod
    def of(cls, finding: Finding) -> Entry:
        return cls(finding.path, finding.key.fingerprint)

    def sort_key(self) -> tuple[str, str, str]:
        return ("" if self.path is None else "p", self.path or "", self.fingerprint)


def render_baseline(entries: Iterable[Entry]) -> str:
    unique = sorted(set(entries), key=Entry.sort_key)
    document = {
        "cmscan_baseline": FORMAT_VERSION,
        "findings": [{"fingerprint": e.fingerprint, "path": e.path} for e in unique],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def read_baseline(path: str) -> frozenset[Entry]:
    """The entries of a baseline file; :class:`UsageError` naming the file if it is wrong."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise UsageError(f"cannot read the baseline {path}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise UsageError(f"{path} is not a cmscan baseline: {error}") from None
    if not isinstance(document, Mapping) or document.get("cmscan_baseline") != FORMAT_VERSION:
        raise UsageError(f"{path} is not a cmscan baseline (version {FORMAT_VERSION})")
    items = document.get("findings")
    if not isinstance(items, list):
        raise UsageError(f"{path}: 'findings' must be a list")
    entries = []
    for number, item in enumerate(items, 1):
        fingerprint = item.get("fingerprint") if isinstance(item, Mapping) else None
        where = item.get("path") if isinstance(item, Mapping) else None
        if not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
            raise UsageError(f"{path}: entry {number}: 'fingerprint' must be 64 hex digits")
        if where is not None and not isinstance(where, str):
            raise UsageError(f"{path}: entry {number}: 'path' must be a string or null")
        entries.append(Entry(where, fingerprint))
    return frozenset(entries)


def suppress(
    result: ScanResult, allowlist: Collection[str], baseline: Collection[Entry] | None
) -> ScanResult:
    """``result`` without allowlisted keys and baselined findings; what was taken out, and
    the baseline entries that matched nothing (stale), are counted in its ``suppression``."""
    kept: list[Finding] = []
    allowlisted = baselined = 0
    matched: set[Entry] = set()
    for finding in result.findings:
        if finding.key.fingerprint in allowlist:
            allowlisted += 1
            continue
        entry = Entry.of(finding)
        if baseline is not None and entry in baseline:
            baselined += 1
            matched.add(entry)
            continue
        kept.append(finding)
    stale = () if baseline is None else tuple(sorted(set(baseline) - matched, key=Entry.sort_key))
    suppression = Suppression(
        allowlisted=allowlisted,
        baselined=baselined,
        stale=tuple((entry.path, entry.fingerprint) for entry in stale),
    )
    return replace(result, findings=tuple(kept), suppression=suppression)
