"""Baselines: known findings by fingerprint and path, stable on disk, stale ones listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import fingerprint
from tests.gitutil import GitRepo
from tests.keygen import make_key


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree, baseline = tmp_path / "tree", tmp_path / "baseline.json"
    tree.mkdir()
    old, moved = make_key(), make_key()
    (tree / "b.py").write_text(f"A = '{old}'\nB = '{old}'\n")
    (tree / "a.env").write_text(f"KEY={moved}\n")
    code, out, err = _run(capsys, "scan", str(tree), "--write-baseline", str(baseline))
    assert code == 0 and "No CrossModel keys found." in out
    assert "wrote 2 baseline entries" in err
    document = json.loads(baseline.read_text())
    assert document == {
        "cmscan_baseline": 1,
        "findings": [
            {"fingerprint": fingerprint(moved), "path": "a.env"},
            {"fingerprint": fingerprint(old), "path": "b.py"},
        ],
    }
    text = baseline.read_text()
    assert old not in text and moved not in text

    # Known findings are neither reported nor failing; a new one is.
    new = make_key()
    (tree / "c.txt").write_text(new)
    code, out, _ = _run(capsys, "scan", str(tree), "--baseline", str(baseline), "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(new)]
    assert (report["summary"]["baselined"], report["summary"]["stale_baseline"]) == (3, [])

    # The same key at another path is a new leak; the entry it left behind is stale.
    (tree / "c.txt").unlink()
    (tree / "a.env").rename(tree / "prod.env")
    code, out, _ = _run(capsys, "scan", str(tree), "--baseline", str(baseline), "--format", "json")
    report = json.loads(out)
    assert code == 1
    assert [(f["path"], f["fingerprint"]) for f in report["findings"]] == [
        ("prod.env", fingerprint(moved))
    ]
    assert report["summary"]["stale_baseline"] == [
        {"fingerprint": fingerprint(moved), "path": "a.env"}
    ]
    code, out, _ = _run(capsys, "scan", str(tree), "--baseline", str(baseline))
    assert "Stale baseline entries (1, found nowhere in this scan):" in out
    assert f"a.env  {fingerprint(moved)[:16]}" in out


def test_the_file_does_not_churn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for index in range(12):
        (tree / f"f{index:02}.txt").write_text(make_key())
    first, second = tmp_path / "1.json", tmp_path / "2.json"
    _run(capsys, "scan", str(tree), "--write-baseline", str(first))
    (tree / "unrelated.txt").write_text("edited\n" * 50)
    (tree / "f03.txt").write_text("moved down\n" + (tree / "f03.txt").read_text())
    _run(capsys, "scan", str(tree), "--write-baseline", str(second))
    assert first.read_bytes() == second.read_bytes()  # no lines, no times, stable order


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not a cmscan baseline"),
        ('{"findings": []}', "is not a cmscan baseline"),
        ('{"cmscan_baseline": 1, "findings": [{"fingerprint": "x"}]}', "64 hex digits"),
    ],
)
def test_a_broken_baseline_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    baseline = tmp_path / "b.json"
    baseline.write_text(content)
    code, out, err = _run(capsys, "scan", str(tmp_path), "--baseline", str(baseline))
    assert code == 2 and out == "" and message in err


def test_history_and_staged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    baseline = tmp_path / "baseline.json"
    known = make_key()
    repo.commit("old leak", ("config.py", f"KEY = '{known}'\n"), ("m.txt", "x"))
    assert _run(capsys, "history", str(repo.path), "--write-baseline", str(baseline))[0] == 0
    assert _run(capsys, "history", str(repo.path), "--baseline", str(baseline))[0] == 0
    repo.write("config.py", f"KEY = '{known}'\nOTHER = '{make_key()}'\n")
    repo.git("add", "-A")
    code, out, _ = _run(
        capsys, "staged", str(repo.path), "--baseline", str(baseline), "--format", "json"
    )
    report = json.loads(out)
    assert code == 1 and len(report["findings"]) == 1  # the known key is baselined
    assert report["findings"][0]["fingerprint"] != fingerprint(known)
