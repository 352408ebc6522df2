"""SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``) and other tools.

One rule, one result per place a key was found, most urgent key first:

- ``level`` by status: ``error`` for keys that are or may be live (``active``, ``unknown``,
  ``unverified``), ``warning`` for keys that cannot spend but must still be deleted
  (``inactive``, ``account_disabled``), ``note`` for ``invalid`` ones.
- ``properties.security-severity`` by status (``active`` 9.8, ``unknown`` and
  ``unverified`` 8.9, ``inactive`` and ``account_disabled`` 5.0, ``invalid`` 2.0); GitHub
  rates alerts by the rule's, which is the ``unverified`` one (high).
- The location is the file, as a relative URI (percent-encoded) from the scanned root,
  with the line and column of the key. A key in an archive member or a source map's
  original source points at the outer file: its line is the member's, so the region is
  line 1 and the message says where inside. Binary content has no lines: line 1 too, and
  the byte offset in the message and ``properties.offset``. (GitHub needs a line to show
  an alert.)
- A key in no file (a commit or tag message, a blob no commit holds, stdin) cannot be a
  result: GitHub rejects a whole upload when one result has no file location. Such keys
  are ``toolExecutionNotifications`` of the invocation (``cmscan/key-in-no-file``), with
  the same message and properties as a result; paths that were not scanned are
  notifications too (``cmscan/not-scanned``).
- ``partialFingerprints``: ``cmscanKey/v1`` is the key's fingerprint (SHA-256), the same
  wherever the key is; ``cmscanPlace/v1`` also depends on the path, not on the line, so an
  alert survives code moving around.
- Keys are masked everywhere: in messages, in ``contextRegion.snippet`` (the masked context
  of the JSON report) and in ``properties.key``.
- ``runs[0].properties.summary`` holds the totals of the JSON report's summary (with
  ``skipped`` as a count, and ``unit``: what ``files`` counts, ``file`` or ``blob``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from cmscan.advice import Place, advise
from cmscan.model import Finding, Report, Status
from cmscan.report.json_format import usage_fields
from cmscan.report.locations import (
    SEVERITY,
    describe,
    finding_fields,
    message,
    summary_counts,
    target_of,
)
from cmscan.walk import LINK_OUT_OF_TREE

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/cmscan/cmscan"
RULE_ID = "cmscan/crossmodel-api-key"
KEY_IN_NO_FILE = "cmscan/key-in-no-file"
NOT_SCANNED = "cmscan/not-scanned"

LEVELS = SEVERITY
SECURITY_SEVERITY: dict[Status, str] = {
    "active": "9.8",
    "unknown": "8.9",
    "unverified": "8.9",
    "account_disabled": "5.0",
    "inactive": "5.0",
    "invalid": "2.0",
}
TAGS = ["security", "secret", "external/cwe/cwe-798"]

_STATUSES = (
    "active: the gateway accepts the key (it can spend the balance now). "
    "unknown: verification could not decide. unverified: not checked (run with --verify). "
    "inactive: disabled. account_disabled: the owner's account is disabled. "
    "invalid: the gateway does not know the key."
)


def render(report: Report, color: bool = False) -> str:
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for _, findings in report.by_key():
        for finding in findings:
            if target_of(finding.path, finding.source).file is not None:
                results.append(_result(report, finding))
            else:
                notifications.append(_in_no_file(report, finding))
    notifications.extend(_not_scanned(report))
    result = report.result
    run = {
        "tool": {"driver": _driver(report.version)},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": {
            "summary": {
                **summary_counts(report),
                "skipped": len(result.skipped),
                "unit": result.unit,
            }
        },
    }
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def artifact_uri(path: str) -> str:
    """A path as a URI reference: relative paths stay relative, every unsafe byte encoded."""
    if path.startswith("/"):
        return "file://" + quote(path, safe="/")
    return quote(path, safe="/")


def _driver(version: str) -> dict[str, Any]:
    steps = advise("unverified", [Place.SOURCE])
    numbered = "\n".join(f"{number}. {step}" for number, step in enumerate(steps, 1))
    about = (
        "A CrossModel API key (cm-...) was found in a file or in git history. Anyone who "
        "has the key can spend its owner's prepaid balance. cmscan never shows the key: "
        "only cm- with the first and last 4 characters of its body, and its SHA-256 "
        "fingerprint."
    )
    return {
        "name": "cmscan",
        "version": version,
        "semanticVersion": version,
        "informationUri": INFORMATION_URI,
        "rules": [
            {
                "id": RULE_ID,
                "name": "LeakedCrossModelApiKey",
                "shortDescription": {"text": "Leaked CrossModel API key"},
                "fullDescription": {"text": about},
                "defaultConfiguration": {"level": "error"},
                "help": {
                    "text": f"{about}\n\nWhat to do (each alert says it for its key's status "
                    f"and place):\n{numbered}\n\nStatuses: {_STATUSES}",
                    "markdown": f"{about}\n\n**What to do** (each alert says it for its key's "
                    f"status and place):\n\n{numbered}\n\n**Statuses**: {_STATUSES}",
                },
                "properties": {
                    "tags": TAGS,
                    "precision": "very-high",
                    "security-severity": SECURITY_SEVERITY["unverified"],
                },
            }
        ],
        "notifications": [
            {
                "id": KEY_IN_NO_FILE,
                "shortDescription": {
                    "text": "A CrossModel API key in no file: a commit or tag message, a blob "
                    "that no commit holds, or stdin"
                },
            },
            {
                "id": NOT_SCANNED,
                "shortDescription": {"text": "A path that was not scanned, and why"},
            },
        ],
    }


def _result(report: Report, finding: Finding) -> dict[str, Any]:
    status = report.verdict(finding.key).status
    return {
        "ruleId": RULE_ID,
        "ruleIndex": 0,
        "level": LEVELS[status],
        "message": {"text": message(report, finding)},
        "locations": [{"physicalLocation": _physical_location(finding)}],
        "partialFingerprints": _fingerprints(finding),
        "properties": _properties(report, finding),
    }


def _in_no_file(report: Report, finding: Finding) -> dict[str, Any]:
    status = report.verdict(finding.key).status
    return {
        "level": LEVELS[status],
        "message": {"text": message(report, finding)},
        "descriptor": {"id": KEY_IN_NO_FILE},
        "associatedRule": {"id": RULE_ID, "index": 0},
        "properties": {
            **_properties(report, finding),
            "partialFingerprints": _fingerprints(finding),
        },
    }


def _not_scanned(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "level": "note" if item.reason == LINK_OUT_OF_TREE else "warning",
            "message": {"text": f"Not scanned: {item.path}: {item.reason}"},
            "descriptor": {"id": NOT_SCANNED},
            "properties": {"path": item.path, "reason": item.reason},
        }
        for item in report.result.skipped
    ]


def _physical_location(finding: Finding) -> dict[str, Any]:
    target = target_of(finding.path, finding.source)
    assert target.file is not None
    location: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(target.file)}}
    if target.has_lines and finding.line is not None:
        region: dict[str, Any] = {"startLine": finding.line}
        if finding.column is not None:
            region["startColumn"] = finding.column
        location["region"] = region
        if finding.context:
            location["contextRegion"] = {
                "startLine": finding.line,
                "snippet": {"text": finding.context},
            }
    else:
        where = describe(finding_fields(finding))
        location["region"] = {"startLine": 1, "message": {"text": f"The key is in {where}."}}
    return location


def _fingerprints(finding: Finding) -> dict[str, str]:
    fingerprint = finding.key.fingerprint
    place = f"{fingerprint}\0{finding.path or ''}"
    return {
        "cmscanKey/v1": fingerprint,
        "cmscanPlace/v1": hashlib.sha256(place.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def _properties(report: Report, finding: Finding) -> dict[str, Any]:
    verdict = report.verdict(finding.key)
    target = target_of(finding.path, finding.source)
    values: dict[str, Any] = {
        "key": finding.key.masked,
        "fingerprint": finding.key.fingerprint,
        "status": verdict.status,
        "balance_usd": verdict.balance_usd,
        "usage": usage_fields(verdict),
        "status_reason": verdict.reason,
        "security-severity": SECURITY_SEVERITY[verdict.status],
        **finding_fields(finding),
        "member": target.member,
    }
    return {name: value for name, value in values.items() if value is not None}
