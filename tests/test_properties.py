"""Property tests of the grammar: random bodies are always found once, traps never."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmscan.detector import KEY_BYTES, MAX_BODY, MIN_BODY, Detector
from tests.keygen import BASE62, BASE64URL, HEX, LOWER_ALNUM, PREFIX

DETECTOR = Detector()
PROPERTY = settings(
    max_examples=300, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


# Random bodies come from a seeded generator: hypothesis picks the seed, length and
# alphabet, and shrinks those, but never hand-crafts the characters (a body of hypothesis'
# own choosing would be "aaaa...", which is rightly not a key).
def _random_body(seed: int, length: int, alphabet: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


bodies = st.builds(
    _random_body,
    st.integers(0, 2**64),
    st.integers(MIN_BODY, MAX_BODY),
    st.sampled_from([BASE62, BASE64URL, HEX, LOWER_ALNUM, BASE62 + "_", BASE62 + "-"]),
)
non_key_bytes = st.binary(max_size=64).map(
    lambda data: bytes(byte for byte in data if byte not in KEY_BYTES)
)


def found(data: bytes, binary: bool) -> list[tuple[int, str]]:
    return [(m.offset, m.key) for m in DETECTOR.find(data, 0, len(data), len(data), binary=binary)]


@PROPERTY
@given(body=bodies, before=non_key_bytes, after=non_key_bytes, binary=st.booleans())
def test_random_body_between_non_key_bytes_found_exactly_once(
    body: str, before: bytes, after: bytes, binary: bool
) -> None:
    key = PREFIX + body
    data = before + key.encode() + after
    assert found(data, binary) == [(len(before), key)]


words = st.sampled_from(
    """tooltip autocomplete completion list incomplete bottom selection handle start search
    match selected snippet field position info right narrow icon variable property keyword
    your api key goes here replace with own crossmodel example test dummy fake placeholder
    feature add login page redirect fix broken links footer release notes docs update
    editor gutter active line highlight fold panel widget theme dark light content scroller
    """.split()
)


def _camel(parts: list[str]) -> str:
    return parts[0] + "".join(part.capitalize() for part in parts[1:])


human_made = st.one_of(
    st.lists(words, min_size=3, max_size=8).map("-".join),
    st.lists(words, min_size=3, max_size=8).map("_".join),
    st.lists(words, min_size=3, max_size=6).map(_camel),
    st.lists(words, min_size=3, max_size=6).map(lambda parts: "_".join(parts).upper()),
    st.tuples(st.sampled_from("xX*0a_-"), st.integers(MIN_BODY, MAX_BODY)).map(
        lambda pair: pair[0] * pair[1]
    ),
    st.integers(0, 40).map(lambda start: ("0123456789abcdefghijklmnopqrstuvwxyz" * 4)[start:][:30]),
    st.tuples(st.text(BASE62, min_size=4, max_size=4), st.integers(MIN_BODY, 60)).map(
        lambda pair: pair[0] + "x" * pair[1] + pair[0]
    ),
)


@PROPERTY
@given(body=human_made, before=non_key_bytes, after=non_key_bytes)
def test_human_made_bodies_are_never_reported(body: str, before: bytes, after: bytes) -> None:
    data = before + (PREFIX + body).encode() + after
    assert found(data, binary=False) == []


@PROPERTY
@given(
    prefix=st.text(BASE64URL, min_size=1, max_size=30).filter(lambda p: not p.startswith(PREFIX)),
    body=bodies,
)
def test_cm_inside_a_longer_token_is_not_a_key_in_text(prefix: str, body: str) -> None:
    data = (prefix + PREFIX + body).encode()
    assert found(data, binary=False) == []
