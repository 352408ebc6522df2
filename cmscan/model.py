"""What a scan produces: findings, files that could not be read, totals."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cmscan.keys import Key, scrub

if TYPE_CHECKING:
    from cmscan.stream import Hit

Source = Literal["file", "archive", "git", "staged", "stdin"]
Status = Literal["unverified", "active", "inactive", "invalid", "account_disabled", "unknown"]

STDIN_PATH = "-"


@dataclass(frozen=True)
class Finding:
    """One place where a key was found. ``key`` renders masked; see :class:`Key`."""

    key: Key
    path: str | None
    line: int | None
    column: int | None
    source: Source
    offset: int | None = None
    commit: str | None = None
    author: str | None = None
    date: str | None = None
    blob: str | None = None
    """For ``git`` and ``staged``: the blob (file content) the key is in."""
    tag: str | None = None
    """For a key in an annotated tag's message: the tag's name."""
    encoding: str | None = None
    """How the text holding the key was encoded, when it had to be decoded (``utf-16-le``)."""
    context: str | None = None
    """A short piece of the line around the key, every key in it masked (text only)."""

    def __post_init__(self) -> None:
        # A key in a file name, an author or a tag must not reach a report through them.
        for name in ("path", "author", "tag"):
            _scrub_field(self, name)

    @classmethod
    def of_hit(cls, hit: Hit, path: str | None, source: Source, **fields: Any) -> Finding:
        """The finding for a scanner's hit at ``path``; ``fields`` add to or override it."""
        values: dict[str, Any] = {
            "line": hit.line,
            "column": hit.column,
            "offset": hit.offset,
            "context": hit.context,
            "encoding": hit.encoding,
            **fields,
        }
        return cls(hit.key, path, source=source, **values)

    @property
    def sort_key(self) -> tuple[str, str, int, str]:
        return (self.date or "", self.path or "", self.offset or 0, self.commit or "")


@dataclass(frozen=True)
class Skipped:
    """Something that was not scanned, and why. Data, not an error: the scan goes on."""

    path: str
    reason: str

    def __post_init__(self) -> None:
        _scrub_field(self, "path")
        _scrub_field(self, "reason")


def _scrub_field(instance: object, name: str) -> None:
    """Mask any key in a text field of a frozen dataclass (reports show these as they are)."""
    value = getattr(instance, name)
    if value:
        object.__setattr__(instance, name, scrub(value))


@dataclass(frozen=True)
class Suppression:
    """Findings left out of a report on purpose, and baseline entries nothing matched."""

    allowlisted: int = 0
    """Findings of keys on the config's allowlist."""
    baselined: int = 0
    """Findings already in the baseline."""
    stale: tuple[tuple[str | None, str], ...] = ()
    """``(path, fingerprint)`` of baseline entries this scan did not find (fixed, or not
    scanned this time)."""


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]
    files: int
    bytes: int
    skipped: tuple[Skipped, ...]
    messages: int = 0
    """Commit and tag messages scanned (history)."""
    unit: str = "file"
    """What ``files`` counts: ``file``, or ``blob`` for history."""
    suppression: Suppression | None = None
    """What an allowlist or baseline took out (``None`` when neither was used)."""

    @property
    def keys(self) -> tuple[Key, ...]:
        """Each distinct key once, in order of first appearance."""
        return tuple(dict.fromkeys(finding.key for finding in self.findings))


@dataclass(frozen=True)
class Usage:
    """Recent spend on an active key, from the gateway's ``/usage`` (UTC windows)."""

    today_usd: float
    week_usd: float
    month_usd: float
    requests_today: int | None = None


@dataclass(frozen=True)
class Verdict:
    """What the gateway said about one key (``unverified`` when nobody asked)."""

    status: Status = "unverified"
    balance_usd: float | None = None
    usage: Usage | None = None
    reason: str | None = None
    """Why the status is ``unknown`` (or what else went wrong), for the report."""


UNVERIFIED = Verdict()

STATUS_ORDER: tuple[Status, ...] = (
    "active",
    "unknown",
    "unverified",
    "account_disabled",
    "inactive",
    "invalid",
)
"""Most urgent first: how keys are ordered in reports."""


@dataclass(frozen=True)
class Report:
    """A scan's result and the verdicts on its keys: everything a report format shows."""

    result: ScanResult
    version: str
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)

    def verdict(self, key: Key) -> Verdict:
        return self.verdicts.get(key.fingerprint, UNVERIFIED)

    def by_key(self) -> list[tuple[Key, list[Finding]]]:
        """Findings grouped by key, the most urgent status first, then in scan order."""
        groups: dict[Key, list[Finding]] = {}
        for finding in self.result.findings:
            groups.setdefault(finding.key, []).append(finding)
        order = {key: index for index, key in enumerate(groups)}
        return sorted(
            groups.items(),
            key=lambda item: (STATUS_ORDER.index(self.verdict(item[0]).status), order[item[0]]),
        )

    def by_status(self) -> dict[str, int]:
        """How many distinct keys have each status."""
        statuses = [self.verdict(key).status for key in self.result.keys]
        return {status: statuses.count(status) for status in STATUS_ORDER if status in statuses}
