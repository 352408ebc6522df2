"""Walking trees and scanning files: what is scanned, what is skipped and why."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cmscan.detector import Detector
from cmscan.model import ScanResult
from cmscan.scanner import ScanOptions, scan_file, scan_paths
from cmscan.stream import new_buffer
from cmscan.walk import walk
from tests.keygen import make_key


def scan(*paths: str | Path, **options: object) -> ScanResult:
    return scan_paths([str(path) for path in paths], ScanOptions(**options))  # type: ignore[arg-type]


def located(result: ScanResult) -> list[tuple[str | None, int | None, int | None]]:
    return [(finding.path, finding.line, finding.column) for finding in result.findings]


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, str]:
    key = make_key()
    root = tmp_path / "project"
    (root / "src" / "deep" / "er").mkdir(parents=True)
    (root / "node_modules" / "pkg").mkdir(parents=True)
    (root / "src" / "config.py").write_text(f"API_KEY = '{key}'\n")
    (root / "src" / "deep" / "er" / "notes.md").write_text(f"\n\n  see {key} here\n")
    (root / "node_modules" / "pkg" / "index.js").write_text(f'var k="{key}";')
    (root / "clean.txt").write_text("nothing here, cm-short\n")
    git = root / ".git"
    git.mkdir()
    (git / "config").write_text(f"[remote]\n\turl = https://user:{key}@example.com\n")
    monkey = root / "src" / "with space é.txt"
    monkey.write_text(key)
    return root, key


def test_walks_recursively_and_skips_git_internals(tree: tuple[Path, str]) -> None:
    root, _ = tree
    result = scan(root)
    paths = [path for path, _, _ in located(result)]
    assert paths == [
        "node_modules/pkg/index.js",
        "src/config.py",
        "src/deep/er/notes.md",
        "src/with space é.txt",
    ]
    assert result.files == 5 and result.skipped == ()
    assert len(result.keys) == 1


def test_paths_are_relative_to_the_scanned_root(tree: tuple[Path, str], monkeypatch) -> None:
    root, _ = tree
    monkeypatch.chdir(root)
    assert located(scan("."))[:3] == [
        ("node_modules/pkg/index.js", 1, 8),
        ("src/config.py", 1, 12),
        ("src/deep/er/notes.md", 3, 7),
    ]
    assert [path for path, _, _ in located(scan("src/deep"))] == ["er/notes.md"]
    assert [path for path, _, _ in located(scan(root / "src" / "deep"))] == ["er/notes.md"]
    # a file named on the command line keeps the path it was given
    assert [path for path, _, _ in located(scan("src/./config.py"))] == ["src/config.py"]


def test_excludes_are_gitignore_patterns(tree: tuple[Path, str], monkeypatch) -> None:
    root, _ = tree
    monkeypatch.chdir(root)
    result = scan(".", excludes=("node_modules/", "*.md", "/src/with*"))
    assert [path for path, _, _ in located(result)] == ["src/config.py"]
    assert result.files == 2  # config.py and clean.txt


def test_overlapping_roots_scan_each_file_once(tree: tuple[Path, str], monkeypatch) -> None:
    root, _ = tree
    monkeypatch.chdir(root)
    result = scan(".", "src", "src/config.py")
    assert len(result.findings) == 4 and result.files == 5


def test_parallel_and_serial_scans_agree(tree: tuple[Path, str]) -> None:
    root, _ = tree
    for index in range(30):
        (root / "src" / f"filler{index}.js").write_text("x" * 5000 + " " + make_key() + "\n")
    serial = scan(root, workers=1)
    parallel = scan(root, workers=2, parallel_min_bytes=0)
    assert parallel == serial
    assert len(serial.findings) == 34


def test_symlinks_are_not_followed_out_of_the_tree(tmp_path: Path) -> None:
    key = make_key()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env").write_text(key)
    root = tmp_path / "root"
    root.mkdir()
    (root / "real.txt").write_text(key)
    (root / "inside-link.txt").symlink_to(root / "real.txt")
    (root / "outside-link").symlink_to(outside)
    (root / "outside-file").symlink_to(outside / "secret.env")
    (root / "broken").symlink_to(tmp_path / "nowhere")
    (root / "loop").symlink_to(root / "loop")
    (root / "dir-loop").symlink_to(root)
    result = scan(root)
    assert [finding.path for finding in result.findings] == ["real.txt"]
    reasons = {Path(item.path).name: item.reason for item in result.skipped}
    assert reasons == {
        "broken": "broken symbolic link",
        "loop": "symbolic link loop",
        "outside-file": "symbolic link to outside the scanned tree (not followed)",
        "outside-link": "symbolic link to outside the scanned tree (not followed)",
    }


def test_a_symlink_named_on_the_command_line_is_followed(tmp_path: Path) -> None:
    key = make_key()
    (tmp_path / "target.txt").write_text(key)
    (tmp_path / "link.txt").symlink_to(tmp_path / "target.txt")
    assert len(scan(tmp_path / "link.txt").findings) == 1


def test_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file.txt").write_text(make_key())
    result = scan(tmp_path)
    assert len(result.findings) == 1
    assert [(Path(s.path).name, s.reason) for s in result.skipped] == [
        ("pipe", "not a regular file (FIFO, socket or device)")
    ]


def test_file_vanishing_between_walk_and_read_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gone.log"
    path.write_text(make_key())
    (task,) = list(walk(str(tmp_path)))
    path.unlink()
    outcome = scan_file(task, Detector(), new_buffer())  # type: ignore[arg-type]
    assert outcome.skipped is not None
    assert outcome.skipped.reason == "vanished during the scan"


def test_directory_swapped_for_a_file_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "changes"
    path.write_text("x")
    (task,) = list(walk(str(tmp_path)))
    path.unlink()
    path.mkdir()
    outcome = scan_file(task, Detector(), new_buffer())  # type: ignore[arg-type]
    assert outcome.skipped is not None and "regular file" in outcome.skipped.reason


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root")
def test_unreadable_files_and_directories_are_skipped() -> None:
    """As root nothing is unreadable, so the scan runs as nobody in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="cmscan-perm-") as name:
        _scan_as_nobody(Path(name))


