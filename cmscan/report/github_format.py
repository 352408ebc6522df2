"""GitHub workflow annotations: one ``::error`` (or ``::warning``, ``::notice``) line per finding.

A step's output is read line by line for workflow commands:
``::error file=web/app.js,line=3,col=14,title=…::message``. Values are escaped as the
runner unescapes them (actions/toolkit ``command.ts``): in the message ``%``, CR and LF;
in a property also ``:`` and ``,``. So a hostile path (a comma that would start another
property, a newline followed by another command) stays one harmless annotation.

Live or possibly live keys (``active``, ``unknown``, ``unverified``) are errors; keys that
cannot spend but should still be deleted (``inactive``, ``account_disabled``) warnings;
``invalid`` keys notices. The most urgent come first: GitHub shows only the first few
annotations of each kind per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cmscan.model import Finding, Report, Status
from cmscan.report.locations import SEVERITY, headline, message, target_of
from cmscan.walk import LINK_OUT_OF_TREE

LEVELS: dict[Status, str] = {
    status: "notice" if level == "note" else level for status, level in SEVERITY.items()
}
_MAX_SKIPPED_NAMED = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One workflow command; ``file``, ``line`` and ``col`` are left out when unknown."""

    level: str
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None

    def command(self) -> str:
        properties: list[tuple[str, str]] = []
        if self.file is not None:
            properties.append(("file", self.file))
            if self.line is not None:
                properties.append(("line", str(self.line)))
                if self.col is not None:
                    properties.append(("col", str(self.col)))
        properties.append(("title", self.title))
        joined = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
        return f"::{self.level} {joined}::{escape_data(self.message)}"


def render(report: Report, color: bool = False) -> str:
    lines = [
        annotation(report, finding).command()
        for _, findings in report.by_key()
        for finding in findings
    ]
    problems = [
        (item.path, item.reason)
        for item in report.result.skipped
        if item.reason != LINK_OUT_OF_TREE
    ]
    skipped = not_scanned(problems)
    if skipped is not None:
        lines.append(skipped.command())
    return "".join(line + "\n" for line in lines)


def not_scanned(problems: Sequence[tuple[str, str]]) -> Annotation | None:
    """One warning naming the paths (with reasons) that could not be scanned, if any."""
    if not problems:
        return None
    named = [f"{path}: {reason}" for path, reason in problems[:_MAX_SKIPPED_NAMED]]
    if len(problems) > _MAX_SKIPPED_NAMED:
        named.append(f"... and {len(problems) - _MAX_SKIPPED_NAMED} more")
    count = len(problems)
    heading = f"{count} path{'s' if count != 1 else ''} could not be scanned:"
    return Annotation("warning", "cmscan: not scanned", "\n".join([heading, *named]))


def annotation(report: Report, finding: Finding) -> Annotation:
    verdict = report.verdict(finding.key)
    target = target_of(finding.path, finding.source)
    has_lines = target.has_lines and finding.line is not None
    return Annotation(
        level=LEVELS[verdict.status],
        title=f"Leaked {headline(finding.key.masked, verdict.status, verdict.balance_usd)}",
        message=message(report, finding),
        file=target.file,
        line=finding.line if has_lines else None,
        col=finding.column if has_lines else None,
    )
