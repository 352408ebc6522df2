"""``cmscan redact``: byte-identical rewrites except the keys, atomic, refusing what it must."""

from __future__ import annotations

import base64
import bz2
import errno
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import signal
import subprocess
import tarfile
import time
import urllib.parse
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

import cmscan.redact as redact_module
from cmscan.cli import cli
from cmscan.detector import Detector
from cmscan.redact import (
    TEMP_PREFIX,
    Outcome,
    RedactOptions,
    Redactor,
    find_replacements,
    redact_paths,
)
from cmscan.stream import MIN_BUFFER, new_buffer, scan_stream
from tests.gitutil import GitRepo
from tests.keygen import BASE62, BASE64URL, HEX, PREFIX, make_key
from tests.runner import cmscan_executable

SMALL = MIN_BUFFER  # the smallest buffer: keys straddle many refills
ELLIPSIS = "\u2026"

Part = bytes | tuple[str, str | None]
"""A piece of a test file: bytes kept as they are, or a key and how it is written
(``ignored``: plainly on a line marked ``cmscan:ignore``, so it stays)."""


def written(key: str, encoding: str | None = None) -> bytes:
    if encoding == "ignored":
        return key.encode() + b" # cmscan:ignore\n"
    if encoding == "base64":
        return b"Authorization: Basic " + base64.b64encode(b"user:" + key.encode()) + b"\n"
    if encoding == "json-escape":
        return ("cm\\u002d" + key[3:]).encode()
    if encoding == "percent-encoding":
        return ("cm%2D" + key[3:].replace("_", "%5F")).encode()
    return key.encode()


def masked(key: str, encoding: str | None = None) -> bytes:
    if encoding in ("ignored", "base64"):
        return written(key, encoding)
    dots = {None: ELLIPSIS, "json-escape": "\\u2026", "percent-encoding": "%E2%80%A6"}[encoding]
    body = key[len(PREFIX) :]
    return (PREFIX + body[:4] + dots + body[-4:]).encode()


def compose(parts: Sequence[Part]) -> tuple[bytes, bytes]:
    """The file's bytes, and what they must be after redaction."""
    before, after = [], []
    for part in parts:
        if isinstance(part, bytes):
            before.append(part)
            after.append(part)
        else:
            before.append(written(*part))
            after.append(masked(*part))
    return b"".join(before), b"".join(after)


_FILLER = [
    "GET /v1/models HTTP/1.1 200 \u00e9t\u00e9 \U0001f511\r\n",
    PREFIX + "completionListIncompleteBottom cm-YOUR_KEY cm-... --cm-editor-bg\n",
    "\ttab\x01ctl\x7f\n",
    "INFO worker started pid=4242\n",
    "x-cm-header: abc\n",
    "",
]
_AROUND = [(b'"', b'"'), (b"(", b")"), (b"=", b";"), (b" ", b"\n"), (b"[", b"]")]


def sample(
    rng: random.Random, keys: int = 30, filler: int = 40, every_form: bool = False
) -> list[Part]:
    """Text with keys (plain and escaped; with ``every_form`` also base64 and on ignored
    lines) between non-key bytes, one at each end."""
    encodings = [None, None, None, "json-escape", "percent-encoding"]
    if every_form:
        encodings += ["base64", "ignored"]
    alphabets = [BASE62, HEX, BASE64URL]
    key = make_key(rng.randrange(20, 201), rng.choice(alphabets), rng)
    parts: list[Part] = [(key, None), b"\n"]
    for _ in range(keys):
        before, after = rng.choice(_AROUND)
        text = "".join(rng.choice(_FILLER) for _ in range(rng.randrange(filler)))
        key = make_key(rng.randrange(20, 201), rng.choice(alphabets), rng)
        parts += [text.encode() + before, (key, rng.choice(encodings)), after]
    parts += [b"\n", (make_key(48, BASE62, rng), None)]  # at the very end, no newline
    return parts


def keys_of(parts: Sequence[Part]) -> list[str]:
    return [part[0] for part in parts if isinstance(part, tuple)]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def redact(*paths: Path, **options: object) -> list[Outcome]:
    return list(redact_paths([str(path) for path in paths], RedactOptions(**options)))  # type: ignore[arg-type]


