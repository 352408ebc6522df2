"""Inline ignores: a line holding ``cmscan:ignore``, in any comment syntax, is not reported."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cmscan.detector import Detector
from cmscan.gitrepo import open_repository
from cmscan.history import HistoryOptions, scan_history
from cmscan.scanner import ScanOptions, scan_paths
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from tests.gitutil import GitRepo
from tests.keygen import make_key

SYNTAXES = {
    "settings.py": 'KEY = "{key}"  # cmscan:ignore test fixture',
    "app.js": 'const key = "{key}"; // cmscan:ignore',
    "theme.css": "/* cmscan:ignore */ .x {{ --k: '{key}'; }}",
    "index.html": '<!-- cmscan:ignore --><meta content="{key}">',
    "seed.sql": "insert into k values ('{key}'); -- cmscan:ignore",
    "app.ini": "key = {key} ; cmscan:ignore",
    "values.yaml": "key: {key} # cmscan:ignore",
}


@pytest.mark.parametrize("name", sorted(SYNTAXES))
def test_marked_lines_are_not_reported(tmp_path: Path, name: str) -> None:
    ignored, reported = make_key(), make_key()
    (tmp_path / name).write_text(SYNTAXES[name].format(key=ignored) + f"\nother = '{reported}'\n")
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [(f.line, f.key.reveal()) for f in result.findings] == [(2, reported)]


def test_the_mark_covers_its_own_line_only(tmp_path: Path) -> None:
    key = make_key()
    (tmp_path / "a.py").write_text(f"# cmscan:ignore\nKEY = '{key}'\n")
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [f.line for f in result.findings] == [2]


def test_a_mark_just_before_a_refill_boundary_still_counts() -> None:
    key = make_key()
    line = f"x = '{key}'  # cmscan:ignore\n".encode()
    for shift in range(0, 3000, 500):
        data = b"y\n" * ((MIN_BUFFER - 1215) // 2 - shift) + b"# cmscan:ignore " + line
        scan = scan_stream(io.BytesIO(data), Detector(), new_buffer(MIN_BUFFER))
        assert scan.hits == ()


def test_history_honours_the_mark(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("fixture", ("tests/fixture.py", f"KEY = '{make_key()}'  # cmscan:ignore\n"))
    assert scan_history(open_repository(str(repo.path)), HistoryOptions()).findings == ()
