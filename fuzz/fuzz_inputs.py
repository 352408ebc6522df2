"""Coverage-guided fuzzing of everything that reads untrusted bytes, with atheris.

    pip install atheris        # Linux, CPython 3.8-3.11 wheels
    python fuzz/fuzz_inputs.py -max_total_time=120 [CORPUS_DIR]

One input goes through the detector (text and binary, with base64), the refill scanner in
its smallest buffer, the decompressing reader and the archive walker when its first bytes
say so, and ``scrub``. Any exception is a crash (libFuzzer saves the input as
``crash-*``): turn it into a regression test in ``tests/test_fuzz.py`` with ``@example``.
CI runs the same code on a fixed hypothesis budget (``tests/test_fuzz.py``); this is for
longer, coverage-guided runs where atheris installs.
"""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from cmscan.archives import ArchiveScanner
    from cmscan.compressed import DecompressingReader
    from cmscan.detector import KEY_BYTES, Detector
    from cmscan.formats import ArchiveLimits, archive_kind, compression_of
    from cmscan.keys import scrub
    from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream

DETECTOR = Detector()
SMALL = new_buffer(MIN_BUFFER)
BUFFER = new_buffer()
LIMITS = ArchiveLimits(max_total=8 << 20, max_nested_in_memory=1 << 20)


def one_input(data: bytes) -> None:
    for binary in (False, True):
        for match in DETECTOR.find(data, 0, len(data), len(data), binary=binary, base64=True):
            assert match.key.startswith("cm-") and 20 <= len(match.key) - 3 <= 200
            assert all(byte in KEY_BYTES for byte in match.key[3:].encode())
    scan_stream(io.BytesIO(data), DETECTOR, SMALL)
    head = data[:512]
    compression = compression_of(head)
    if compression is not None:
        scan_stream(DecompressingReader(io.BytesIO(data), compression), DETECTOR, BUFFER)
    kind = archive_kind(head)
    if kind is not None:
        scanner = ArchiveScanner(DETECTOR, BUFFER, LIMITS)
        for _ in scanner.scan(io.BytesIO(data), kind, "fuzz"):
            pass
    scrub(data.decode("utf-8", "replace"))


def main() -> None:
    atheris.instrument_all()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