def no_key_in(text: str | bytes, keys: Sequence[str]) -> None:
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    for key in keys:
        assert key.encode() not in data
        assert key[3:].encode() not in data


def temp_files(directory: Path) -> list[Path]:
    return [path for path in directory.iterdir() if path.name.startswith(TEMP_PREFIX)]


def snapshot(path: Path) -> tuple[bytes, int, int, int]:
    info = os.stat(path)
    return path.read_bytes(), info.st_ino, info.st_mtime_ns, info.st_ctime_ns


# --- plain files ---------------------------------------------------------------------------


@pytest.mark.parametrize("buffer_size", [SMALL, 1 << 20])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_plain_file_is_identical_except_the_keys(
    tmp_path: Path, buffer_size: int, seed: int
) -> None:
    parts = sample(random.Random(seed), keys=60)
    before, after = compose(parts)
    target = tmp_path / "app.log"
    target.write_bytes(before)
    [outcome] = redact(target, buffer_size=buffer_size)
    assert outcome.status == "redacted"
    assert outcome.keys == len(keys_of(parts))
    assert target.read_bytes() == after
    for item in outcome.replacements:  # lines are those of the original text
        assert item.line == before[: item.offset].count(b"\n") + 1
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("seed", range(4))
def test_finds_exactly_what_scan_finds(seed: int) -> None:
    """Same offsets, keys and encodings as the scanner, across refill boundaries."""
    parts = sample(random.Random(seed), keys=80, every_form=True)
    before, _ = compose(parts)
    detector = Detector()
    scanned = scan_stream(io.BytesIO(before), detector, new_buffer(SMALL))
    found = find_replacements(io.BytesIO(before), detector, new_buffer(SMALL))
    assert [(hit.offset, hit.key, hit.encoding) for hit in scanned.hits] == [
        (item.offset, item.key, item.encoding) for item in found.replacements
    ]
    assert found.size == len(before)
    encodings = {item.encoding for item in found.replacements}
    assert {None, "json-escape", "percent-encoding", "base64"} <= encodings
    ignored = [part[0] for part in parts if isinstance(part, tuple) and part[1] == "ignored"]
    assert ignored and not {item.key.reveal() for item in found.replacements} & set(ignored)


def test_keys_on_ignored_lines_stay(tmp_path: Path) -> None:
    kept, gone = make_key(), make_key()
    target = tmp_path / "fixtures.py"
    target.write_bytes(written(kept, "ignored") + b"real = '" + gone.encode() + b"'\n")
    [outcome] = redact(target)
    assert outcome.keys == 1
    assert target.read_bytes() == written(kept, "ignored") + b"real = '" + masked(gone) + b"'\n"


def test_a_key_in_base64_refuses_the_file(tmp_path: Path) -> None:
    plain, encoded = make_key(), make_key()
    target = tmp_path / "access.log"
    target.write_bytes(plain.encode() + b"\n" + written(encoded, "base64"))
    stats = snapshot(target)
    code, out, err = run("redact", str(target))
    assert code == 1
    assert f"{target}: not redacted, 2 keys left: holds keys written in base64" in out
    assert snapshot(target) == stats
    no_key_in(out + err, [plain, encoded])


def test_escaped_keys_keep_json_and_urls_valid(tmp_path: Path) -> None:
    first, second = make_key(), make_key(40) + "_" + make_key(12)[3:]
    document = tmp_path / "config.json"
    document.write_bytes(b'{"apiKey": "' + written(first, "json-escape") + b'", "n": 1}\n')
    link = tmp_path / "access.log"
    link.write_bytes(b"GET /v1/chat?key=" + written(second, "percent-encoding") + b"&x=1\n")
    redact(document, link)
    value = json.loads(document.read_text())["apiKey"]
    assert value.encode() == masked(first)
    query = link.read_text().split("?", 1)[1].split(" ")[0]
    assert urllib.parse.parse_qs(query)["key"] == [masked(second).decode()]
    assert [o.status for o in redact(document, link)] == ["clean", "clean"]


