"""Does a candidate key body look random, or is it a word, a placeholder or a mask?

A real key body is drawn at random from some alphabet; the strings that merely share the
``cm-`` prefix are made by people: CSS class names (``completionListIncompleteBottom``),
slugs and branch names (``add-login-page-redirect``), placeholders (``YOUR_KEY_HERE``,
``xxxxxxxx``), masks and sequences (``0123456789abcdef``). Each test below names one of those
shapes and rejects only bodies that fit it; everything else is treated as random.

Every threshold is chosen so that a random body of at least 20 characters, from any of the
alphabets keys plausibly use (base62, lowercase hex, lowercase alphanumerics, base64url),
passes with overwhelming probability (the rates are measured by
``tests/test_randomness.py`` and documented in the README).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

# Cost, in bits, of each letter following another in English text: -log2 P(next | previous),
# rounded and stored as 'a' (0 bits) to 'p' (15 bits). Row and column 26 stand for a word
# boundary. Counted over the words (split at case changes) seen at least 20 times in the
# English text of a Debian machine: CPython's documentation and standard library, the man
# pages and /usr/share/doc.
_BIGRAM_TABLE = (
    "jfeeihfjflgdedlfkdedfghigkf"
    "ehggdhhjefjdhieglefhdkliejd"
    "eifidikdfleehjchlfhdfikkgld"
    "egifciiiejjgiieimgfigjjkinb"
    "fhfegfhjimkffejgiddejhhfhmc"
    "eighffklcnlfkjdjmegffmlmgnc"
    "gifgcjhfellfgeggmeehejjljjc"
    "dhkhbkljdmjjiidhngifgmjnilc"
    "ffeffefmjlhefcdfjgddjgmgmhf"
    "djiicjkkgkjjdidhkjfidkilllc"
    "fihhbigjemkghgfhlgehgjgkjlc"
    "eiifcfildnkejjdgkjfffijmfkd"
    "cfihcklkenjheiedlkgifklkhnd"
    "ekedefejflhhihehmkedfhllhkc"
    "hgffiegkhhhfecgfmdffeffjjld"
    "dlhgdihgfniejhdeldfefjklfhd"
    "ikiiijkljllejikihfghbjkklld"
    "eifgcifleohhffdimfeeghjmfnc"
    "gkfjdijfenhhiiffjhedfjjmglb"
    "elgidhlddhjhhkegnefggmhjflc"
    "gfffehglfmieedieodddklmhmjf"
    "cjhkbjjldnkjhjfhnghjjkmjlle"
    "dkiiekjdcmhhjgejmfejjmhmmmc"
    "ejehefjjemjhglidlihdjjlghic"
    "hiiihkhlgnlgfffdmgeeilimljb"
    "dijibjjheljgghdkljhkhkklhfc"
    "eeeefefgehhfffeejeedfgfijjo"
)
_BOUNDARY = 26
_COST = [[ord(_BIGRAM_TABLE[row * 27 + col]) - ord("a") for col in range(27)] for row in range(27)]

# A segment (the text between separators) splits into atoms: a capitalised or lowercase
# word, an uppercase run or a digit run. "selectionHandle" -> selection, Handle.
_ATOM = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_SEGMENT = re.compile(r"[^-_]+")

# Short words that identifiers are built from; a bigram cost says little about 2-3 letters.
_SHORT_WORDS = frozenset(
    """
    am an as at be by do go id if in io is it js me my no of ok on or os so to ui up us we
    add age all alt and any api app are arg ask bad bar big bin bit box btn buf bug but can
    cmd col css ctx day db def del dev did dir div doc dot end env err etc exc ext few fit
    fix for gen get git had has hex hit how img int its job key len let lib log low map max
    may min mod msg nav net new not now num obj off old one opt our out own per pid pin pop
    pos pre put raw red ref req res row run see set sha src str sub sum svg sys tab tag the
    tip tmp too top try two url use val var via was way web who why yes yet you
    """.split()
)
_JUNCTION = re.compile(r"(?<=[A-Za-z])[0-9]|(?<=[0-9])[A-Za-z]")


@dataclass(frozen=True)
class RandomnessRules:
    """Thresholds for :func:`looks_random`. Raising them rejects more; see the module doc."""

    min_distinct: int = 5
    """Fewer distinct characters than this is a run or a mask (``xxxx``, ``abab``)."""
    max_share: float = 0.6
    """One character making up this share of the body or more is a mask or filler."""
    max_run: int = 10
    """A run of this many identical characters is filler."""
    max_step_share: float = 0.5
    """This share of ascending neighbours (``0123``, ``abcd``) or more is a sequence."""
    word_cost: float = 4.8
    """An atom of 3 to 11 letters whose mean bigram cost is at most this reads as a word."""
    segment_word_cost: float = 5.5
    """The same for a whole segment between separators, which random bodies rarely have."""
    long_word_cost: float = 4.5
    """The same for atoms of 12 letters or more, where random letters average out lower."""
    max_word_share: float = 0.75
    """A body whose words, numbers and separators cover this share or more is prose."""


def looks_random(body: str, rules: RandomnessRules = RandomnessRules()) -> bool:
    """Return True unless ``body`` has one of the human-made shapes described above."""
    n = len(body)
    counts = Counter(body)
    if len(counts) < rules.min_distinct:
        return False
    if max(counts.values()) >= rules.max_share * n:
        return False
    if _longest_run(body) >= rules.max_run:
        return False
    if _ascending_steps(body) >= rules.max_step_share * (n - 1):
        return False
    return _word_coverage(body, rules) < rules.max_word_share * n


def _longest_run(body: str) -> int:
    best = run = 1
    for previous, current in pairwise(body):
        run = run + 1 if current == previous else 1
        best = max(best, run)
    return best


def _ascending_steps(body: str) -> int:
    return sum(1 for previous, current in pairwise(body) if ord(current) - ord(previous) == 1)


def _word_coverage(body: str, rules: RandomnessRules) -> int:
    """How many characters of ``body`` belong to words, numbers or separators.

    A segment between separators counts whole when it is a number of up to 8 digits
    (dates, versions, issue numbers) or a short word of up to 3 letters (``to``, ``api``;
    upper case only in an all-caps body like ``YOUR_API_KEY``). In a longer segment,
    letters and digits that alternate more than twice are random; otherwise each atom that
    is a common short word or has 4+ letters that read as English counts, and so does a
    trailing number of up to 2 digits (``python3``). Upper-case runs count only in an
    all-caps body: random mixed case is full of them.
    """
    all_caps = not any(char.islower() for char in body)
    covered = body.count("-") + body.count("_")
    for segment in _SEGMENT.finditer(body):
        text = segment.group()
        if text.isdigit():
            covered += len(text) if len(text) <= 8 else 0
        elif len(text) <= 3:
            if text.isalpha() and (text.islower() or all_caps):
                covered += len(text)
        elif len(_JUNCTION.findall(text)) <= 2:
            for atom in _ATOM.finditer(text):
                word = atom.group()
                if word.isdigit():
                    covered += len(word) if atom.end() == len(text) and len(word) <= 2 else 0
                elif all_caps or not word.isupper():
                    alone = atom.start() == 0 and atom.end() == len(text)
                    covered += len(word) if _reads_as_word(word.lower(), alone, rules) else 0
    return covered


def _reads_as_word(word: str, alone: bool, rules: RandomnessRules) -> bool:
    """Whether ``word`` (lower case) reads as English; ``alone`` if it is a whole segment."""
    if len(word) <= 3:
        return word in _SHORT_WORDS
    if len(word) >= 12:
        limit = rules.long_word_cost
    else:
        limit = rules.segment_word_cost if alone else rules.word_cost
    return _mean_cost(word) <= limit


def _mean_cost(word: str) -> float:
    total = 0
    previous = _BOUNDARY
    for char in word:
        current = ord(char) - 97
        total += _COST[previous][current]
        previous = current
    total += _COST[previous][_BOUNDARY]
    return total / (len(word) + 1)
