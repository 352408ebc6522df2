"""Archives walked in place: zip family and tar, nested, by content, with bomb limits."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.detector import Detector
from cmscan.formats import ArchiveLimits
from cmscan.keys import fingerprint
from cmscan.scanner import ScanOptions, scan_file, scan_paths
from cmscan.stream import new_buffer
from cmscan.walk import FileTask
from tests.keygen import make_key
from tests.leakcorpus import tar_bytes, zip_bytes


def _scan(path: Path, limits: ArchiveLimits | None = None):  # type: ignore[no-untyped-def]
    task = FileTask(path.name, str(path), path.stat().st_size, (0, 0))
    return scan_file(task, Detector(), new_buffer(), limits=limits or ArchiveLimits())


@pytest.mark.parametrize("name", ["app.apk", "lib.jar", "pkg.whl", "bundle.zip", "no-extension"])
def test_zip_family_by_content(tmp_path: Path, name: str) -> None:
    key = make_key()
    (tmp_path / name).write_bytes(
        zip_bytes(
            {"assets/config.json": b'{\n  "key": "' + key.encode() + b'"\n}\n', "a.txt": b"x"}
        )
    )
    outcome = _scan(tmp_path / name)
    (finding,) = outcome.findings
    assert (finding.path, finding.line, finding.column) == (f"{name}!assets/config.json", 2, 11)
    assert finding.source == "archive"
    assert finding.key.fingerprint == fingerprint(key)


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_plain_and_compressed(tmp_path: Path, mode: str) -> None:
    key = make_key()
    path = tmp_path / "release.tar"
    path.write_bytes(tar_bytes({"etc/app.env": f"A=1\nKEY={key}\n".encode()}, mode))
    outcome = _scan(path)
    assert [(f.path, f.line) for f in outcome.findings] == [("release.tar!etc/app.env", 2)]
    assert outcome.notes == ()


def test_nested_archives_and_path_notation(tmp_path: Path) -> None:
    inner_key, deep_key, gz_key = make_key(), make_key(), make_key()
    deepest = zip_bytes({"secret.txt": deep_key.encode()})
    inner = tar_bytes({"conf/k.txt": inner_key.encode(), "deep.zip": deepest})
    outer = zip_bytes(
        {"inner.tar.gz": gzip.compress(inner), "log.gz": gzip.compress(gz_key.encode())}
    )
    (tmp_path / "outer.zip").write_bytes(outer)
    outcome = _scan(tmp_path / "outer.zip")
    assert sorted(f.path for f in outcome.findings) == [
        "outer.zip!inner.tar.gz!conf/k.txt",
        "outer.zip!inner.tar.gz!deep.zip!secret.txt",
        "outer.zip!log.gz",
    ]


def test_depth_limit(tmp_path: Path) -> None:
    key = make_key()
    nested = zip_bytes({"k.txt": key.encode()})
    for level in range(4):
        nested = zip_bytes({f"level{level}.zip": nested})
    (tmp_path / "deep.zip").write_bytes(nested)
    outcome = _scan(tmp_path / "deep.zip", ArchiveLimits(max_depth=3))
    assert outcome.findings == ()  # too deep: scanned as bytes of a compressed member


def test_zip_bomb_member_is_skipped(tmp_path: Path) -> None:
    key = make_key()
    bomb = zip_bytes({"zeros.bin": b"\0" * (8 << 20), "real.txt": key.encode()})
    (tmp_path / "bomb.zip").write_bytes(bomb)
    outcome = _scan(tmp_path / "bomb.zip")
    assert [f.path for f in outcome.findings] == ["bomb.zip!real.txt"]
    assert [(n.path, "bomb" in n.reason) for n in outcome.notes] == [("bomb.zip!zeros.bin", True)]


def test_total_limit_stops_the_archive(tmp_path: Path) -> None:
    data = {f"f{i}.txt": bytes(1000) for i in range(5)}
    (tmp_path / "big.zip").write_bytes(zip_bytes(data, zipfile.ZIP_STORED))
    outcome = _scan(tmp_path / "big.zip", ArchiveLimits(max_total=2500))
    assert any("limit" in note.reason for note in outcome.notes)
    assert outcome.size <= 2500


def test_tar_with_absolute_and_dotdot_names_is_only_read(tmp_path: Path) -> None:
    key = make_key()
    path = tmp_path / "evil.tar"
    path.write_bytes(tar_bytes({"/etc/cron.d/x": key.encode(), "../../escape.txt": key.encode()}))
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    outcome = _scan(path)
    assert sorted(f.path for f in outcome.findings) == [
        "evil.tar!../../escape.txt",
        "evil.tar!/etc/cron.d/x",
    ]
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]


def test_corrupt_zip_is_reported_and_the_scan_goes_on(tmp_path: Path) -> None:
    key = make_key()
    good = zip_bytes({"a.txt": b"x" * 5000, "b.txt": key.encode()})
    (tmp_path / "broken.zip").write_bytes(good[: len(good) // 2])
    (tmp_path / "plain.txt").write_text(key + "\n")
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [f.path for f in result.findings] == ["plain.txt"]
    assert [item.path for item in result.skipped] == ["broken.zip"]
    assert "broken zip" in result.skipped[0].reason


def test_cli_reports_archive_members_with_mobile_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    (tmp_path / "app-release.apk").write_bytes(zip_bytes({"classes.dex": b"\0\x35" + key.encode()}))
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    (finding,) = json.loads(out)["findings"]
    assert finding["path"] == "app-release.apk!classes.dex"
    assert finding["source"] == "archive" and finding["line"] is None
    assert any("app" in step and "device" in step for step in finding["advice"])
    assert key not in out + err


def test_a_member_without_a_name_is_scanned(tmp_path: Path) -> None:
    """ZipInfo.is_dir() raises IndexError on an empty name (found by fuzzing)."""
    key = make_key()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), key.encode())
    (tmp_path / "odd.zip").write_bytes(out.getvalue())
    outcome = _scan(tmp_path / "odd.zip")
    assert [(f.path, f.key.reveal()) for f in outcome.findings] == [("odd.zip!(no name)", key)]
