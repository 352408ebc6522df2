"""--format sarif: SARIF 2.1.0, valid against the OASIS schema, in the shape code scanning takes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from cmscan.cli import main
from cmscan.keys import Key
from cmscan.model import Finding, Report, ScanResult, Skipped, Verdict
from cmscan.report import Format, render
from cmscan.report.sarif_format import (
    KEY_IN_NO_FILE,
    NOT_SCANNED,
    RULE_ID,
    artifact_uri,
)
from cmscan.standin import ACCOUNT_DISABLED, INACTIVE, INVALID, Behaviour, StandIn
from tests.gitutil import GitRepo
from tests.keygen import BASE62, PREFIX, make_key
from tests.runner import cmscan_executable

SCHEMA = Path(__file__).parent / "data" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def valid(validator: Draft7Validator, text: str) -> dict[str, Any]:
    document = json.loads(text)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    return document  # type: ignore[no-any-return]


def _run(document: dict[str, Any]) -> dict[str, Any]:
    (run,) = document["runs"]
    return run  # type: ignore[no-any-return]


def _notifications(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    (invocation,) = _run(document)["invocations"]
    return [
        item
        for item in invocation["toolExecutionNotifications"]
        if item["descriptor"]["id"] == kind
    ]


# -- a canonical in-memory report: every kind of place


def _report() -> tuple[Report, list[str]]:
    rng = random.Random(2024)
    keys = [make_key(44, BASE62, rng) for _ in range(5)]
    live, dead, unknown, gone, plain = (Key(key) for key in keys)
    commit = "c0ffee" * 6 + "abcd"
    findings = (
        Finding(live, "web/dist/app.js", 1, 48, "file", offset=47, context='k:"' + live.masked),
        Finding(live, "my app/100% #1.js", 2, 3, "file", offset=9),
        Finding(plain, "app.apk!assets/config.json", 3, 9, "archive", offset=80),
        Finding(plain, "dist/app.js.map!webpack://app/src/llm.ts", 12, 14, "file", offset=5),
        Finding(unknown, "cache.bin", None, None, "file", offset=1234),
        Finding(
            dead, "config/app.yml", 4, 7, "git", offset=50, commit=commit, author="Ada", date="d"
        ),
        Finding(gone, None, 3, 1, "git", offset=40, commit=commit, author="Ada", date="d"),
        Finding(gone, None, 1, 1, "git", offset=0, commit=commit, tag="v1.0"),
        Finding(gone, None, None, None, "git", offset=7, blob="b1" * 20),
        Finding(plain, "-", 2, 3, "stdin", offset=10),
    )
    verdicts = {
        live.fingerprint: Verdict("active", balance_usd=12.34),
        dead.fingerprint: Verdict("inactive"),
        unknown.fingerprint: Verdict("unknown", reason="timed out"),
        gone.fingerprint: Verdict("invalid"),
    }
    skipped = (
        Skipped("logs/old.gz", "corrupt gzip stream"),
        Skipped("link", "symbolic link to outside the scanned tree (not followed)"),
    )
    result = ScanResult(findings, 9, 4096, skipped, messages=2)
    return Report(result, "1.2.3", verdicts), keys


def test_canonical_report(validator: Draft7Validator) -> None:
    report, keys = _report()
    text = render(report, Format.SARIF)
    assert not any(key in text for key in keys)
    document = valid(validator, text)
    assert document["version"] == "2.1.0"
    run = _run(document)
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["semanticVersion"]) == ("cmscan", "1.2.3")
    (rule,) = driver["rules"]
    assert rule["id"] == RULE_ID
    assert rule["properties"]["security-severity"] == "8.9"
    assert "security" in rule["properties"]["tags"]
    assert rule["help"]["text"] and rule["help"]["markdown"]

    results = run["results"]
    # active first, then unknown, unverified, inactive; keys in no file are not results
    assert [r["properties"]["status"] for r in results] == [
        "active", "active", "unknown", "unverified", "unverified", "inactive"
    ]  # fmt: skip
    assert [r["level"] for r in results] == ["error"] * 5 + ["warning"]
    assert [r["properties"]["security-severity"] for r in results] == ["9.8"] * 2 + ["8.9"] * 3 + [
        "5.0"
    ]
    for result in results:
        assert result["ruleId"] == RULE_ID and result["ruleIndex"] == 0
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"]
        assert location["physicalLocation"]["region"]["startLine"] >= 1

    def where(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        physical = result["locations"][0]["physicalLocation"]
        return physical["artifactLocation"]["uri"], physical["region"]

    bundle, encoded, unknown, archive, source_map, history = results
    assert where(bundle) == ("web/dist/app.js", {"startLine": 1, "startColumn": 48})
    context = bundle["locations"][0]["physicalLocation"]["contextRegion"]
    assert context == {"startLine": 1, "snippet": {"text": 'k:"' + Key(keys[0]).masked}}
    assert bundle["properties"]["balance_usd"] == 12.34
    assert bundle["message"]["text"].startswith(
        f"CrossModel API key {Key(keys[0]).masked} (active, balance $12.34) in "
        "web/dist/app.js, line 1, column 48.\nWhat to do:\n1. URGENT"
    )
    assert where(encoded) == ("my%20app/100%25%20%231.js", {"startLine": 2, "startColumn": 3})
    assert encoded["properties"]["path"] == "my app/100% #1.js"

    # no lines of its own: line 1 of the file, and the message says where
    uri, region = where(unknown)
    assert (uri, region["startLine"]) == ("cache.bin", 1) and "startColumn" not in region
    assert "byte 1234 (binary content)" in region["message"]["text"]
    assert unknown["properties"]["offset"] == 1234
    assert "Verification: timed out." in unknown["message"]["text"]
    uri, region = where(archive)
    assert (uri, region["startLine"]) == ("app.apk", 1)
    assert archive["properties"]["member"] == "assets/config.json"
    assert "assets/config.json in app.apk, line 3, column 9" in archive["message"]["text"]
    uri, _ = where(source_map)
    assert uri == "dist/app.js.map"
    assert source_map["properties"]["member"] == "webpack://app/src/llm.ts"

    assert where(history) == ("config/app.yml", {"startLine": 4, "startColumn": 7})
    assert history["properties"]["commit"] == "c0ffee" * 6 + "abcd"
    assert history["properties"]["author"] == "Ada"
    assert "added in commit c0ffeec0ffee by Ada on d" in history["message"]["text"]


def test_fingerprints(validator: Draft7Validator) -> None:
    report, keys = _report()
    document = valid(validator, render(report, Format.SARIF))
    results = _run(document)["results"]
    bundle, encoded = results[:2]
    expected = hashlib.sha256(keys[0].encode()).hexdigest()
    assert bundle["partialFingerprints"]["cmscanKey/v1"] == expected
    assert bundle["properties"]["fingerprint"] == expected
    # the same key in two files: the same key fingerprint, two places
    assert encoded["partialFingerprints"]["cmscanKey/v1"] == expected
    assert (
        encoded["partialFingerprints"]["cmscanPlace/v1"]
        != bundle["partialFingerprints"]["cmscanPlace/v1"]
    )


def test_keys_in_no_file_and_skipped_paths_are_notifications(validator: Draft7Validator) -> None:
    report, keys = _report()
    text = render(report, Format.SARIF)
    assert not any(key in text for key in keys)
    document = valid(validator, text)
    unlocated = _notifications(document, KEY_IN_NO_FILE)
    texts = [item["message"]["text"] for item in unlocated]
    assert len(unlocated) == 4
    # unverified (stdin) before invalid (the messages and the blob)
    assert "in stdin, line 2, column 3." in texts[0]
    assert "in the message of commit c0ffeec0ffee by Ada on d, line 3, column 1." in texts[1]
    assert any("the message of tag v1.0 (pointing at commit c0ffeec0ffee)" in t for t in texts)
    assert any("blob b1b1b1b1b1b1, which no commit holds" in t for t in texts)
    for item in unlocated:
        assert "locations" not in item
        assert item["associatedRule"] == {"id": RULE_ID, "index": 0}
        assert item["properties"]["partialFingerprints"]["cmscanKey/v1"]
    levels = {item["properties"]["status"]: item["level"] for item in unlocated}
    assert levels == {"invalid": "note", "unverified": "error"}
    skipped = _notifications(document, NOT_SCANNED)
    assert [(item["level"], item["properties"]["path"]) for item in skipped] == [
        ("warning", "logs/old.gz"),
        ("note", "link"),
    ]
    summary = _run(document)["properties"]["summary"]
    assert summary == {
        "files": 9,
        "bytes": 4096,
        "messages": 2,
        "findings": 10,
        "keys": 5,
        "by_status": {"active": 1, "unknown": 1, "unverified": 1, "inactive": 1, "invalid": 1},
        "skipped": 2,
        "unit": "file",
    }


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("src/app.js", "src/app.js"),
        ("dir with space/a b.js", "dir%20with%20space/a%20b.js"),
        ("100%.js", "100%25.js"),
        ("a#b?c.js", "a%23b%3Fc.js"),
        ("c:colon/first.js", "c%3Acolon/first.js"),
        ("ünï/cödé.js", "%C3%BCn%C3%AF/c%C3%B6d%C3%A9.js"),
        ("new\nline.js", "new%0Aline.js"),
        ("/abs/path.js", "file:///abs/path.js"),
        ("../up.js", "../up.js"),
    ],
)
def test_artifact_uris_are_percent_encoded(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


def test_empty_report(validator: Draft7Validator) -> None:
    text = render(Report(ScanResult((), 3, 10, ()), "0.0.0"), Format.SARIF)
    document = valid(validator, text)
    assert _run(document)["results"] == []
    assert _run(document)["invocations"][0]["toolExecutionNotifications"] == []


# -- through the command line


def test_scan_writes_valid_sarif(validator: Draft7Validator, tmp_path: Path) -> None:
    key, other = make_key(), make_key(24)
    root = tmp_path / "tree"
    (root / "web dist").mkdir(parents=True)
    (root / "web dist" / "app #1.js").write_text(f'const k = "{key}";\n')
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("res/raw/config.json", f'{{\n  "key": "{other}"\n}}\n')
    (root / "app.apk").write_bytes(archive.getvalue())
    (root / "clean.txt").write_text(PREFIX + "tooltip-autocomplete-disabled\n")  # CodeMirror
    os.symlink("/etc/hostname", root / "outside")
    output = tmp_path / "report.sarif"
    process = subprocess.run(
        [*cmscan_executable(), "scan", "--format", "sarif", "--output", str(output), str(root)],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert process.stdout == ""
    text = output.read_text(encoding="utf-8")
    for secret in (key, other):
        assert secret not in text + process.stderr
    document = valid(validator, text)
    uris = sorted(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in _run(document)["results"]
    )
    assert uris == ["app.apk", "web%20dist/app%20%231.js"]
    assert [item["properties"]["path"] for item in _notifications(document, NOT_SCANNED)] == [
        "outside"
    ]


def test_clean_scan_is_valid_and_exits_zero(validator: Draft7Validator, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("cm-YOUR_KEY\n")
    process = subprocess.run(
        [*cmscan_executable(), "scan", "--format", "sarif", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 0
    document = valid(validator, process.stdout)
    assert _run(document)["results"] == []
    assert _run(document)["properties"]["summary"]["findings"] == 0


def test_verified_statuses(
    validator: Draft7Validator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = {status: make_key() for status in ("active", INACTIVE, INVALID, ACCOUNT_DISABLED)}
    for status, key in keys.items():
        (tmp_path / f"{status}.env").write_text(f"CROSSMODEL_API_KEY={key}\n")
    with StandIn() as gateway:
        for status, key in keys.items():
            gateway.add(key, Behaviour(status=status, balance_micro=5_000_000))
        code = main(
            ["scan", str(tmp_path), "--format", "sarif", "--verify", "--base-url",
             gateway.base_url, "--fail-on", "active"]
        )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert not any(key in out + err for key in keys.values())
    document = valid(validator, out)
    results = {r["properties"]["status"]: r for r in _run(document)["results"]}
    assert {status: r["level"] for status, r in results.items()} == {
        "active": "error",
        "inactive": "warning",
        "account_disabled": "warning",
        "invalid": "note",
    }
    assert {status: r["properties"]["security-severity"] for status, r in results.items()} == {
        "active": "9.8",
        "inactive": "5.0",
        "account_disabled": "5.0",
        "invalid": "2.0",
    }
    assert results["active"]["properties"]["balance_usd"] == 5.0
    assert "usage" in results["active"]["properties"]
    assert _run(document)["properties"]["summary"]["by_status"]["active"] == 1


def test_history(validator: Draft7Validator, tmp_path: Path) -> None:
    key, in_message = make_key(), make_key()
    repo = GitRepo(tmp_path / "repo")
    repo.commit("initial", ("README.md", "hello\n"))
    commit = repo.commit(f"add config\n\n{in_message}", ("conf/app.yml", f"key: {key}\n"))
    process = subprocess.run(
        [*cmscan_executable(), "history", "--format", "sarif", str(repo.path)],
        capture_output=True,
        text=True,
    )
    assert process.returncode == 1
    assert key not in process.stdout and in_message not in process.stdout
    document = valid(validator, process.stdout)
    (result,) = _run(document)["results"]
    physical = result["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "conf/app.yml"
    assert physical["region"] == {"startLine": 1, "startColumn": 6}
    assert result["properties"]["commit"] == commit
    assert result["properties"]["source"] == "git"
    (message,) = _notifications(document, KEY_IN_NO_FILE)
    assert message["properties"]["commit"] == commit
    assert "path" not in message["properties"]
    summary = _run(document)["properties"]["summary"]
    assert (summary["unit"], summary["findings"], summary["keys"]) == ("blob", 2, 2)


@pytest.mark.parametrize("format_", ["sarif", "github"])
def test_verify_command_refuses_the_ci_formats(format_: str) -> None:
    """``cmscan verify`` has no places to point at: text or json only, before any key is sent."""
    process = subprocess.run(
        [*cmscan_executable(), "verify", "--format", format_],
        input=f"{make_key()}\n",
        capture_output=True,
        text=True,
    )
    assert process.returncode == 2
    assert f"writes text or json, not {format_}" in process.stderr
