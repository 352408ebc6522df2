"""Keys for tests, built at run time: the repository never holds a key-shaped string."""

from __future__ import annotations

import random
import string

PREFIX = "c" + "m-"
BASE62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
LOWER_ALNUM = string.ascii_lowercase + string.digits
BASE64URL = BASE62 + "_-"
ALPHABETS = {"base62": BASE62, "hex": HEX, "lower_alnum": LOWER_ALNUM, "base64url": BASE64URL}

_system = random.SystemRandom()


def make_body(length: int = 48, alphabet: str = BASE62, rng: random.Random | None = None) -> str:
    chooser = rng or _system
    return "".join(chooser.choice(alphabet) for _ in range(length))


def make_key(length: int = 48, alphabet: str = BASE62, rng: random.Random | None = None) -> str:
    """A random key: the prefix and ``length`` random characters of ``alphabet``."""
    return PREFIX + make_body(length, alphabet, rng)


def underscored_key(rng: random.Random | None = None) -> str:
    """The documented base64url shape: 12 random characters, ``_``, 40 more."""
    return PREFIX + make_body(12, BASE62, rng) + "_" + make_body(40, BASE62, rng)
