"""Keys written with escapes: JSON/JS \\u002d and URL percent-encoding, decoded and bounded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cmscan.cli import main
from cmscan.detector import MAX_SPAN, Detector
from cmscan.keys import fingerprint
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from tests.keygen import make_key

DETECTOR = Detector()


def _found(data: bytes) -> list[tuple[int, str, str | None]]:
    return [
        (m.offset, m.key, m.encoding)
        for m in DETECTOR.find(data, 0, len(data), len(data), binary=False)
    ]


def _json_escaped(key: str, every: bool = False) -> str:
    body = key[3:]
    if every:
        body = "".join(f"\\u{ord(ch):04x}" for ch in body)
    return "cm\\u002d" + body


@pytest.mark.parametrize("every", [False, True])
@pytest.mark.parametrize("upper", [False, True])
def test_json_escaped_dash(every: bool, upper: bool) -> None:
    key = make_key()
    escaped = _json_escaped(key, every)
    if upper:
        escaped = escaped.replace("\\u002d", "\\u002D", 1)
    data = f'{{"apiKey":"{escaped}","x":1}}'.encode()
    assert _found(data) == [(11, key, "json-escape")]


@pytest.mark.parametrize("dash", ["%2D", "%2d"])
def test_percent_encoded(dash: str) -> None:
    key = make_key(40) + "_" + make_key(12)[3:]
    body = key[3:].replace("_", "%5F")
    data = f"GET /v1/chat?key=cm{dash}{body}&x=1 HTTP/1.1\n".encode()
    assert _found(data) == [(17, key, "percent-encoding")]


def test_escaped_words_are_still_not_keys() -> None:
    data = b'"cm\\u002dtooltip-autocomplete-disabled" cm%2Dyour-crossmodel-api-key-goes-here'
    assert _found(data) == []


def test_escaped_run_too_long_is_not_a_key() -> None:
    body = make_key(201)[3:]
    assert _found(f"cm%2D{body}".encode()) == []


def test_broken_escape_ends_the_body() -> None:
    key = make_key()
    data = f"cm%2D{key[3:]}%zz".encode()
    assert _found(data) == [(0, key, "percent-encoding")]


@pytest.mark.parametrize("shift", range(0, 40, 7))
def test_escaped_key_across_a_refill_boundary(shift: int) -> None:
    key = make_key(200)
    escaped = _json_escaped(key, every=True).encode()
    size = MIN_BUFFER
    prefix = b"x" * (size - MAX_SPAN - 10 + shift) + b" "
    scan = scan_stream(io.BytesIO(prefix + escaped + b'"\n'), DETECTOR, new_buffer(size))
    assert [(h.offset, h.key.fingerprint, h.encoding) for h in scan.hits] == [
        (len(prefix), fingerprint(key), "json-escape")
    ]


def test_cli_reports_the_encoding_and_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = make_key()
    (tmp_path / "config.json").write_text(
        json.dumps({"k": "x"}) + f'\n{{"k":"{_json_escaped(key)}"}}\n'
    )
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    (finding,) = json.loads(out)["findings"]
    assert (finding["line"], finding["encoding"]) == (2, "json-escape")
    assert finding["fingerprint"] == fingerprint(key)
    assert key not in out + err and key[3:] not in out + err
