"""Progress and colour appear only on a terminal, and never in the report."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from cmscan.progress import TerminalProgress
from tests.keygen import make_key


def cmscan_command() -> list[str]:
    script = Path(sys.executable).with_name("cmscan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cmscan"]


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed: EIO on Linux
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def run_with_terminal(
    args: list[str], terminal: str, env: dict[str, str]
) -> tuple[int, bytes, bytes]:
    """Run cmscan with ``terminal`` ("stdout" or "stderr") attached to a pty."""
    leader, follower = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, terminal: follower}
    process = subprocess.Popen([*cmscan_command(), *args], env=env, **streams)  # type: ignore[call-overload]
    os.close(follower)
    seen = read_all(leader)
    other = process.stderr if terminal == "stdout" else process.stdout
    rest = other.read() if other else b""
    code = process.wait()
    os.close(leader)
    return code, seen, rest


def test_progress_on_a_terminal_stderr_only(tmp_path: Path) -> None:
    key = make_key()
    for index in range(50):
        (tmp_path / f"f{index}.txt").write_text("line\n" * 2000 + (key if index == 7 else ""))
    env = {**os.environ}
    code, terminal, report = run_with_terminal(
        ["scan", "--format", "json", str(tmp_path)], "stderr", env
    )
    assert code == 1
    assert b"scanned" in terminal and b"files" in terminal
    assert json.loads(report)["summary"]["files"] == 50
    assert key.encode() not in terminal + report


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    completed = subprocess.run(
        [*cmscan_command(), "scan", str(tmp_path)], capture_output=True, check=False
    )
    assert completed.returncode == 0 and completed.stderr == b""


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(make_key())
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    _, terminal, _ = run_with_terminal(["scan", str(tmp_path)], "stdout", env)
    assert b"\033[" in terminal
    _, plain, _ = run_with_terminal(["scan", str(tmp_path)], "stdout", {**env, "NO_COLOR": "1"})
    assert b"\033[" not in plain
    piped = subprocess.run(
        [*cmscan_command(), "scan", str(tmp_path)], capture_output=True, env=env, check=False
    )
    assert b"\033[" not in piped.stdout


def test_progress_line_is_cleared_at_the_end() -> None:
    stream = io.StringIO()
    progress = TerminalProgress(stream)
    progress.advance(3, 3_000_000)
    progress.close()
    assert stream.getvalue() == "\r\033[Kscanned 3 files, 3.0 MB\r\033[K"
