"""cmscan history: keys hidden everywhere a real repository can hold them."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.gitrepo import open_repository
from cmscan.history import HistoryOptions, scan_history
from cmscan.keys import fingerprint
from cmscan.model import Finding, ScanResult
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.runner import cmscan_executable

SPACED_PATH = "docs/my notes/Überblick ñ.txt"


@dataclass
class Planted:
    """What the repository hides, and where each key must be reported."""

    repo: GitRepo
    keys: dict[str, str]
    commits: dict[str, str]


def _by_key(result: ScanResult, key: str) -> list[Finding]:
    return [f for f in result.findings if f.key.fingerprint == fingerprint(key)]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    repo = GitRepo(tmp_path_factory.mktemp("history") / "repo")
    keys = {name: make_key() for name in (
        "deleted", "message", "tag", "stash", "unreachable", "binary", "merge", "large",
        "spaced", "kept",
    )}  # fmt: skip
    commits: dict[str, str] = {}
    commits["root"] = repo.commit("root", ("README.md", "hello\n"))
    commits["deleted"] = repo.commit(
        "add config", ("config.py", f"# settings\nAPI_KEY = '{keys['deleted']}'\n")
    )
    repo.git("rm", "-q", "config.py")
    commits["deleted_gone"] = repo.commit("remove the key")
    commits["message"] = repo.commit(f"oops\n\nthe key was {keys['message']} sorry\n")
    commits["binary"] = repo.commit(
        "binary", ("app.bin", b"\x00\x01\x02" + b"\x33" + keys["binary"].encode() + b"\x00\xff")
    )
    large = bytearray(b"x" * 79 + b"\n") * (6 * 1024 * 1024 // 80)
    large += f"token = {keys['large']}\n".encode()
    commits["large"] = repo.commit("large", ("data/big.txt", bytes(large)))
    commits["spaced"] = repo.commit("spaces", (SPACED_PATH, f"key: {keys['spaced']}\n"))
    commits["kept"] = repo.commit("kept", ("src/app.js", f'const k = "{keys["kept"]}";\n'))
    repo.git("tag", "-a", "v1.0", "-m", f"release\n\n{keys['tag']}\n")
    # a merge commit that adds a key neither parent had
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("side work", ("side.txt", "side\n"))
    repo.git("checkout", "-q", "main")
    repo.commit("main work", ("main.txt", "main\n"))
    repo.git("merge", "-q", "--no-ff", "--no-commit", "side")
    repo.write("merged.env", f"CROSSMODEL_API_KEY={keys['merge']}\n")
    repo.git("add", "merged.env")
    repo.git("commit", "-q", "-m", "merge side")
    commits["merge"] = repo.head()
    repo.tick()
    # a branch that is deleted: its commit survives only as an unreachable object
    repo.git("checkout", "-q", "-b", "doomed")
    commits["unreachable"] = repo.commit("doomed", ("doomed.txt", f"{keys['unreachable']}\n"))
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "doomed")
    repo.git("reflog", "expire", "--expire=now", "--all")
    # a stash of an uncommitted change
    repo.write("README.md", f"hello\nwip {keys['stash']}\n")
    repo.git("stash", "-q")
    commits["stash"] = repo.git("rev-parse", "stash@{0}")
    return Planted(repo, keys, commits)


@pytest.fixture(scope="module")
def result(planted: Planted) -> ScanResult:
    return scan_history(open_repository(str(planted.repo.path)), HistoryOptions())


def test_every_hidden_key_is_found_once_per_place(planted: Planted, result: ScanResult) -> None:
    for name, key in planted.keys.items():
        assert len(_by_key(result, key)) == 1, name
    assert len(result.findings) == len(planted.keys)


@pytest.mark.parametrize(
    ("name", "path", "line", "column"),
    [
        ("deleted", "config.py", 2, 12),
        ("binary", "app.bin", None, None),
        ("large", "data/big.txt", 6 * 1024 * 1024 // 80 + 1, 9),
        ("spaced", SPACED_PATH, 1, 6),
        ("kept", "src/app.js", 1, 12),
        ("merge", "merged.env", 1, 20),
        ("unreachable", "doomed.txt", 1, 1),
        ("stash", "README.md", 2, 5),
    ],
)
def test_blob_keys_are_attributed_to_the_commit_that_brought_them(
    planted: Planted,
    result: ScanResult,
    name: str,
    path: str,
    line: int | None,
    column: int | None,
) -> None:
    (finding,) = _by_key(result, planted.keys[name])
    assert (finding.path, finding.line, finding.column) == (path, line, column)
    assert finding.source == "git"
    assert finding.commit == planted.commits[name]
    assert finding.author == "Ada Lovelace <ada@example.com>"
    assert finding.date is not None and finding.date.endswith("+01:00")
    assert finding.blob is not None


def test_binary_blob_has_the_byte_offset(planted: Planted, result: ScanResult) -> None:
    (finding,) = _by_key(result, planted.keys["binary"])
    assert finding.offset == 4


def test_commit_message_key(planted: Planted, result: ScanResult) -> None:
    (finding,) = _by_key(result, planted.keys["message"])
    assert finding.path is None
    assert finding.commit == planted.commits["message"]
    assert (finding.line, finding.column) == (3, 13)
    assert finding.author == "Ada Lovelace <ada@example.com>"


def test_tag_message_key(planted: Planted, result: ScanResult) -> None:
    (finding,) = _by_key(result, planted.keys["tag"])
    assert finding.path is None
    assert finding.tag == "v1.0"
    assert finding.commit == planted.commits["kept"]
    assert (finding.line, finding.column) == (3, 1)


def test_totals(result: ScanResult) -> None:
    assert result.unit == "blob"
    assert result.files >= 10
    assert result.messages >= 10
    assert result.bytes > 6 * 1024 * 1024
    assert result.skipped == ()


def test_merge_that_only_carries_a_key_over_is_not_blamed(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    repo.commit("root", ("a.txt", "a\n"))
    repo.git("checkout", "-q", "-b", "side")
    introduced = repo.commit("side adds", ("k.txt", key + "\n"))
    repo.git("checkout", "-q", "main")
    repo.commit("main", ("b.txt", "b\n"))
    repo.git("merge", "-q", "--no-ff", "-m", "merge", "side")
    found = scan_history(open_repository(str(repo.path)), HistoryOptions())
    (finding,) = found.findings
    assert finding.commit == introduced


def test_same_blob_at_two_paths_and_earliest_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    first = repo.commit("one", ("a.txt", key + "\n"))
    repo.git("rm", "-q", "a.txt")
    repo.commit("gone")
    repo.commit("back", ("a.txt", key + "\n"), ("copy/a.txt", key + "\n"))
    found = scan_history(open_repository(str(repo.path)), HistoryOptions())
    assert [(f.path, f.commit) for f in found.findings] == [
        ("a.txt", first),
        ("copy/a.txt", repo.head()),
    ]


def test_dangling_blob_is_reported_without_a_commit(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("root", ("a.txt", "a\n"))
    key = make_key()
    blob = repo.git("hash-object", "-w", "--stdin", input=f"{key}\n".encode())
    (finding,) = scan_history(open_repository(str(repo.path)), HistoryOptions()).findings
    assert (finding.path, finding.commit, finding.blob) == (None, None, blob)


def test_notes_and_other_refs(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    repo.commit("root", ("a.txt", "a\n"))
    note_key, pull_key = make_key(), make_key()
    repo.git("notes", "add", "-m", f"reviewed with {note_key}")
    repo.git("checkout", "-q", "-b", "pr")
    pr = repo.commit("pr", ("p.txt", pull_key + "\n"))
    repo.git("checkout", "-q", "main")
    repo.git("update-ref", "refs/pull/1/head", pr)
    repo.git("branch", "-q", "-D", "pr")
    found = scan_history(open_repository(str(repo.path)), HistoryOptions())
    assert {f.key.fingerprint for f in found.findings} == {
        fingerprint(note_key),
        fingerprint(pull_key),
    }


def test_bare_repository(planted: Planted, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    source = str(planted.repo.path)
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", source, str(bare)], check=True)
    found = scan_history(open_repository(str(bare)), HistoryOptions())
    reachable = {"deleted", "message", "tag", "binary", "merge", "large", "spaced", "kept"}
    assert {f.key.fingerprint for f in found.findings} == {
        fingerprint(planted.keys[name]) for name in reachable
    }


def test_empty_repository(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    found = scan_history(open_repository(str(repo.path)), HistoryOptions())
    assert (found.findings, found.files, found.skipped) == ((), 0, ())


def test_shallow_clone_says_what_it_could_not_see(tmp_path: Path) -> None:
    origin = GitRepo(tmp_path / "origin")
    old, new = make_key(), make_key()
    origin.commit("old", ("old.txt", old + "\n"))
    origin.commit("middle", ("m.txt", "m\n"))
    head = origin.commit("new", ("new.txt", new + "\n"))
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin.path}", str(clone)], check=True
    )
    found = scan_history(open_repository(str(clone)), HistoryOptions())
    by_fp = {f.key.fingerprint: f for f in found.findings}
    # the boundary commit holds the whole tree, so both keys are in it
    assert by_fp[fingerprint(new)].commit == head
    assert by_fp[fingerprint(old)].commit == head
    assert any("shallow" in item.reason for item in found.skipped)


def test_missing_and_corrupt_objects_are_skipped_not_fatal(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "r")
    good, lost = make_key(), make_key()
    repo.commit("good", ("good.txt", good + "\n"))
    repo.commit("lost", ("lost.txt", lost + "\n"))
    blob = repo.git("rev-parse", "HEAD:lost.txt")
    loose = repo.path / ".git" / "objects" / blob[:2] / blob[2:]
    os.chmod(loose, 0o644)
    loose.write_bytes(b"this is not zlib data")
    found = scan_history(open_repository(str(repo.path)), HistoryOptions())
    assert [f.key.fingerprint for f in found.findings] == [fingerprint(good)]
    assert [item.path for item in found.skipped] == [f"(object {blob})"]
    assert "unreadable" in found.skipped[0].reason


def test_cli_history_json(planted: Planted, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["history", str(planted.repo.path), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    report = json.loads(out)
    assert report["summary"]["keys"] == len(planted.keys)
    messages = [f for f in report["findings"] if f["path"] is None]
    assert {f["tag"] for f in messages} == {None, "v1.0"}
    for key in planted.keys.values():
        assert key not in out and key not in err


def test_cli_history_text_lists_commits(
    planted: Planted, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["history", str(planted.repo.path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"commit {planted.commits['deleted'][:12]} by Ada Lovelace" in out
    assert "(message of tag v1.0)" in out
    assert "(commit message)" in out
    assert "git history" in out.lower() or "rewriting git history" in out.lower()
    for key in planted.keys.values():
        assert key not in out and key not in err


def test_cli_outside_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", str(tmp_path)]) == 2
    assert "not a git repository" in capsys.readouterr().err


def test_cli_exclude(planted: Planted, capsys: pytest.CaptureFixture[str]) -> None:
    main(["history", str(planted.repo.path), "--format", "json", "--exclude", "data/"])
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "data/big.txt" not in paths and "config.py" in paths


def test_history_of_this_project_is_clean() -> None:
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    process = subprocess.run(
        [*cmscan_executable(), "history", "-q", "--format", "json", str(root)],
        capture_output=True,
    )
    assert process.returncode == 0, process.stdout[-2000:]


def test_text_report_groups_one_key_across_commits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "r")
    key = make_key()
    first = repo.commit("one", ("a.py", f"K = '{key}'\n"))
    second = repo.commit("two", ("a.py", f"# moved\nK = '{key}'\n"))
    third = repo.commit(f"mention {key}")
    assert main(["history", str(repo.path)]) == 1
    out = capsys.readouterr().out
    masked = key[:7] + "\u2026" + key[-4:]
    assert sum(line.startswith(masked) for line in out.splitlines()) == 1  # one block
    assert "found in 3 places" in out
    for commit in (first, second, third):
        assert f"commit {commit[:12]}" in out
    assert key not in out


def test_parallel_scan_equals_serial(planted: Planted, result: ScanResult) -> None:
    parallel = scan_history(
        open_repository(str(planted.repo.path)),
        HistoryOptions(workers=2, parallel_min_bytes=0),
    )
    assert parallel == result
