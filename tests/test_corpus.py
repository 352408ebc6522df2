"""Every place keys leak, at once: each planted key is found at its path, member and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import fingerprint
from tests.leakcorpus import build


def test_every_planted_key_is_found_where_it_was_planted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path / "corpus")
    assert main(["scan", str(corpus.root), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    found = {(f["path"], f["line"], f["encoding"], f["fingerprint"]) for f in report["findings"]}
    planted = {(p.path, p.line, p.encoding, fingerprint(p.key)) for p in corpus.plants}
    assert found == planted
    assert len(report["findings"]) == len(planted)  # each once
    assert report["summary"]["skipped"] == []
    for plant in corpus.plants:
        assert plant.key not in out + err and plant.key[3:] not in out + err


def test_the_text_report_says_where_and_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = build(tmp_path / "corpus")
    assert main(["scan", str(corpus.root)]) == 1
    out = capsys.readouterr().out
    assert "every browser" in out  # the bundle and the page
    assert "inside the app" in out  # the apk, ipa and aab
    assert "Purge or redact the log files" in out
    for plant in corpus.plants:
        assert plant.key not in out