def test_keyless_files_are_not_touched(tmp_path: Path) -> None:
    plain = tmp_path / "clean.log"
    plain.write_text("cm-YOUR_KEY and " + PREFIX + "completionListIncompleteBottom\n")
    packed = tmp_path / "clean.log.gz"
    packed.write_bytes(gzip.compress(b"nothing here\n"))
    stats = [snapshot(plain), snapshot(packed)]
    time.sleep(0.01)
    assert [o.status for o in redact(tmp_path)] == ["clean", "clean"]
    assert [snapshot(plain), snapshot(packed)] == stats


def test_mode_owner_and_times_are_kept(tmp_path: Path) -> None:
    key = make_key()
    target = tmp_path / "app.log"
    target.write_text(f"token={key}\n")
    target.chmod(0o640)
    os.utime(target, ns=(1_600_000_000_123_456_789, 1_500_000_000_987_654_321))
    before = os.stat(target)
    [outcome] = redact(target)
    after = os.stat(target)
    assert outcome.status == "redacted"
    assert after.st_ino != before.st_ino  # a new file renamed into place
    assert (after.st_mode, after.st_uid, after.st_gid) == (
        before.st_mode,
        before.st_uid,
        before.st_gid,
    )
    assert (after.st_atime_ns, after.st_mtime_ns) == (before.st_atime_ns, before.st_mtime_ns)
    assert target.read_bytes() == b"token=" + masked(key) + b"\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file another owner")
def test_owner_is_kept_for_root(tmp_path: Path) -> None:
    target = tmp_path / "app.log"
    target.write_text(f"{make_key()}\n")
    os.chown(target, 4321, 4322)
    redact(target)
    info = os.stat(target)
    assert (info.st_uid, info.st_gid) == (4321, 4322)


# --- compressed files ----------------------------------------------------------------------


def _gzip(data: bytes, name: str | None = "access.log", mtime: int = 1_234_567_890) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename=name or "", mode="wb", fileobj=buffer, mtime=mtime) as out:
        out.write(data)
    return buffer.getvalue()


def test_gzip_is_identical_when_decompressed_and_keeps_its_header(tmp_path: Path) -> None:
    parts = sample(random.Random(7), keys=40)
    before, after = compose(parts)
    target = tmp_path / "access.log.1.gz"
    original = _gzip(before)
    target.write_bytes(original)
    [outcome] = redact(target, buffer_size=SMALL)
    assert outcome.status == "redacted"
    result = target.read_bytes()
    assert gzip.decompress(result) == after
    assert result[4:8] == original[4:8]  # mtime
    assert result[9] == original[9]  # OS
    assert result[3] & 0x08  # FNAME kept
    assert result[10 : 10 + len(b"access.log") + 1] == b"access.log\0"
    no_key_in(result, keys_of(parts))
    no_key_in(gzip.decompress(result), keys_of(parts))


def test_multi_member_gzip_becomes_one_member(tmp_path: Path) -> None:
    key = make_key()
    first, second = b"first member\n", b"second " + key.encode() + b" member\n"
    target = tmp_path / "rotated.gz"
    target.write_bytes(gzip.compress(first) + gzip.compress(second))
    redact(target)
    assert gzip.decompress(target.read_bytes()) == first + b"second " + masked(key) + b" member\n"


@pytest.mark.parametrize("kind", ["bzip2", "xz"])
def test_bzip2_and_xz_keep_their_settings(tmp_path: Path, kind: str) -> None:
    parts = sample(random.Random(11), keys=10)
    before, after = compose(parts)
    target = tmp_path / f"app.log.{kind}"
    if kind == "bzip2":
        target.write_bytes(bz2.compress(before, 3))
    else:
        target.write_bytes(lzma.compress(before, lzma.FORMAT_XZ, check=lzma.CHECK_CRC32))
    [outcome] = redact(target)
    assert outcome.status == "redacted"
    result = target.read_bytes()
    if kind == "bzip2":
        assert result[:4] == b"BZh3"
        assert bz2.decompress(result) == after
    else:
        assert result[7] & 0x0F == lzma.CHECK_CRC32
        assert lzma.decompress(result) == after


