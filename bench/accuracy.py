"""How often the randomness test wrongly rejects a random key body, and what it reports
among the `cm-` strings of a real corpus.

    python bench/accuracy.py [--samples 1000000] [--corpus /tmp/cmscan-bench/src]

Random bodies are drawn with a seeded generator from each alphabet real keys plausibly use,
at the lengths where rejection is most likely (short bodies). Output is a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import string
import time
from collections.abc import Iterator
from pathlib import Path

from cmscan.detector import Detector, is_binary
from cmscan.randomness import looks_random

BASE62 = string.ascii_letters + string.digits
ALPHABETS = {
    "base62": BASE62,
    "lowercase hex": "0123456789abcdef",
    "lowercase alphanumeric": string.ascii_lowercase + string.digits,
    "base64url": BASE62 + "_-",
    "uppercase alphanumeric": string.ascii_uppercase + string.digits,
}
LENGTHS = (20, 24, 32, 48)
CANDIDATE = re.compile(rb"cm-[A-Za-z0-9_-]{20,}")


def rejection_rate(alphabet: str, length: int, samples: int, rng: random.Random) -> float:
    choices = rng.choices
    rejected = 0
    for _ in range(samples):
        if not looks_random("".join(choices(alphabet, k=length))):
            rejected += 1
    return rejected / samples


def corpus_files(root: Path) -> Iterator[Path]:
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def corpus_report(root: Path) -> tuple[int, int, list[str]]:
    """Naive-rule matches in the corpus, and what cmscan reports among them."""
    detector = Detector()
    naive = 0
    reported: list[str] = []
    for path in corpus_files(root):
        data = path.read_bytes()
        naive += len(CANDIDATE.findall(data))
        binary = is_binary(data)
        for match in detector.find(data, 0, len(data), len(data), binary=binary):
            reported.append(f"{path.relative_to(root)} @ {match.offset}")
    return naive, len(reported), reported


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000, help="bodies per cell")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--corpus", type=Path, action="append", default=[])
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.monotonic()
    print(f"Random bodies wrongly rejected ({args.samples:,} per cell, seed {args.seed}):\n")
    print("| alphabet | " + " | ".join(f"length {n}" for n in LENGTHS) + " |")
    print("|---|" + "---|" * len(LENGTHS))
    for name, alphabet in ALPHABETS.items():
        cells = []
        for length in LENGTHS:
            rate = rejection_rate(alphabet, length, args.samples, rng)
            cells.append("0" if rate == 0 else f"{rate:.1e}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for root in args.corpus:
        naive, count, reported = corpus_report(root)
        print(
            f"\nCorpus {root}: naive rule `cm-[A-Za-z0-9_-]{{20,}}` matches {naive}; "
            f"cmscan reports {count}."
        )
        for line in reported[:20]:
            print(f"  {line}")
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
