"""cmscan staged (the pre-commit path) and history ranges (--since, --range) for CI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.errors import UsageError
from cmscan.gitrepo import open_repository
from cmscan.history import HistoryOptions, scan_history
from cmscan.keys import fingerprint
from cmscan.model import ScanResult
from cmscan.staged import StagedOptions, scan_staged
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.runner import cmscan_executable


def _staged(repo: GitRepo) -> ScanResult:
    return scan_staged(open_repository(str(repo.path)), StagedOptions())


def _fingerprints(result: ScanResult) -> set[str]:
    return {finding.key.fingerprint for finding in result.findings}


# -- staged


def test_first_commit_with_no_head_yet(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    repo.write("app/settings.py", f"import os\n\nKEY = '{key}'\n")
    repo.write("clean.txt", "nothing\n")
    repo.git("add", "-A")
    result = _staged(repo)
    (finding,) = result.findings
    assert (finding.path, finding.line, finding.column, finding.source) == (
        "app/settings.py",
        3,
        8,
        "staged",
    )
    assert result.files == 2


def test_index_content_not_work_tree(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("root", ("a.txt", "a\n"))
    staged_key, unstaged_key = make_key(), make_key()
    repo.write("a.txt", f"a\n{staged_key}\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", f"a\n{staged_key}\n{unstaged_key}\n")  # changed after staging
    repo.write("untracked.txt", f"{unstaged_key}\n")
    assert _fingerprints(_staged(repo)) == {fingerprint(staged_key)}


def test_staged_then_unstaged_key_is_not_reported(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("root", ("a.txt", "a\n"))
    key = make_key()
    repo.write("secret.env", f"K={key}\n")
    repo.git("add", "secret.env")
    assert _fingerprints(_staged(repo)) == {fingerprint(key)}
    repo.git("reset", "-q", "--", "secret.env")
    assert _staged(repo).findings == ()


def test_rename_counts_at_the_new_path_and_deletion_brings_nothing(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    moved, removed = make_key(), make_key()
    repo.commit("root", ("old.txt", f"{moved}\n"), ("gone.txt", f"{removed}\n"))
    repo.git("mv", "old.txt", "new name.txt")
    repo.git("rm", "-q", "gone.txt")
    result = _staged(repo)
    assert [(f.path, f.key.fingerprint) for f in result.findings] == [
        ("new name.txt", fingerprint(moved))
    ]


def test_unchanged_files_are_not_scanned(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    old = make_key()
    repo.commit("root", ("committed.txt", f"{old}\n"))
    repo.write("new.txt", "fine\n")
    repo.git("add", "new.txt")
    result = _staged(repo)
    assert result.findings == ()
    assert result.files == 1


def test_staged_exclude(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.write("fixtures/k.txt", make_key() + "\n")
    repo.git("add", "-A")
    found = scan_staged(open_repository(str(repo.path)), StagedOptions(excludes=("fixtures/",)))
    assert found.findings == () and found.files == 0


def test_bare_repository_has_no_index(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "bare.git", bare=True)
    with pytest.raises(UsageError, match="bare"):
        _staged(repo)


def test_cli_staged_reports_and_tells_stderr(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    repo.write("src/client.ts", f'const key = "{key}";\n')
    repo.git("add", "-A")
    process = subprocess.run(
        [*cmscan_executable(), "staged", "--format", "json"],
        cwd=repo.path / "src",
        capture_output=True,
    )
    assert process.returncode == 1
    report = json.loads(process.stdout)
    (finding,) = report["findings"]
    assert (finding["path"], finding["source"], finding["line"]) == ("src/client.ts", "staged", 1)
    err = process.stderr.decode()
    assert "scanned 1 files" in err
    assert key not in process.stdout.decode() + err


def test_cli_staged_outside_a_repository(tmp_path: Path) -> None:
    process = subprocess.run(
        [*cmscan_executable(), "staged"], cwd=tmp_path, capture_output=True, text=True
    )
    assert process.returncode == 2
    assert "not a git repository" in process.stderr


# -- ranges


@pytest.fixture
def ranged(tmp_path: Path) -> tuple[GitRepo, dict[str, str], dict[str, str]]:
    repo = GitRepo(tmp_path / "r")
    keys = {name: make_key() for name in ("old", "new", "message", "merge", "side")}
    commits = {"base": repo.commit("base", ("old.txt", keys["old"] + "\n"))}
    commits["new"] = repo.commit("new", ("new.txt", keys["new"] + "\n"))
    commits["message"] = repo.commit(f"msg {keys['message']}")
    repo.git("checkout", "-q", "-b", "side")
    commits["side"] = repo.commit("side", ("side.txt", keys["side"] + "\n"))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    repo.write("merge.txt", keys["merge"] + "\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "merge")
    commits["merge"] = repo.head()
    return repo, keys, commits


def test_since_scans_only_what_the_new_commits_introduced(
    ranged: tuple[GitRepo, dict[str, str], dict[str, str]],
) -> None:
    repo, keys, commits = ranged
    result = scan_history(
        open_repository(str(repo.path)), HistoryOptions(revisions=f"{commits['base']}..HEAD")
    )
    found = {f.key.fingerprint: f for f in result.findings}
    assert set(found) == {fingerprint(keys[n]) for n in ("new", "message", "merge", "side")}
    for name in ("new", "message", "merge", "side"):
        assert found[fingerprint(keys[name])].commit == commits[name]
    assert found[fingerprint(keys["message"])].path is None
    assert found[fingerprint(keys["merge"])].path == "merge.txt"


def test_range_excludes_older_and_newer_commits(
    ranged: tuple[GitRepo, dict[str, str], dict[str, str]],
) -> None:
    repo, keys, commits = ranged
    result = scan_history(
        open_repository(str(repo.path)),
        HistoryOptions(revisions=f"{commits['base']}..{commits['new']}"),
    )
    assert _fingerprints(result) == {fingerprint(keys["new"])}
    assert result.files == 1 and result.messages == 1


def test_range_modification_scans_the_new_content(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    base = repo.commit("base", ("a.txt", "line\n"))
    repo.commit("edit", ("a.txt", f"line\n{key}\n"))
    repo.git("mv", "a.txt", "b.txt")
    renamed = repo.commit("rename")
    repo.git("rm", "-q", "b.txt")
    repo.commit("delete")
    result = scan_history(
        open_repository(str(repo.path)), HistoryOptions(revisions=f"{base}..HEAD")
    )
    assert [(f.path, f.line) for f in result.findings] == [("a.txt", 2), ("b.txt", 2)]
    assert result.findings[1].commit == renamed


def test_cli_since_and_bad_range(
    ranged: tuple[GitRepo, dict[str, str], dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, keys, commits = ranged
    code = main(["history", str(repo.path), "--since", commits["new"], "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {f["fingerprint"] for f in report["findings"]} == {
        fingerprint(keys[n]) for n in ("message", "merge", "side")
    }
    assert main(["history", str(repo.path), "--range", "nosuch..HEAD"]) == 2
    assert "bad revision range" in capsys.readouterr().err
    assert main(["history", str(repo.path), "--since", "x", "--range", "a..b"]) == 2
    assert main(["history", str(repo.path), "--range", "--all"]) == 2


def test_since_with_nothing_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("only", ("k.txt", make_key() + "\n"))
    assert main(["history", str(repo.path), "--since", "HEAD"]) == 0
    assert "No CrossModel keys found." in capsys.readouterr().out