@pytest.mark.parametrize("damage", ["trailing bytes", "corrupt", "cut short"])
def test_damaged_compressed_files_are_left_alone(tmp_path: Path, damage: str) -> None:
    key = make_key()
    data = _gzip(f"line\n{key}\n".encode() + bytes(random.Random(3).randbytes(4000).hex(), "ascii"))
    if damage == "trailing bytes":
        data += b"not gzip"
    elif damage == "corrupt":
        data = data[:40] + bytes(byte ^ 0x5A for byte in data[40:80]) + data[80:]
    else:
        data = data[: len(data) // 2]
    target = tmp_path / "old.log.gz"
    target.write_bytes(data)
    code, out, err = run("redact", str(target))
    assert code == 1
    assert "not redacted" in out
    assert target.read_bytes() == data
    assert temp_files(tmp_path) == []
    no_key_in(out + err, [key])


# --- refusals ------------------------------------------------------------------------------


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _tar_gz(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "build", "reason"),
    [
        ("cache.bin", lambda key: b"\x00\x01" + key + b"\x00", "binary content"),
        ("bundle.zip", lambda key: _zip("a.env", key), "zip archive"),
        ("site.tar.gz", lambda key: _tar_gz("a.env", key), "tar archive"),
        (
            "notes.txt",
            lambda key: b"\xff\xfe" + f"k={key.decode()}\n".encode("utf-16-le"),
            "UTF-16",
        ),
    ],
)
def test_containers_and_binaries_with_keys_are_refused(
    tmp_path: Path, name: str, build: object, reason: str
) -> None:
    key = make_key()
    target = tmp_path / name
    target.write_bytes(build(key.encode()))  # type: ignore[operator]
    stats = snapshot(target)
    code, out, err = run("redact", str(tmp_path))
    assert code == 1
    assert f"{target}: not redacted, 1 key left: " in out
    assert reason in out
    assert snapshot(target) == stats
    no_key_in(out + err, [key])


def test_containers_and_binaries_without_keys_are_clean(tmp_path: Path) -> None:
    (tmp_path / "image.bin").write_bytes(b"\x00\x01\x02 nothing")
    (tmp_path / "bundle.zip").write_bytes(_zip("a.txt", b"hello"))
    code, out, err = run("redact", str(tmp_path))
    assert (code, out) == (0, "")
    assert "2 files without keys" in err


