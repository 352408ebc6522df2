"""Real git repositories for tests, built in temporary directories with the git CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class GitRepo:
    """A work tree with deterministic authors and a clock that ticks one minute per commit."""

    def __init__(self, path: Path, bare: bool = False) -> None:
        self.path = path
        self._clock = 1_700_000_000
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def env(self) -> dict[str, str]:
        stamp = f"@{self._clock} +0100"
        return {
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
        }

    def git(self, *args: str, input: bytes | None = None) -> str:
        process = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=self.env(),
            input=input,
            capture_output=True,
            check=False,
        )
        if process.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {process.stderr.decode()}")
        return process.stdout.decode("utf-8", "replace").strip()

    def write(self, name: str, content: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content, encoding="utf-8")
        else:
            target.write_bytes(content)
        return target

    def commit(self, message: str, *files: tuple[str, str | bytes]) -> str:
        """Write ``files``, stage everything, commit; return the commit id."""
        for name, content in files:
            self.write(name, content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self._clock += 60
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tick(self) -> None:
        self._clock += 60
