"""The no-leak proof: keys planted everywhere, every command in every format, with and
without verification against a gateway that misbehaves in every way, with -v; not one byte
cmscan writes (stdout, stderr, reports, baselines, temp files) holds a full key."""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cmscan.standin import ACCOUNT_DISABLED, INACTIVE, INVALID, Behaviour, StandIn
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.leakcorpus import build
from tests.runner import cmscan_executable

BEHAVIOURS = [
    Behaviour(),
    Behaviour(status=INACTIVE),
    Behaviour(status=INVALID),
    Behaviour(status=ACCOUNT_DISABLED),
    Behaviour(status=INACTIVE, no_code_401=True),
    Behaviour(malformed=True),
    Behaviour(usage_status=404),
    Behaviour(fail_first=1, fail_status=503),
    Behaviour(fail_first=9, fail_status=429, retry_after="3600"),
    Behaviour(echo_key=True),
    Behaviour(huge_body=4 << 20),
    Behaviour(redirect_to="http://127.0.0.1:9/v1"),
]
FORMATS = ["text", "json", "sarif", "github"]


@dataclass
class Planted:
    repo: GitRepo
    keys: list[str] = field(default_factory=list)

    def forms(self) -> Iterator[bytes]:
        """Every way a full key could show: as is, its body, and base64 of either."""
        for key in self.keys:
            for text in (key, key[3:]):
                yield text.encode()
                yield base64.b64encode(text.encode()).rstrip(b"=")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    root = tmp_path_factory.mktemp("noleak")
    repo = GitRepo(root / "repo")
    corpus = build(repo.path)
    keys = [plant.key for plant in corpus.plants]
    message_key, tag_key, named_key, staged_key = (make_key() for _ in range(4))
    repo.commit(f"add config\n\nthe key was {message_key}")
    repo.git("tag", "-a", "v1", "-m", f"release, key {tag_key}")
    repo.commit("a file named after a key", (f"notes/{named_key}.txt", "nothing\n"))
    repo.write("staged.env", f"KEY={staged_key}\n")
    repo.git("add", "staged.env")
    return Planted(repo, [*keys, message_key, tag_key, named_key, staged_key])


def _run(args: list[str], env: dict[str, str], stdin: bytes = b"") -> list[bytes]:
    process = subprocess.run(
        [*cmscan_executable(), *args], input=stdin, capture_output=True, env=env, check=False
    )
    assert process.returncode in (0, 1), process.stderr.decode()
    return [process.stdout, process.stderr]


def _written(directory: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


def _assert_no_key(planted: Planted, outputs: list[bytes], where: str) -> None:
    blob = b"\n".join(outputs)
    leaked = [form for form in planted.forms() if form in blob]
    assert not leaked, f"{len(leaked)} full keys in {where}"


@pytest.mark.parametrize("verify", [False, True], ids=["offline", "verify"])
def test_no_full_key_in_anything_cmscan_writes(
    planted: Planted, tmp_path: Path, verify: bool
) -> None:
    out_dir, temp = tmp_path / "out", tmp_path / "tmp"
    out_dir.mkdir()
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "NO_COLOR": "1"}
    repo = str(planted.repo.path)
    with StandIn() as server:
        for key, behaviour in zip(planted.keys, itertools.cycle(BEHAVIOURS), strict=False):
            server.add(key, behaviour)
        gateway = ["--verify", "--base-url", server.base_url, "--verify-timeout", "2"]
        extra = gateway if verify else []
        outputs: list[bytes] = []
        for command, fmt in itertools.product(("scan", "history", "staged"), FORMATS):
            target = [command, repo, "-v", "--format", fmt, *extra]
            if command == "scan":  # a report file too: temp file, rename
                target += ["-o", str(out_dir / f"{command}.{fmt}")]
            outputs += _run(target, env)
        outputs += _run(["scan", repo, "--write-baseline", str(out_dir / "baseline.json")], env)
        outputs += _run(["scan", repo, "--baseline", str(out_dir / "baseline.json"), "-v"], env)
        keys_in = "\n".join(planted.keys).encode()
        for fmt in ("text", "json"):
            outputs += _run(["verify", "-v", "--format", fmt, *gateway[1:]], env, keys_in)
        outputs += _run(["redact", "--dry-run", "--force", "-v", repo], env)
        outputs += _run(["scan", "-", "-v", *extra], env, keys_in)
    if verify:
        assert len(server.requests) >= len(planted.keys)  # the gateway really was asked
    _assert_no_key(planted, outputs, "stdout or stderr")
    for path, content in [*_written(out_dir), *_written(temp)]:
        _assert_no_key(planted, [content], str(path))
    assert len(list(_written(out_dir))) == 5  # every report and the baseline were written
