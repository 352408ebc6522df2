"""Where a finding is, as a file to point at and in words: shared by the SARIF and GitHub formats.

A finding's ``path`` can name something inside a file: an archive member
(``outer.zip!inner/x.js``) or a source map's original source
(``dist/app.js.map!webpack://app/src/llm.ts``). Code scanning alerts and workflow
annotations can only point at a file of the repository, so such a finding points at the
outer file, and its line (a line of the member) is given in words only. Keys in commit or
tag messages, in blobs that no commit holds and on stdin are in no file at all.

Everything here works on the fields of the JSON report (a mapping), so that the GitHub
Action can describe a place from a SARIF result's properties exactly as the formats do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cmscan.advice import advise, place_of
from cmscan.formats import SEPARATOR
from cmscan.model import Finding, Report, Status

_SHORT_ID = 12

SEVERITY: dict[Status, str] = {
    "active": "error",
    "unknown": "error",
    "unverified": "error",
    "account_disabled": "warning",
    "inactive": "warning",
    "invalid": "note",
}
"""How loud a finding is, by its key's status: SARIF's levels (GitHub says ``notice``)."""


def summary_counts(report: Report) -> dict[str, Any]:
    """The totals every machine-readable format reports."""
    result = report.result
    return {
        "files": result.files,
        "bytes": result.bytes,
        "messages": result.messages,
        "findings": len(result.findings),
        "keys": len(result.keys),
        "by_status": report.by_status(),
    }


@dataclass(frozen=True)
class Target:
    """The file a finding points at."""

    file: str | None
    """The finding's path, or the outer file of a member; ``None`` when it is in no file."""
    member: str | None = None
    """The path inside ``file`` when the key is in an archive member or a source map's source."""

    @property
    def has_lines(self) -> bool:
        """Whether the finding's line and column are lines and columns of ``file``."""
        return self.file is not None and self.member is None


def target_of(path: str | None, source: str | None) -> Target:
    if path is None or source == "stdin":
        return Target(None)
    if source in {"archive", "file"}:
        outer, separator, inner = path.partition(SEPARATOR)
        # a plain file's name may hold a "!"; only a source map's is followed by a source
        if separator and (source == "archive" or outer.lower().endswith(".map")):
            return Target(outer, inner)
    return Target(path)


def finding_fields(finding: Finding) -> dict[str, Any]:
    """The fields of a finding that say where it is (as in the JSON report)."""
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "offset": finding.offset,
        "source": finding.source,
        "commit": finding.commit,
        "author": finding.author,
        "date": finding.date,
        "blob": finding.blob,
        "tag": finding.tag,
        "encoding": finding.encoding,
    }


def describe(fields: Mapping[str, Any]) -> str:
    """Where the key is, in words: ``web/app.js, line 3, column 14, added in commit …``."""
    path = fields.get("path")
    source = fields.get("source")
    commit = fields.get("commit")
    by = "".join(
        f" {word} {fields[name]}"
        for word, name in (("by", "author"), ("on", "date"))
        if fields.get(name)
    )
    target = target_of(path, source)
    if source == "stdin":
        where = "stdin"
    elif path is None:
        if fields.get("tag"):
            where = f"the message of tag {fields['tag']}"
            if commit:
                where += f" (pointing at commit {commit[:_SHORT_ID]})"
            where += by
        elif commit:
            where = f"the message of commit {commit[:_SHORT_ID]}{by}"
        elif fields.get("blob"):
            where = f"blob {fields['blob'][:_SHORT_ID]}, which no commit holds"
        else:
            where = "a message"
    elif target.member is not None:
        where = f"{target.member} in {target.file}"
    else:
        where = path
    line, column, offset = fields.get("line"), fields.get("column"), fields.get("offset")
    if line is not None:
        where += f", line {line}" + (f", column {column}" if column is not None else "")
    elif offset is not None:
        where += f", byte {offset} (binary content)"
    if fields.get("encoding"):
        where += f" ({fields['encoding']})"
    if commit and path is not None:
        where += f", added in commit {commit[:_SHORT_ID]}{by}"
    return where


def status_text(status: Status, balance_usd: float | None) -> str:
    """``active, balance $12.34``; ``unverified``."""
    text = status.replace("_", " ")
    if balance_usd is not None:
        text += f", balance ${balance_usd:,.2f}"
    return text


def headline(masked: str, status: Status, balance_usd: float | None) -> str:
    return f"CrossModel API key {masked} ({status_text(status, balance_usd)})"


def message(report: Report, finding: Finding) -> str:
    """A finding in a few lines: the key, its status and place, then what to do, in order."""
    verdict = report.verdict(finding.key)
    lines = [
        f"{headline(finding.key.masked, verdict.status, verdict.balance_usd)} "
        f"in {describe(finding_fields(finding))}."
    ]
    if verdict.reason:
        lines.append(f"Verification: {verdict.reason.rstrip('.')}.")
    lines.append("What to do:")
    steps = advise(verdict.status, [place_of(finding)])
    lines.extend(f"{number}. {step}" for number, step in enumerate(steps, 1))
    return "\n".join(lines)
