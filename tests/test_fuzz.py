"""Fuzzing on a fixed budget: the detector, the decoders, the archive readers and the report
writers take arbitrary input without raising, and never let a full key through.

Runs are derandomized so CI is repeatable; a crash found here becomes a regression test
with the failing example pinned by ``@example``.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cmscan.archives import ArchiveScanner
from cmscan.base64keys import TRIGGERS, decode_window
from cmscan.compressed import DecompressingReader
from cmscan.detector import KEY_BYTES, Detector
from cmscan.formats import ArchiveLimits, Peeked, archive_kind, compression_of
from cmscan.keys import Key, scrub
from cmscan.model import Finding, Report, ScanResult, Skipped, Verdict
from cmscan.report import Format, render
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from cmscan.transcode import TranscodingReader
from tests.keygen import make_key
from tests.leakcorpus import tar_bytes, zip_bytes

BUDGET = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DETECTOR = Detector()
KEY = make_key(40)

# Bytes rich in the things the detector and decoders look for.
_PIECES = [b"cm-", b"cm\\u002d", b"cm%2D", b"Y20t", b"NtL", b"jbS", b"\\u00", b"%", b"\n", b"\0"]
noisy = st.lists(
    st.one_of(st.binary(max_size=40), st.sampled_from(_PIECES), st.just(KEY.encode())),
    max_size=60,
).map(b"".join)


@BUDGET
@given(data=noisy, binary=st.booleans(), encoded=st.booleans())
def test_detector_takes_anything(data: bytes, binary: bool, encoded: bool) -> None:
    for match in DETECTOR.find(data, 0, len(data), len(data), binary=binary, base64=encoded):
        body = match.key[3:]
        assert match.key.startswith("cm-") and 20 <= len(body) <= 200
        assert all(byte in KEY_BYTES for byte in body.encode())
        assert 0 <= match.offset < len(data) and match.length >= 3


@BUDGET
@given(data=noisy, shift=st.integers(0, 6000))
def test_refill_boundaries_change_nothing(data: bytes, shift: int) -> None:
    """The same bytes in one buffer and across the smallest buffer's refills."""
    data = b" " * (MIN_BUFFER - 1300 + shift) + data + b"\n" + data

    def places(buffer: bytearray) -> list[tuple[int, str, int | None, int | None, str | None]]:
        scan = scan_stream(io.BytesIO(data), DETECTOR, buffer)
        return [(h.offset, h.key.fingerprint, h.line, h.column, h.encoding) for h in scan.hits]

    assert places(new_buffer(MIN_BUFFER)) == places(new_buffer())


@BUDGET
@given(data=noisy, at=st.integers(0, 100), place=st.sampled_from([p for _, p in TRIGGERS]))
def test_base64_window_takes_anything(data: bytes, at: int, place: int) -> None:
    at = min(at, len(data))
    window = decode_window(data, at, place, 0, len(data))
    if window is not None:
        assert window.data[window.key_at : window.key_at + 3] == b"cm-"


@BUDGET
@given(text=st.text(max_size=200), before=st.text(max_size=20), encode=st.booleans())
def test_scrub_never_lets_a_key_through(text: str, before: str, encode: bool) -> None:
    planted = base64.b64encode((before + KEY).encode()).decode() if encode else KEY
    cleaned = scrub(text + " " + planted + " " + text)
    assert KEY not in cleaned and KEY[3:] not in cleaned
    if not encode:
        assert planted not in cleaned


_COMPRESSORS = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}


@BUDGET
@given(
    kind=st.sampled_from(sorted(_COMPRESSORS)),
    payload=noisy,
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=4),
)
def test_decompression_of_damaged_streams(
    kind: str, payload: bytes, cut: float, flips: list[tuple[float, int]]
) -> None:
    stream = bytearray(_COMPRESSORS[kind](payload))
    for where, value in flips:
        stream[int(where * (len(stream) - 1))] = value
    stream = stream[: max(6, int(cut * len(stream)))]
    if compression_of(bytes(stream)) is None:
        return
    reader = DecompressingReader(io.BytesIO(bytes(stream)), compression_of(bytes(stream)) or kind)
    scan = scan_stream(reader, DETECTOR, new_buffer())
    assert scan.size <= 1000 * len(stream) + (1 << 20)


