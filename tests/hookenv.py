"""An offline stage for the real ``pre-commit`` framework: wheels, a hook repository, an env.

pre-commit builds a hook's virtualenv with ``pip install .`` in a clone of the hook
repository. Tests may not use the network, so pip is pointed at a wheelhouse built here
from what the test venv already has: every distribution cmscan needs is packed back into a
wheel from its installed files (a wheel is a zip of those files and the dist-info), and the
build backend (setuptools) comes from the wheels virtualenv embeds for seeding.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from packaging.requirements import Requirement

PROJECT = Path(__file__).resolve().parent.parent
_DROPPED_METADATA = frozenset({"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"})


def dependency_closure(root: str) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``root`` needs (its extras left out), ``root`` excluded."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = list(_requirements(importlib.metadata.distribution(root)))
    while pending:
        name = _normalise(pending.pop())
        if name in seen:
            continue
        dist = importlib.metadata.distribution(name)
        seen[name] = dist
        pending.extend(_requirements(dist))
    return list(seen.values())


def _requirements(dist: importlib.metadata.Distribution) -> Iterable[str]:
    for line in dist.requires or ():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            yield requirement.name


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_from_installed(dist: importlib.metadata.Distribution, target: Path) -> Path:
    """Pack an installed distribution back into a wheel in ``target``."""
    info = next(
        file
        for file in dist.files or ()
        if file.parts[0].endswith(".dist-info") and file.name == "WHEEL"
    )
    dist_info = info.parts[0]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = target / f"{name}-{dist.version}-{_compressed_tag(info.read_text())}.whl"
    records: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in dist.files or ():
            path = Path(str(file.locate()))
            if (
                file.parts[0] == ".."  # console scripts: pip makes them from entry points
                or "__pycache__" in file.parts
                or (file.parts[0] == dist_info and file.name in _DROPPED_METADATA)
                or not path.is_file()
            ):
                continue
            data = path.read_bytes()
            archive.writestr(file.as_posix(), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append((file.as_posix(), f"sha256={digest.decode()}", str(len(data))))
        record = f"{dist_info}/RECORD"
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([*records, (record, "", "")])
        archive.writestr(record, text.getvalue())
    return wheel


def _compressed_tag(wheel_metadata: str) -> str:
    """The file name tag of a WHEEL file's ``Tag:`` lines (``py2-none-any`` and
    ``py3-none-any`` give ``py2.py3-none-any``)."""
    triples = [
        line.split(":", 1)[1].strip().split("-")
        for line in wheel_metadata.splitlines()
        if line.startswith("Tag:")
    ]
    return "-".join(".".join(dict.fromkeys(part[i] for part in triples)) for i in range(3))


def build_wheelhouse(target: Path) -> Path:
    """Wheels for cmscan's dependencies and its build backend; cmscan itself is built by
    pre-commit from the hook repository, as for a user."""
    target.mkdir(parents=True, exist_ok=True)
    for dist in dependency_closure("cmscan"):
        wheel_from_installed(dist, target)
    spec = importlib.util.find_spec("virtualenv.seed.wheels.embed")
    assert spec is not None and spec.submodule_search_locations, "virtualenv has no wheels"
    embedded = Path(next(iter(spec.submodule_search_locations)))
    backends = sorted(embedded.glob("setuptools-*.whl"))
    assert backends, f"no setuptools wheel in {embedded}"
    for wheel in backends:
        shutil.copy(wheel, target / wheel.name)
    return target


def snapshot_project(target: Path, env: Mapping[str, str], tag: str) -> str:
    """Commit the project's work tree as it is now (tracked and untracked, not ignored) to a
    new repository at ``target`` and tag it: the code under test, not the last commit
    (other people commit to the project's main concurrently). Returns the commit id."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    for name in sorted(set(listing.decode().split("\0")) - {""}):
        source = PROJECT / name
        if source.is_file() and not source.is_symlink():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=target, env=env, capture_output=True, check=True)
        return done.stdout.decode().strip()

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "snapshot of the work tree under test")
    git("tag", tag)
    return git("rev-parse", "HEAD")


BROKEN_PROXY = "http://127.0.0.1:9"
"""Port 9 (discard) on loopback: nothing listens, so any request through it fails fast."""


def offline_env(home: Path, wheelhouse: Path, pre_commit_home: Path) -> dict[str, str]:
    """The environment for pre-commit and git: no user or system config, no index, no
    network (every proxy variable points at a closed loopback port)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "VIRTUALENV_", "PRE_COMMIT", "GIT_", "XDG_"))
        and key.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    env.update(
        {
            "HOME": str(home),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(wheelhouse),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            "VIRTUALENV_NO_PERIODIC_UPDATE": "1",
            "PRE_COMMIT_HOME": str(pre_commit_home),
            "PRE_COMMIT_COLOR": "never",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            "NO_COLOR": "1",
            "HTTP_PROXY": BROKEN_PROXY,
            "HTTPS_PROXY": BROKEN_PROXY,
            "ALL_PROXY": BROKEN_PROXY,
            "http_proxy": BROKEN_PROXY,
            "https_proxy": BROKEN_PROXY,
            "all_proxy": BROKEN_PROXY,
        }
    )
    return env
