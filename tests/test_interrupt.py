"""Interruptions and concurrency: Ctrl-C leaves no report behind and exits 130; workers die
with the parent; two runs writing one --output never interleave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from cmscan.parallel import map_in_processes
from tests.keygen import make_key
from tests.runner import cmscan_executable


def test_ctrl_c_mid_scan_exits_130_and_writes_no_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    process = subprocess.Popen(
        [*cmscan_executable(), "scan", "-", "--format", "json", "--output", str(report)],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(f"key = {make_key()}\n".encode() * 1000)
    process.stdin.flush()  # the scan is now waiting for more input
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err
    assert os.listdir(tmp_path) == []  # no report, no temp file


def _slow_unless_first(run: list[int]) -> list[int]:
    if run != [0]:
        time.sleep(30)
    return run


def test_an_interrupt_kills_busy_workers_at_once() -> None:
    def interrupt(run: list[int], result: list[int]) -> None:
        raise KeyboardInterrupt

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        map_in_processes(_slow_unless_first, [[0], [1], [2]], 2, interrupt)
    assert time.monotonic() - started < 10  # not the 30 s a busy worker would take


def test_two_runs_writing_one_output_never_interleave(tmp_path: Path) -> None:
    trees = []
    for name, count in (("small", 1), ("large", 400)):
        tree = tmp_path / name
        tree.mkdir()
        for index in range(count):
            (tree / f"f{index}.txt").write_text(make_key() + "\n")
        trees.append(tree)
    report = tmp_path / "report.json"
    for _ in range(3):
        runs = [
            subprocess.Popen(
                [
                    *cmscan_executable(),
                    "scan",
                    str(tree),
                    "-q",
                    "--format",
                    "json",
                    "-o",
                    str(report),
                ]
            )
            for tree in trees
        ]
        assert [run.wait(timeout=60) for run in runs] == [1, 1]
        findings = len(json.loads(report.read_text())["findings"])  # whole, valid JSON
        assert findings in (1, 400)
    assert sorted(os.listdir(tmp_path)) == ["large", "report.json", "small"]
