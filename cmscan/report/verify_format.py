"""The report of ``cmscan verify``: one result per key, and the lines that were not keys."""

from __future__ import annotations

import json
from collections.abc import Mapping

from cmscan.keylines import KeyLines
from cmscan.keys import Key
from cmscan.model import STATUS_ORDER, UNVERIFIED, Verdict
from cmscan.report.json_format import usage_fields
from cmscan.report.text_format import key_heading


def render_json(lines: KeyLines, verdicts: Mapping[str, Verdict], version: str) -> str:
    results = []
    for key in _ordered(lines, verdicts):
        verdict = verdicts.get(key.fingerprint, UNVERIFIED)
        results.append(
            {
                "key": key.masked,
                "fingerprint": key.fingerprint,
                "status": verdict.status,
                "balance_usd": verdict.balance_usd,
                "usage": usage_fields(verdict),
                "status_reason": verdict.reason,
            }
        )
    document = {
        "cmscan_version": version,
        "results": results,
        "rejected_lines": [{"line": n, "reason": "not a CrossModel key"} for n in lines.rejected],
        "duplicates": lines.duplicates,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_text(lines: KeyLines, verdicts: Mapping[str, Verdict], version: str) -> str:
    out = []
    for key in _ordered(lines, verdicts):
        out.extend(key_heading(key, verdicts.get(key.fingerprint, UNVERIFIED)))
    for number in lines.rejected:
        out.append(f"line {number}: not a CrossModel key (not sent)")
    count = len(lines.keys)
    out.append(f"{count} key{'s' if count != 1 else ''} checked.")
    return "\n".join(out) + "\n"


def _ordered(lines: KeyLines, verdicts: Mapping[str, Verdict]) -> list[Key]:
    order = {status: index for index, status in enumerate(STATUS_ORDER)}
    return sorted(
        lines.keys, key=lambda key: order[verdicts.get(key.fingerprint, UNVERIFIED).status]
    )
