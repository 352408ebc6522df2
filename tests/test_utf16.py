"""UTF-16 text: keys found in LE and BE files, with or without a byte-order mark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.formats import utf16_of
from cmscan.keys import fingerprint
from cmscan.scanner import ScanOptions, scan_paths
from tests.keygen import make_key


@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-16-le", b"", "utf-16-le"),
        ("utf-16-be", b"", "utf-16-be"),
    ],
)
def test_utf16_files(tmp_path: Path, codec: str, bom: bytes, expected: str) -> None:
    key = make_key()
    text = "# settings exported by a Windows tool\r\n" * 3 + f"ApiKey = {key}\r\nEnd\r\n"
    path = tmp_path / "settings.txt"
    path.write_bytes(bom + text.encode(codec))
    result = scan_paths([str(path)], ScanOptions(workers=1))
    (finding,) = result.findings
    assert finding.key.fingerprint == fingerprint(key)
    assert (finding.line, finding.column, finding.encoding) == (4, 10, expected)


def test_odd_byte_count_still_finds_the_key(tmp_path: Path) -> None:
    key = make_key()
    data = b"\xff\xfe" + f"k={key}\n".encode("utf-16-le") + b"\x41"  # one stray byte
    (tmp_path / "odd.txt").write_bytes(data)
    result = scan_paths([str(tmp_path)], ScanOptions(workers=1))
    assert [f.key.fingerprint for f in result.findings] == [fingerprint(key)]


def test_sniffing() -> None:
    assert utf16_of("plain text, long enough".encode("utf-16-le")) == "utf-16-le"
    assert utf16_of(b"plain ascii text that is long enough") is None
    assert utf16_of(b"\x00\x01\x02\x03" * 64) is None  # binary, not text
    assert utf16_of(b"\xff\xfe\x00\x00" + b"x" * 40) is None  # a UTF-32 mark


def test_json_says_how_it_was_encoded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = make_key()
    (tmp_path / "a.ps1").write_bytes(b"\xff\xfe" + f"$k='{key}'".encode("utf-16-le"))
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    (finding,) = json.loads(out)["findings"]
    assert finding["encoding"] == "utf-16-le" and finding["line"] == 1
    assert key not in out + err