def _scan_as_nobody(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    key = make_key()
    (tmp_path / "open.txt").write_text(key)
    (tmp_path / "open.txt").chmod(0o644)
    (tmp_path / "closed.txt").write_text(key)
    (tmp_path / "closed.txt").chmod(0o600)
    closed_dir = tmp_path / "closed-dir"
    closed_dir.mkdir()
    (closed_dir / "inner.txt").write_text(key)
    closed_dir.chmod(0o700)
    command = [
        "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
        sys.executable, "-m", "cmscan", "scan", "--format", "json", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if "Permission denied" in completed.stderr and completed.returncode not in (0, 1):
        pytest.skip("nobody cannot run the interpreter here")
    assert completed.returncode == 1, completed.stderr
    import json

    summary = json.loads(completed.stdout)["summary"]
    assert summary["files"] == 1
    assert {(Path(s["path"]).name, s["reason"]) for s in summary["skipped"]} == {
        ("closed.txt", "permission denied"),
        ("closed-dir", "permission denied"),
    }


def test_binary_file_findings_have_no_line(tmp_path: Path) -> None:
    key = make_key(48)
    (tmp_path / "app.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100 + b"3" + key.encode())
    result = scan(tmp_path)
    (finding,) = result.findings
    assert (finding.line, finding.column, finding.offset) == (None, None, 117)


def test_stdin_is_scanned_as_a_stream() -> None:
    key = make_key()
    data = io.BytesIO(b"first\nsecond " + key.encode() + b"\n")
    result = scan_paths(["-"], ScanOptions(), stdin=data)
    assert [(f.path, f.line, f.column, f.source) for f in result.findings] == [("-", 2, 8, "stdin")]
    assert (result.files, result.bytes) == (1, len(data.getvalue()))


def test_progress_is_told_every_file(tree: tuple[Path, str]) -> None:
    root, _ = tree
    seen: list[tuple[int, int]] = []

    class Recorder:
        def advance(self, files: int, size: int) -> None:
            seen.append((files, size))

    result = scan_paths([str(root)], ScanOptions(), progress=Recorder())
    assert sum(files for files, _ in seen) == result.files
    assert sum(size for _, size in seen) == result.bytes
