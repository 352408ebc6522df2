"""The JSON report of SPEC.md: stable field order, keys masked, one finding per place."""

from __future__ import annotations

import json
from typing import Any

from cmscan.advice import advise, place_of
from cmscan.model import Finding, Report, Verdict
from cmscan.report.locations import finding_fields, summary_counts


def render(report: Report, color: bool = False) -> str:
    result = report.result
    summary: dict[str, Any] = {
        **summary_counts(report),
        "skipped": [{"path": item.path, "reason": item.reason} for item in result.skipped],
    }
    suppression = result.suppression
    if suppression is not None:
        summary["allowlisted"] = suppression.allowlisted
        summary["baselined"] = suppression.baselined
        summary["stale_baseline"] = [
            {"fingerprint": fingerprint, "path": path} for path, fingerprint in suppression.stale
        ]
    document = {
        "cmscan_version": report.version,
        "findings": [_finding(report, finding) for finding in result.findings],
        "summary": summary,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _finding(report: Report, finding: Finding) -> dict[str, Any]:
    verdict = report.verdict(finding.key)
    return {
        "fingerprint": finding.key.fingerprint,
        "key": finding.key.masked,
        **finding_fields(finding),
        "context": finding.context,
        "status": verdict.status,
        "balance_usd": verdict.balance_usd,
        "usage": usage_fields(verdict),
        "status_reason": verdict.reason,
        "advice": advise(verdict.status, [place_of(finding)]),
    }


def usage_fields(verdict: Verdict) -> dict[str, Any] | None:
    """Recent spend of an active key (``None`` when not known)."""
    usage = verdict.usage
    if usage is None:
        return None
    return {
        "today_usd": usage.today_usd,
        "week_usd": usage.week_usd,
        "month_usd": usage.month_usd,
        "requests_today": usage.requests_today,
    }
