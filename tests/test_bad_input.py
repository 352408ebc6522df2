"""The bad-input matrix, the parts not covered beside the feature they hurt (symlink loops,
FIFOs, vanished and unreadable files are in test_scanner.py; corrupt objects in
test_history.py): each input is scanned or skipped with a reason, never a crash or a hang,
and the exit code follows SPEC (0 clean, 1 findings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.keys import fingerprint
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.runner import cmscan_executable


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([*args, "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out)


def test_paths_with_newlines_and_invalid_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    odd = os.fsencode(tmp_path) + b"/line\nbreak \xff\xfe name.txt"
    with open(odd, "wb") as handle:
        handle.write(f"KEY={key}\n".encode())
    code, report = _json(capsys, "scan", str(tmp_path))
    assert code == 1
    (finding,) = report["findings"]
    assert finding["fingerprint"] == fingerprint(key)
    assert "\n" in finding["path"] and "\udcff" not in json.dumps(report)  # shown, escaped
    code = main(["scan", str(tmp_path)])  # the text report: one line per place
    out = capsys.readouterr().out
    assert code == 1 and key not in out


def test_device_files_are_never_opened(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")  # a link to a device, named directly
    code, report = _json(capsys, "scan", str(tmp_path / "zero"))
    assert code == 0
    assert report["summary"]["skipped"] == [
        {"path": str(tmp_path / "zero"), "reason": "not a regular file (FIFO, socket or device)"}
    ]


def test_a_sparse_10_gb_file_is_scanned_in_flat_memory(tmp_path: Path) -> None:
    key = make_key()
    sparse = tmp_path / "disk.img"
    with open(sparse, "wb") as handle:
        handle.truncate(10 << 30)
        handle.seek((10 << 30) - 4096)
        handle.write(f"\n{key}\n".encode())
    measure = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "out = p.stdout.read(); _, status, use = os.wait4(p.pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), use.ru_maxrss, len(out))\n"
    )
    command = [*cmscan_executable(), "scan", str(sparse), "--format", "json", "-q"]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, timeout=300
    )
    code, peak_kib, _ = (int(field) for field in result.stdout.split())
    assert code == 1  # found at the very end, past 10 GB of NUL bytes (binary)
    assert peak_kib < 80_000, peak_kib
    assert time.monotonic() - started < 240


def test_a_50_mb_single_line_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    line = tmp_path / "bundle.min.js"
    with open(line, "wb") as handle:
        handle.write(b"a=1;" * (25 << 18))
        handle.write(f'k="{key}";'.encode())
        handle.write(b"b=2;" * (25 << 18))
    code, report = _json(capsys, "scan", str(line))
    (finding,) = report["findings"]
    assert code == 1 and finding["line"] == 1 and finding["column"] == (25 << 20) + 4
    assert len(finding["context"]) < 120  # a short piece of the line, never the line


@pytest.mark.parametrize("layout", ["zero-padded records", "16-bit integers"])
def test_nul_heavy_binary(tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: str) -> None:
    """Mostly NUL bytes; or small 16-bit integers, whose NUL in every other byte makes
    them look like UTF-16 text: a plain key among them is still found."""
    key = make_key()
    if layout == "zero-padded records":
        blob = bytearray(1 << 20)
        blob[::97] = os.urandom(len(blob[::97]))
    else:
        blob = bytearray(b"".join(n.to_bytes(2, "little") for n in os.urandom(1 << 19)))
    blob[5000:5000] = b"\x33" + key.encode() + b"\0"
    (tmp_path / "data.bin").write_bytes(bytes(blob))
    code, report = _json(capsys, "scan", str(tmp_path))
    assert code == 1
    assert [f["fingerprint"] for f in report["findings"]] == [fingerprint(key)]


def test_a_very_deep_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    deep = tmp_path
    for _ in range(400):  # 400 levels: deeper than any recursion limit would allow
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "k.txt").write_text(key)
    code, report = _json(capsys, "scan", str(tmp_path))
    assert code == 1 and report["findings"][0]["path"].count("/") == 400


def test_a_file_that_grows_and_shrinks_while_scanned(tmp_path: Path) -> None:
    key = make_key()
    log = tmp_path / "app.log"
    log.write_bytes(b"x\n" * (8 << 20) + f"{key}\n".encode())
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            with open(log, "r+b") as handle:
                handle.truncate(1 << 20)
            with open(log, "ab") as handle:
                handle.write(b"y\n" * (4 << 20))

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        result = subprocess.run(
            [*cmscan_executable(), "scan", str(tmp_path), "--format", "json"],
            capture_output=True,
            timeout=60,
        )
    finally:
        stop.set()
        worker.join()
    assert result.returncode in (0, 1) and b"Traceback" not in result.stderr
    json.loads(result.stdout)


def test_a_repository_in_the_middle_of_a_rebase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("base", ("a.txt", "base\n"))
    repo.git("checkout", "-q", "-b", "feature")
    key = make_key()
    repo.commit("feature", ("a.txt", f"feature {key}\n"))
    repo.git("checkout", "-q", "main")
    repo.commit("main", ("a.txt", "main\n"))
    repo.git("checkout", "-q", "feature")
    with pytest.raises(AssertionError):  # the rebase stops on the conflict
        repo.git("rebase", "main")
    assert (repo.path / ".git" / "rebase-merge").exists()
    code, report = _json(capsys, "history", str(repo.path))
    assert code == 1 and {f["fingerprint"] for f in report["findings"]} == {fingerprint(key)}
    code, report = _json(capsys, "staged", str(repo.path))
    assert code in (0, 1)
    code, report = _json(capsys, "scan", str(repo.path))
    assert code == 1  # the conflicted work tree file holds the key


@pytest.mark.parametrize("text", [True, False], ids=["text", "binary"])
def test_holes_are_jumped_and_nothing_moves(tmp_path: Path, text: bool) -> None:
    """A sparse file gives the same findings, offsets, lines and columns as the same bytes
    written out in full: the holes (unwritten zeros) are only skipped, never misplaced."""
    keys = [make_key() for _ in range(4)]
    pieces = [  # (offset, bytes): data islands between holes of many MiB
        # text: no NUL in the first 8,000 bytes, so lines are counted across the holes
        (0, (b"a line of text\n" * 600 if text else b"\0bin\n") + f"a {keys[0]}\n".encode()),
        ((23 << 20) - 7, f"\nline {keys[1]} end\n".encode()),  # just before a block edge
        ((41 << 20) + 1, f"{keys[2]}\n\n".encode()),
        ((80 << 20) - 60, f"tail {keys[3]}".encode()),  # the very end
    ]
    size = pieces[-1][0] + len(pieces[-1][1])
    sparse, dense = tmp_path / "sparse.img", tmp_path / "dense.img"
    with open(sparse, "wb") as handle:
        handle.truncate(size)
        for offset, data in pieces:
            handle.seek(offset)
            handle.write(data)
    with open(dense, "wb") as handle:
        at = 0
        for offset, data in pieces:
            handle.write(b"\0" * (offset - at) + data)
            at = offset + len(data)
    assert os.stat(sparse).st_blocks * 512 < size // 2  # the file system kept the holes

    def places(path: Path) -> list[tuple[int, int | None, int | None, str]]:
        from cmscan.scanner import ScanOptions, scan_paths

        result = scan_paths([str(path)], ScanOptions(workers=1))
        assert result.bytes == size
        return [(f.offset or 0, f.line, f.column, f.key.reveal()) for f in result.findings]

    found = places(sparse)
    assert [key for *_, key in found] == keys
    assert found == places(dense)
    assert (found[3][1] is not None) == text  # lines only in text content
