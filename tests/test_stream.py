"""Scanning in fixed memory: buffer boundaries, line numbers, pipes, huge lines."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from cmscan.detector import MAX_SPAN, Detector
from cmscan.keys import Key, fingerprint
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from tests.keygen import make_key

DETECTOR = Detector()
SMALL = MIN_BUFFER  # the smallest buffer allowed: boundaries everywhere


class Pipe(io.RawIOBase):
    """A non-seekable reader that hands out at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int = 97) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._step, len(self._data))
        buffer[:count] = self._data[:count]
        self._data = self._data[count:]
        return count


def expected(data: bytes, key: str) -> list[tuple[int, int, int]]:
    """(offset, line, column) of every occurrence of ``key``, computed the slow way."""
    places = []
    start = data.find(key.encode())
    while start != -1:
        line_start = data.rfind(b"\n", 0, start) + 1
        places.append((start, data.count(b"\n", 0, start) + 1, start - line_start + 1))
        start = data.find(key.encode(), start + 1)
    return places


def scan_bytes(
    data: bytes, buffer_size: int, pipe: bool
) -> list[tuple[int, int | None, int | None]]:
    buffer = new_buffer(buffer_size)
    if pipe:
        result = scan_stream(Pipe(data), DETECTOR, buffer)
    else:
        reader = io.BytesIO(data)
        result = scan_stream(reader, DETECTOR, buffer, lambda at, size: data[at : at + size])
    assert result.size == len(data)
    return [(hit.offset, hit.line, hit.column) for hit in result.hits]


@pytest.mark.parametrize("pipe", [False, True])
def test_key_at_every_offset_around_a_buffer_boundary(pipe: bool) -> None:
    key = make_key(48)
    # The first refill keeps the last MAX_SPAN + 1 bytes; sweep the key across that seam.
    seam = SMALL - MAX_SPAN
    for start in range(seam - len(key) - 3, seam + len(key) + 3):
        data = b"a\n" * (start // 2) + b" " * (start % 2) + key.encode() + b"\n" + b"z" * SMALL
        assert scan_bytes(data, SMALL, pipe) == expected(data, key), start


@pytest.mark.parametrize("pipe", [False, True])
def test_many_keys_many_lines_small_buffer(pipe: bool) -> None:
    key = make_key(60)
    lines = []
    for index in range(400):
        lines.append(("x" * (index * 7 % 300)) + " " + (key if index % 9 == 0 else "cm-short"))
    data = "\n".join(lines).encode()
    assert scan_bytes(data, SMALL, pipe) == expected(data, key)


def test_key_at_the_very_end_without_newline() -> None:
    key = make_key()
    data = b"line\n" * 1000 + key.encode()
    assert scan_bytes(data, SMALL, pipe=False) == expected(data, key)
    assert scan_bytes(key.encode(), SMALL, pipe=True) == [(0, 1, 1)]


def test_several_megabyte_single_line(tmp_path: Path) -> None:
    key = make_key()
    chunk = b"var a=function(b){return b.cm-x+1};" * 1000
    data = chunk * 100 + key.encode() + chunk * 20 + b'"' + key.encode() + b'"'
    assert len(data) > 4_000_000
    path = tmp_path / "bundle.min.js"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as reader:
        fd = reader.fileno()
        result = scan_stream(
            reader, DETECTOR, new_buffer(1 << 16), lambda at, size: os.pread(fd, size, at)
        )
    assert [(hit.line, hit.column) for hit in result.hits] == [
        (1, len(chunk) * 100 + 1),
        (1, len(chunk) * 120 + len(key) + 2),
    ]


def test_binary_content_has_no_lines() -> None:
    key = make_key()
    data = b"\x00\x01\x02" * 100 + b"\n\n" + key.encode() + b"\x00"
    result = scan_stream(io.BytesIO(data), DETECTOR, new_buffer(SMALL))
    assert result.binary
    assert [(hit.offset, hit.line, hit.column) for hit in result.hits] == [(302, None, None)]


def test_nul_after_the_sniffed_prefix_is_still_text() -> None:
    key = make_key()
    data = b"a" * 9000 + b"\x00\n" + key.encode()
    result = scan_stream(
        io.BytesIO(data), DETECTOR, new_buffer(SMALL), lambda a, s: data[a : a + s]
    )
    assert not result.binary
    assert [(hit.line, hit.column) for hit in result.hits] == [(2, 1)]


def test_buffer_must_hold_a_few_spans() -> None:
    with pytest.raises(ValueError):
        new_buffer(MAX_SPAN)


def test_empty_input() -> None:
    result = scan_stream(io.BytesIO(b""), DETECTOR, new_buffer(SMALL))
    assert result.hits == () and result.size == 0 and not result.binary


def test_context_is_short_single_line_and_masked() -> None:
    key, other = make_key(), make_key()
    line = "x" * 100 + f' headers: {{"Authorization": "Bearer {key}", "X": "{other}"}} ' + "y" * 100
    data = f"first line\n{line}\nlast line\n".encode()
    scan = scan_stream(io.BytesIO(data), Detector(), new_buffer())
    first = next(hit for hit in scan.hits if hit.key.fingerprint == fingerprint(key))
    assert first.context is not None
    # 40 bytes of the line before the key, then the key masked
    assert first.context.startswith('xxxx headers: {"Authorization": "Bearer ' + Key(key).masked)
    assert key not in first.context
    assert other not in first.context and len(first.context) <= 40 + 13 + 40
    assert "\n" not in first.context


def test_binary_hits_have_no_context() -> None:
    key = make_key()
    scan = scan_stream(io.BytesIO(b"\0\1" + key.encode()), Detector(), new_buffer())
    assert [hit.context for hit in scan.hits] == [None]