@BUDGET
@given(data=st.binary(max_size=600), odd=st.booleans(), bom=st.booleans())
def test_utf16_transcoding_takes_anything(data: bytes, odd: bool, bom: bool) -> None:
    raw = (b"\xff\xfe" if bom else b"") + data + (b"\x00" if odd else b"")
    scan_stream(TranscodingReader(io.BytesIO(raw), "utf-16-le"), DETECTOR, new_buffer())


names = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30)


@BUDGET
@given(
    members=st.dictionaries(names, noisy, min_size=1, max_size=4),
    kind=st.sampled_from(["zip", "tar"]),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6),
    cut=st.floats(0.05, 1),
)
@example(members={"a": KEY.encode()}, kind="zip", flips=[(0.5, 0)], cut=0.5)
def test_damaged_archives_give_findings_or_reasons(
    members: dict[str, bytes], kind: str, flips: list[tuple[float, int]], cut: float
) -> None:
    blob = bytearray(zip_bytes(members) if kind == "zip" else tar_bytes(members, "w:gz"))
    for where, value in flips:
        blob[int(where * (len(blob) - 1))] = value
    blob = blob[: max(8, int(cut * len(blob)))]
    head = bytes(blob[:512])
    detected = archive_kind(head)
    if detected is None and compression_of(head) is None:
        return
    scanner = ArchiveScanner(DETECTOR, new_buffer(), ArchiveLimits(max_total=16 << 20))
    source = io.BytesIO(bytes(blob))
    if detected is None:  # a damaged gzip around the tar: read it the way the scanner does
        kind_of = compression_of(head)
        assert kind_of is not None
        reader = DecompressingReader(source, kind_of)
        items = list(scanner.scan(Peeked(reader), "tar", "x.tgz"))  # type: ignore[arg-type]
    else:
        items = list(scanner.scan(source, detected, "x"))
    for item in items:
        assert isinstance(item, (Finding, Skipped))


_STATUSES = ["unverified", "active", "inactive", "invalid", "account_disabled", "unknown"]
hostile = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40) | st.sampled_from(
    ["a,b:c", "%0A::error::x", "line\r\nbreak", "!", "dir/", ""]
)


@st.composite
def reports(draw: st.DrawFn) -> Report:
    findings = []
    verdicts = {}
    for _ in range(draw(st.integers(0, 4))):
        key = Key(make_key(draw(st.integers(20, 200))))
        path = draw(st.none() | hostile.map(lambda p: p + draw(st.sampled_from(["", KEY]))))
        line = draw(st.none() | st.integers(1, 10**9))
        findings.append(
            Finding(
                key,
                path,
                line,
                None if line is None else draw(st.integers(1, 10**9)),
                draw(st.sampled_from(["file", "archive", "git", "staged", "stdin"])),
                offset=draw(st.integers(0, 10**12)),
                commit=draw(st.none() | st.just("a" * 40)),
                author=draw(st.none() | hostile),
                context=draw(st.none() | hostile),
            )
        )
        status = draw(st.sampled_from(_STATUSES))
        verdicts[key.fingerprint] = Verdict(
            status,  # type: ignore[arg-type]
            draw(st.none() | st.floats(0, 1e9, allow_nan=False)),
            reason=draw(st.none() | hostile),
        )
    skipped = tuple(
        Skipped(draw(hostile) or "x", draw(hostile)) for _ in range(draw(st.integers(0, 3)))
    )
    result = ScanResult(tuple(findings), draw(st.integers(0, 10**6)), 0, skipped)
    return Report(result, "0.1.0", verdicts)


@BUDGET
@given(report=reports())
def test_every_format_renders_anything(report: Report) -> None:
    secrets = [finding.key.reveal() for finding in report.result.findings] + [KEY]
    for fmt in Format:
        text = render(report, fmt)
        assert not any(secret in text for secret in secrets), fmt
        if fmt in (Format.JSON, Format.SARIF):
            json.loads(text)
        if fmt is Format.GITHUB:  # the runner splits lines at CR and LF only
            assert "\r" not in text
            for line in text.rstrip("\n").split("\n") if text else []:
                assert line.startswith("::"), line  # one annotation per line, no breakout
