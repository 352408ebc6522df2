"""The report for people: one block per key with every place it was found and what to do."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from cmscan.advice import advise, place_of
from cmscan.keys import Key
from cmscan.model import Finding, Report, Status, Suppression, Verdict
from cmscan.walk import LINK_OUT_OF_TREE

_RESET = "\033[0m"
_STYLES: dict[Status, str] = {
    "active": "\033[1;31m",
    "unknown": "\033[1;33m",
    "unverified": "\033[1;33m",
    "account_disabled": "\033[2m",
    "inactive": "\033[2m",
    "invalid": "\033[2m",
}
_BOLD = "\033[1m"
_MAX_SKIPPED_SHOWN = 20
_WIDTH = 100


def render(report: Report, color: bool = False) -> str:
    def style(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    result = report.result
    groups = report.by_key()
    lines: list[str] = []
    for key, findings in groups:
        verdict = report.verdict(key)
        lines.extend(key_heading(key, verdict, style))
        count = len(findings)
        lines.append(f"  found in {count} place{'s' if count != 1 else ''}:")
        for finding in findings:
            lines.append(f"    {_location(finding)}")
            if finding.context:
                lines.append(f"      | {finding.context}")
        lines.append("  what to do:")
        steps = advise(verdict.status, [place_of(finding) for finding in findings])
        for number, step in enumerate(steps, 1):
            lines.extend(
                textwrap.wrap(
                    step, _WIDTH, initial_indent=f"    {number}. ", subsequent_indent="       "
                )
            )
        lines.append("")
    keys = len(groups)
    places = len(result.findings)
    if keys:
        lines.append(
            f"{keys} key{'s' if keys != 1 else ''} found in {places} "
            f"place{'s' if places != 1 else ''}."
        )
    else:
        lines.append("No CrossModel keys found.")
    scanned = _count(result.files, result.unit)
    if result.messages:
        scanned += f" and {_count(result.messages, 'commit and tag message')}"
    lines.append(f"Scanned {scanned} ({_size(result.bytes)}).")
    lines.extend(_suppressed(result.suppression))
    links = [item for item in result.skipped if item.reason == LINK_OUT_OF_TREE]
    problems = [item for item in result.skipped if item.reason != LINK_OUT_OF_TREE]
    if problems:
        lines.append(f"Skipped {len(problems)}:")
        lines.extend(f"  {item.path}: {item.reason}" for item in problems[:_MAX_SKIPPED_SHOWN])
        if len(problems) > _MAX_SKIPPED_SHOWN:
            hidden = len(problems) - _MAX_SKIPPED_SHOWN
            lines.append(f"  ... and {hidden} more (all are in --format json)")
    if links:
        lines.append(
            f"Not followed: {len(links)} symbolic link{'s' if len(links) != 1 else ''} to "
            "outside the scanned tree (listed in --format json)."
        )
    return "\n".join(lines) + "\n"


def key_heading(
    key: Key, verdict: Verdict, style: Callable[[str, str], str] = lambda text, code: text
) -> list[str]:
    """The lines that open a key's block: masked key, status and balance, fingerprint,
    then spend and why a verification did not decide."""
    label = verdict.status.upper().replace("_", " ")
    header = f"{style(key.masked, _BOLD)}  {style(label, _STYLES[verdict.status])}"
    if verdict.balance_usd is not None:
        header += f"  balance ${verdict.balance_usd:,.2f}"
    return [
        header,
        f"  fingerprint {key.fingerprint}",
        *(f"  {line}" for line in verdict_lines(verdict)),
    ]


def verdict_lines(verdict: Verdict) -> list[str]:
    """Spend on an active key, and why a verification did not decide."""
    lines = []
    usage = verdict.usage
    if usage is not None:
        spending = usage.today_usd > 0 or usage.week_usd > 0
        lines.append(
            f"spent today ${usage.today_usd:,.2f}, this week ${usage.week_usd:,.2f}, "
            f"this month ${usage.month_usd:,.2f}" + ("  <- someone is using it" if spending else "")
        )
    if verdict.reason:
        lines.append(f"verification: {verdict.reason}")
    return lines


def _count(number: int, unit: str) -> str:
    return f"{number:,} {unit}{'s' if number != 1 else ''}"


def _location(finding: Finding) -> str:
    if finding.source == "stdin":
        path = "stdin"
    elif finding.path is not None:
        path = finding.path
    elif finding.tag is not None:
        path = f"(message of tag {finding.tag})"
    elif finding.commit is not None:
        path = "(commit message)"
    elif finding.blob is not None:
        path = f"(blob {finding.blob[:12]}, in no commit)"
    else:
        path = "(message)"
    if finding.line is not None:
        where = f"{path}:{finding.line}:{finding.column}"
        if finding.encoding:
            where += f" ({finding.encoding})"
    elif finding.offset is not None:
        where = f"{path} (binary, byte {finding.offset})"
    else:
        where = path
    if finding.commit:
        where += f"  commit {finding.commit[:12]}"
        if finding.author:
            where += f" by {finding.author}"
        if finding.date:
            where += f" on {finding.date}"
    return where


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,} bytes"


def _suppressed(suppression: Suppression | None) -> list[str]:
    if suppression is None:
        return []
    lines = []
    if suppression.allowlisted or suppression.baselined:
        lines.append(
            f"Not reported: {suppression.baselined} in the baseline, "
            f"{suppression.allowlisted} allowlisted in the config."
        )
    if suppression.stale:
        count = len(suppression.stale)
        lines.append(f"Stale baseline entries ({count}, found nowhere in this scan):")
        lines.extend(
            f"  {path or '(commit message)'}  {fingerprint[:16]}…"
            for path, fingerprint in suppression.stale[:_MAX_SKIPPED_SHOWN]
        )
        if count > _MAX_SKIPPED_SHOWN:
            lines.append(f"  ... and {count - _MAX_SKIPPED_SHOWN} more (all are in --format json)")
    return lines
