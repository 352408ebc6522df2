"""Keys hidden in base64: Kubernetes Secrets, Basic auth, every alignment, bounded."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
from pathlib import Path

import pytest

from cmscan.base64keys import WINDOW
from cmscan.cli import main
from cmscan.detector import MAX_SPAN, Detector, Rules
from cmscan.gitrepo import open_repository
from cmscan.history import HistoryOptions, scan_history
from cmscan.keys import fingerprint, scrub
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from tests.gitutil import GitRepo
from tests.keygen import BASE64URL, make_key

DETECTOR = Detector()


def _found(data: bytes) -> list[tuple[int, str, str | None]]:
    matches = DETECTOR.find(data, 0, len(data), len(data), binary=False, base64=True)
    return [(m.offset, m.key, m.encoding) for m in matches]


def _b64(text: str, urlsafe: bool = False, pad: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    encoded = encode(text.encode()).decode()
    return encoded if pad else encoded.rstrip("=")


@pytest.mark.parametrize("before", ["", ":", "user:", "ab:", '{"key":"'])
@pytest.mark.parametrize("urlsafe", [False, True])
@pytest.mark.parametrize("pad", [False, True])
def test_every_alignment_and_alphabet(before: str, urlsafe: bool, pad: bool) -> None:
    key = make_key(52, BASE64URL)
    encoded = _b64(before + key + '"', urlsafe, pad)
    data = f"Authorization: Basic {encoded}\n".encode()
    ((offset, found, encoding),) = _found(data)
    assert (found, encoding) == (key, "base64")
    group = len("Authorization: Basic ") + len(before) // 3 * 4
    assert offset == group  # the 4 characters that hold the key's "c"


@pytest.mark.parametrize("length", [20, 33, 100, 200])
def test_body_lengths_in_range(length: int) -> None:
    key = make_key(length)
    assert _found(_b64(key).encode()) == [(0, key, "base64")]


def test_too_long_or_glued_bodies_are_not_keys() -> None:
    assert _found(_b64(make_key(201)).encode()) == []
    assert _found(_b64("x" + make_key()).encode()) == []  # "xcm-…": glued to a word


def test_encoded_look_alikes_are_not_keys() -> None:
    words = ["cm-tooltip-autocomplete-disabled", "cm-YOUR_KEY_HERE_PLEASE_X", "cm-" + "x" * 40]
    for word in words:
        assert _found(_b64(word).encode()) == []


def test_random_base64_gives_nothing() -> None:
    rng = random.Random(5)
    blob = base64.b64encode(rng.randbytes(3_000_000))
    assert _found(blob) == []


@pytest.mark.parametrize("shift", range(0, 12))
def test_key_across_a_refill_boundary(shift: int) -> None:
    key = make_key(200)
    encoded = _b64("u:" + key).encode()
    size = MIN_BUFFER
    prefix = b"x" * (size - MAX_SPAN - 6 + shift) + b" "
    scan = scan_stream(io.BytesIO(prefix + encoded + b"\n"), DETECTOR, new_buffer(size))
    assert [(h.offset, h.key.fingerprint, h.encoding) for h in scan.hits] == [
        (len(prefix), fingerprint(key), "base64")
    ]


def test_only_the_first_bytes_of_an_input_are_decoded() -> None:
    key = make_key()
    line = b"Authorization: Basic " + _b64("u:" + key).encode() + b"\n"
    detector = Detector(Rules(base64_bytes=2 << 20))
    early = b"x\n" * 1000 + line
    late = b"x\n" * (3 << 20) + line
    for data, count in ((early, 1), (late, 0)):
        scan = scan_stream(io.BytesIO(data), detector, new_buffer())
        assert len(scan.hits) == count
    assert WINDOW < MAX_SPAN  # one decode window always fits in a refill's overlap


def test_scrub_masks_encoded_keys() -> None:
    key = make_key()
    for before in ("", ":", "ab:"):
        encoded = _b64(before + key)
        text = scrub(f"header Basic {encoded} and {key}")
        assert key not in text and encoded not in text
        assert text.count("cm-" + key[3:7] + "\u2026" + key[-4:]) == 2


def _manifest(key: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm\ntype: Opaque\ndata:\n"
        f"  CROSSMODEL_API_KEY: {_b64(key)}\n  region: {_b64('eu-west-1')}\n"
    )


def test_kubernetes_secret_and_gzip_log_in_the_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret, logged = make_key(), make_key(40)
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "secret.yaml").write_text(_manifest(secret))
    header = f'10.0.0.1 - - "GET / HTTP/1.1" 200 auth="Basic {_b64("svc:" + logged)}"\n'
    (tmp_path / "access.log.1.gz").write_bytes(gzip.compress(b"ok\n" * 5 + header.encode()))
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    out, err = capsys.readouterr()
    places = {
        (f["path"], f["line"], f["encoding"], f["fingerprint"]) for f in json.loads(out)["findings"]
    }
    assert places == {
        ("k8s/secret.yaml", 7, "base64", fingerprint(secret)),
        ("access.log.1.gz", 6, "base64", fingerprint(logged)),
    }
    for key in (secret, logged):
        assert key not in out + err and _b64(key) not in out + err


def test_history_finds_an_encoded_key(tmp_path: Path) -> None:
    key = make_key()
    repo = GitRepo(tmp_path / "repo")
    repo.commit("deploy", ("deploy/secret.yaml", _manifest(key)))
    (finding,) = scan_history(open_repository(str(repo.path)), HistoryOptions()).findings
    assert (finding.path, finding.line, finding.encoding) == ("deploy/secret.yaml", 7, "base64")
    assert finding.key.fingerprint == fingerprint(key)
