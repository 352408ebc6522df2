"""The cat-file --batch reader: object boundaries, in-place and streamed objects, truncation."""

from __future__ import annotations

import random

import pytest

from cmscan.catfile import BatchReader, TruncatedOutput
from cmscan.detector import Detector
from cmscan.keys import fingerprint
from tests.keygen import make_key


class ChunkedPipe:
    """A raw stream that hands out data in random small pieces, like a pipe under load."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data = memoryview(data)
        self._at = 0
        self._rng = random.Random(seed)

    def readinto(self, target: memoryview) -> int:
        size = min(len(target), self._rng.randint(1, 3000), len(self._data) - self._at)
        target[:size] = self._data[self._at : self._at + size]
        self._at += size
        return size


def _object(oid: str, kind: str, content: bytes) -> bytes:
    return f"{oid} {kind} {len(content)}\n".encode() + content + b"\n"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("capacity", [1024, 4096, 1 << 16])
def test_objects_in_place_and_streamed(seed: int, capacity: int) -> None:
    rng = random.Random(seed)
    keys = [make_key(rng=rng) for _ in range(4)]
    big_prefix = b"".join(b"line %d of a big blob\n" % i for i in range(400))  # > capacity
    commit = (
        b"tree 1111\nparent 2222\nparent 3333\nauthor A <a@x> 1 +0000\n"
        b"committer A <a@x> 1 +0000\n\nsubject\n\nbody " + keys[2].encode() + b"\n"
    )
    stream = b"".join(
        [
            _object("a" * 40, "blob", b"x = '" + keys[0].encode() + b"'\n"),
            _object("b" * 40, "tree", b"100644 f\0" + bytes(20)),
            b"c" * 40 + b" missing\n",
            _object("d" * 40, "blob", big_prefix + b"k " + keys[1].encode() + b"\nend\n"),
            _object("e" * 40, "commit", commit),
            _object("f" * 40, "blob", b"\0\x01" + keys[3].encode()),
            _object("0" * 40, "blob", b""),
        ]
    )
    objects = list(BatchReader(ChunkedPipe(stream, seed), Detector(), capacity).objects())
    assert [o.header.type for o in objects] == [
        "blob", "tree", "missing", "blob", "commit", "blob", "blob",
    ]  # fmt: skip
    small, _, missing, big, message, binary, empty = objects
    assert missing.header.oid == "c" * 40
    assert [(h.key.fingerprint, h.line, h.column, h.offset) for h in small.hits] == [
        (fingerprint(keys[0]), 1, 6, 5)
    ]
    (hit,) = big.hits
    assert (hit.line, hit.column, hit.offset) == (401, 3, len(big_prefix) + 2)
    (hit,) = message.hits
    assert message.parents == 2
    assert message.message_start is not None
    assert hit.line is not None and hit.line - message.message_newlines == 3
    assert hit.offset - message.message_start == len(b"subject\n\nbody ")
    assert binary.binary and [(h.line, h.offset) for h in binary.hits] == [(None, 2)]
    assert empty.hits == () and empty.header.size == 0


@pytest.mark.parametrize(
    "stream",
    [
        b"a" * 40 + b" blob 10\nshort",
        b"a" * 40 + b" blob 3\nabc",  # the LF after the content is missing
        b"a" * 40 + b" blob",  # header without a newline
        b"nonsense header line\n",
    ],
)
def test_truncated_output_is_an_error_not_a_hang(stream: bytes) -> None:
    with pytest.raises(TruncatedOutput):
        list(BatchReader(ChunkedPipe(stream, 1), Detector(), 1024).objects())


def test_large_truncated_object() -> None:
    stream = b"a" * 40 + b" blob 100000\n" + b"x" * 5000
    with pytest.raises(TruncatedOutput):
        list(BatchReader(ChunkedPipe(stream, 3), Detector(), 1024).objects())
