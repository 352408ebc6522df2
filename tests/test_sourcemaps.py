"""Source maps: a key in sourcesContent is reported at the map and at its original source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import fingerprint
from cmscan.scanner import ScanOptions, scan_paths
from tests.keygen import make_key


def _map(key: str) -> dict[str, object]:
    original = "import { Client } from './client';\n" * 11 + f'const KEY = "{key}";\n'
    return {
        "version": 3,
        "file": "app.js",
        "sourceRoot": "",
        "sources": ["webpack://app/src/util.ts", "webpack://app/src/llm.ts"],
        "sourcesContent": ["export const x = 1;\n", original],
        "mappings": "AAAA",
    }


def test_key_in_sources_content_is_reported_at_the_original(tmp_path: Path) -> None:
    key = make_key()
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "app.js.map").write_text(json.dumps(_map(key)))
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    places = sorted((f.path, f.line, f.column) for f in result.findings)
    assert places[1] == ("dist/app.js.map!webpack://app/src/llm.ts", 12, 14)
    assert places[0][0] == "dist/app.js.map" and places[0][1] == 1
    assert {f.key.fingerprint for f in result.findings} == {fingerprint(key)}


def test_a_map_that_is_not_json_keeps_its_one_finding(tmp_path: Path) -> None:
    key = make_key()
    (tmp_path / "odd.map").write_text(f"not json {key}\n")
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [f.path for f in result.findings] == ["odd.map"]


def test_text_report_advice_covers_bundle_and_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "main.js.map").write_text(json.dumps(_map(key)))
    assert main(["scan", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "found in 2 places" in out
    assert "dist/main.js.map!webpack://app/src/llm.ts:12:14" in out
    assert "every browser" in out and "Remove the key from the source" in out
    assert key not in out
