"""Rotated and compressed logs: gzip, bzip2 and xz read as streams, by content not name."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.compressed import DecompressingReader, compression_of
from cmscan.keys import fingerprint
from cmscan.scanner import ScanOptions, scan_paths
from tests.keygen import make_key

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


def _log(key: str, lines: int = 50_000, at: int = 40_000) -> bytes:
    body = [f'10.0.0.{i % 250} - - "GET /item/{i} HTTP/1.1" 200 {i}\n' for i in range(lines)]
    body[at] = f'10.0.0.1 - - "GET /chat?key={key} HTTP/1.1" 200 1\n'
    return "".join(body).encode()


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_log_found_with_decompressed_line(tmp_path: Path, kind: str) -> None:
    key = make_key()
    path = tmp_path / "logs" / "access.log.3.gz"  # the name says gzip; the content decides
    path.parent.mkdir()
    path.write_bytes(COMPRESSORS[kind](_log(key)))
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    (finding,) = result.findings
    assert finding.key.fingerprint == fingerprint(key)
    assert (finding.path, finding.line, finding.column) == ("logs/access.log.3.gz", 40_001, 29)
    assert result.bytes == len(_log(key))
    assert result.skipped == ()


def test_multi_member_gzip_and_name_without_extension(tmp_path: Path) -> None:
    first, second = make_key(), make_key()
    path = tmp_path / "rotated"
    path.write_bytes(
        gzip.compress(f"a {first}\n".encode()) + gzip.compress(f"b {second}\n".encode())
    )
    result = scan_paths([str(path)], ScanOptions(workers=1))
    assert [(f.line, f.key.fingerprint) for f in result.findings] == [
        (1, fingerprint(first)),
        (2, fingerprint(second)),
    ]


def test_truncated_gzip_keeps_what_was_found(tmp_path: Path) -> None:
    key = make_key()
    data = gzip.compress(f"x {key}\n".encode() + os.urandom(300_000).hex().encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) // 2])
    result = scan_paths([str(path)], ScanOptions(workers=1))
    assert [f.key.fingerprint for f in result.findings] == [fingerprint(key)]
    (note,) = result.skipped
    assert note.path == str(path) and "cut short" in note.reason
    assert result.files == 1


def test_corrupt_gzip_is_reported_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + b"\xff" * 200)
    other = tmp_path / "ok.txt"
    key = make_key()
    other.write_text(key + "\n")
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [f.path for f in result.findings] == ["ok.txt"]
    assert [item.path for item in result.skipped] == ["bad.gz"]
    assert "corrupt" in result.skipped[0].reason


def test_decompression_bomb_is_cut_off() -> None:
    bomb = bz2.compress(b"\0" * (16 << 20))  # tens of bytes that expand to 16 MB
    reader = DecompressingReader(io.BytesIO(bomb), "bzip2")
    buffer = memoryview(bytearray(1 << 20))
    total = 0
    while got := reader.readinto(buffer):
        total += got
    assert reader.problem is not None and "expands" in reader.problem
    assert total < 16 << 20


def test_magic_bytes() -> None:
    assert compression_of(gzip.compress(b"x")) == "gzip"
    assert compression_of(bz2.compress(b"x")) == "bzip2"
    assert compression_of(lzma.compress(b"x")) == "xz"
    assert compression_of(b"plain text") is None


def test_cli_json_on_gzip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(f"k={key}\n".encode()))
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    (finding,) = json.loads(out)["findings"]
    assert (finding["path"], finding["line"]) == ("a.log.gz", 1)
    assert key not in out + err