def test_git_work_tree_is_refused_unless_forced(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    key = make_key()
    repo.commit("add a log", ("logs/app.log", f"boot\nkey={key}\n"))
    target = repo.path / "logs" / "app.log"
    original = target.read_bytes()
    code, out, err = run("redact", str(repo.path))
    assert code == 1
    assert "git work tree" in out and "--force" in out and "history" in out
    assert target.read_bytes() == original
    code, out, err = run("redact", "--force", str(target))
    assert code == 0
    assert target.read_bytes() == b"boot\nkey=" + masked(key) + b"\n"
    no_key_in(out + err, [key])


def test_a_git_file_marks_a_work_tree_too(tmp_path: Path) -> None:
    """Linked work trees and submodules have a ``.git`` file, not a directory."""
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text("gitdir: /elsewhere/.git/worktrees/wt\n")
    (tmp_path / "wt" / "deep").mkdir()
    target = tmp_path / "wt" / "deep" / "a.log"
    target.write_text(make_key())
    [outcome] = redact(target)
    assert outcome.status == "refused" and "git work tree" in (outcome.reason or "")


def test_hard_links_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "a.log"
    target.write_text(f"{make_key()}\n")
    os.link(target, tmp_path / "b.log")
    outcomes = redact(target)
    assert [(o.status, o.keys) for o in outcomes] == [("refused", 1)]
    assert "hard links" in (outcomes[0].reason or "")


def test_symlink_argument_redacts_its_target_and_stays_a_link(tmp_path: Path) -> None:
    key = make_key()
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "app.log"
    target.write_text(f"x {key}\n")
    link = tmp_path / "current.log"
    link.symlink_to(target)
    [outcome] = redact(link)
    assert outcome.status == "redacted"
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == b"x " + masked(key) + b"\n"
    assert temp_files(tmp_path / "real") == [] and temp_files(tmp_path) == []


def test_symlinks_inside_directories_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.log"
    outside.write_text(f"{make_key()}\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "out.log").symlink_to(outside)
    original = outside.read_bytes()
    code, out, _ = run("redact", str(tmp_path / "tree"))
    assert (code, out) == (0, "")
    assert outside.read_bytes() == original


def test_excluded_paths_are_left_alone(tmp_path: Path) -> None:
    kept = tmp_path / "keep.gz"
    kept.write_bytes(gzip.compress(make_key().encode()))
    original = kept.read_bytes()
    (tmp_path / "a.log").write_text(make_key())
    code, _, _ = run("redact", "--exclude", "*.gz", str(tmp_path))
    assert code == 0
    assert kept.read_bytes() == original


# --- the command line ----------------------------------------------------------------------


def test_dry_run_lists_keys_and_writes_nothing(tmp_path: Path) -> None:
    first, second = make_key(), make_key(30)
    target = tmp_path / "app.log"
    target.write_bytes(b"a\nb " + first.encode() + b"\n" + written(second, "json-escape"))
    stats = snapshot(target)
    code, out, err = run("redact", "--dry-run", str(tmp_path))
    assert code == 1
    assert out.splitlines() == [
        f"{target}:2: {masked(first).decode()}",
        f"{target}:3: {masked(second).decode()} (json-escape)",
    ]
    assert "dry run: 2 keys in 1 file would be masked; nothing was written" in err
    assert snapshot(target) == stats
    assert temp_files(tmp_path) == []
    no_key_in(out + err, [first, second])


def test_redact_reports_each_file_then_has_nothing_left_to_do(tmp_path: Path) -> None:
    keys = [make_key() for _ in range(3)]
    (tmp_path / "a.log").write_text(f"{keys[0]}\n{keys[1]}\n")
    (tmp_path / "b.log.gz").write_bytes(gzip.compress(f"{keys[2]}\n".encode()))
    (tmp_path / "c.log").write_text("nothing\n")
    code, out, err = run("redact", str(tmp_path))
    assert code == 0
    assert out.splitlines() == [
        f"{tmp_path / 'a.log'}: masked 2 keys",
        f"{tmp_path / 'b.log.gz'}: masked 1 key",
    ]
    assert "masked 3 keys in 2 files; 1 file without keys" in err
    no_key_in(out + err, keys)
    stats = [snapshot(path) for path in sorted(tmp_path.iterdir())]
    code, out, err = run("redact", "-v", str(tmp_path))
    assert (code, out) == (0, "")
    assert [snapshot(path) for path in sorted(tmp_path.iterdir())] == stats
    assert "3 files without keys" in err


def test_verbose_lists_masked_keys_only(tmp_path: Path) -> None:
    key = make_key()
    target = tmp_path / "a.log"
    target.write_text(f"k={key}\n")
    code, out, err = run("redact", "-v", str(target))
    assert code == 0
    assert out.splitlines() == [f"{target}: masked 1 key", f"{target}:1: {masked(key).decode()}"]
    no_key_in(out + err, [key])


def test_usage_errors(tmp_path: Path) -> None:
    assert run("redact")[0] == 2
    code, _, err = run("redact", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in err


# --- crashes and interruptions ---------------------------------------------------------------


def _failing_sink(monkeypatch: pytest.MonkeyPatch, error: BaseException, after: int) -> None:
    """Make the writer fail once ``after`` bytes have been written to it."""
    real = redact_module._sink

    class Failing:
        def __init__(self, inner: object) -> None:
            self.inner = inner
            self.count = 0

        def write(self, data: bytes | memoryview) -> None:
            if self.count >= after:
                raise error
            self.count += len(data)
            self.inner.write(data)  # type: ignore[attr-defined]

        def finish(self) -> None:
            self.inner.finish()  # type: ignore[attr-defined]

    monkeypatch.setattr(redact_module, "_sink", lambda *args: Failing(real(*args)))


@pytest.mark.parametrize("compressed", [False, True])
def test_a_failed_write_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compressed: bool
) -> None:
    before, _ = compose(sample(random.Random(5), keys=50, filler=400))
    target = tmp_path / ("app.log.gz" if compressed else "app.log")
    target.write_bytes(gzip.compress(before) if compressed else before)
    stats = snapshot(target)
    _failing_sink(monkeypatch, OSError(errno.ENOSPC, "No space left on device"), 20_000)
    [outcome] = redact(target, buffer_size=SMALL)
    assert outcome.status == "refused"
    assert "No space left on device" in (outcome.reason or "")
    assert snapshot(target) == stats
    assert temp_files(tmp_path) == []


def test_an_interrupt_mid_write_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, _ = compose(sample(random.Random(6), keys=50, filler=400))
    target = tmp_path / "app.log"
    target.write_bytes(before)
    stats = snapshot(target)
    _failing_sink(monkeypatch, KeyboardInterrupt(), 10_000)
    code, _, err = run("redact", str(target))
    assert code == 130
    assert "interrupted" in err
    assert snapshot(target) == stats
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failure_before_the_rename_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    target = tmp_path / "app.log"
    target.write_text(f"a {make_key()}\n")
    stats = snapshot(target)

    def fail(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, step, fail)
    [outcome] = redact(target)
    monkeypatch.undo()
    assert outcome.status == "refused" and "Input/output error" in (outcome.reason or "")
    assert snapshot(target) == stats
    assert temp_files(tmp_path) == []


def test_a_file_that_changes_while_redacted_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "live.log"
    target.write_text(f"a {make_key()}\n")
    real = Redactor._check

    def check_then_append(self: Redactor, *args: object) -> None:
        real(self, *args)  # type: ignore[arg-type]
        with open(target, "a") as log:  # a logger still writing
            log.write("one more line\n")

    monkeypatch.setattr(Redactor, "_check", check_then_append)
    [outcome] = redact(target)
    assert outcome.status == "refused" and "changed while being redacted" in (outcome.reason or "")
    assert target.read_text().endswith("one more line\n")
    assert temp_files(tmp_path) == []


def _big_log(keys: Sequence[str], size: int) -> bytes:
    rng = random.Random(99)
    lines = [
        f'10.0.{rng.randrange(256)}.{rng.randrange(256)} "GET /v1/x?u={rng.randrange(10**9)}" 200\n'
        for _ in range(2000)
    ]
    block = "".join(lines).encode()
    pieces = [b"start\n", b"auth=" + keys[0].encode() + b"\n"]
    while sum(map(len, pieces)) < size:
        pieces.append(block)
    pieces.insert(len(pieces) // 2, b"auth=" + keys[1].encode() + b"\n")
    pieces.append(b"auth=" + keys[2].encode() + b"\n")
    return b"".join(pieces)


def test_sigkill_mid_redact_leaves_the_original_and_no_key(tmp_path: Path) -> None:
    """A real process killed while writing: the original is intact, and the temporary
    file it leaves behind holds masked keys only."""
    keys = [make_key() for _ in range(3)]
    target = tmp_path / "huge.log.gz"
    data = bytearray(gzip.compress(_big_log(keys, 48 << 20), compresslevel=1, mtime=0))
    data[8] = 0  # no "fastest" flag: redact recompresses at the default level, slowly
    target.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    process = subprocess.Popen(
        [*cmscan_executable(), "redact", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            temps = temp_files(tmp_path)
            if temps and temps[0].stat().st_size > 256 << 10:
                break
            time.sleep(0.002)
        assert process.poll() is None, "redact finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        out, err = process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest
    [temporary] = temp_files(tmp_path)
    partial = temporary.read_bytes()
    text = zlib.decompressobj(wbits=31).decompress(partial)
    assert masked(keys[0]) in text  # it got past the first key, which is masked
    no_key_in(partial, keys)
    no_key_in(text, keys)
    no_key_in(out + err, keys)
    assert temporary.stat().st_mode & 0o077 == 0  # private while being written
