"""The GitHub Action's runner side: ``python -m cmscan.action``, the scan step of ``action.yml``.

It reads the action's inputs from the environment (``INPUT_PATH``, ``INPUT_HISTORY``,
``INPUT_VERIFY``, ``INPUT_FAIL_ON``, ``INPUT_BASE_URL``, ``INPUT_ARGS``: ``action.yml``
passes them through ``env:``, never into a script), runs cmscan once writing SARIF under
``$RUNNER_TEMP``, and from that SARIF

- prints one workflow annotation per place (most urgent first, escaped);
- appends a Markdown table of the keys to ``$GITHUB_STEP_SUMMARY`` (masked keys only);
- writes the outputs ``sarif-file``, ``findings`` (places) and ``active`` (live keys) to
  ``$GITHUB_OUTPUT``;

and exits with cmscan's exit code, so ``fail-on`` decides whether the step fails. An
invalid input is exit 2, with an annotation saying which. When the scan itself fails (exit
2 or 3) there is no ``sarif-file`` output: an empty SARIF would tell code scanning that
every alert was fixed.

cmscan reports paths relative to the directory it scanned (for ``history``: to the
repository's top level); code scanning and annotations want paths relative to the
workspace, so when ``path`` is a subdirectory the SARIF's locations are prefixed with it.
While cmscan runs, workflow commands are stopped (``::stop-commands::``): its diagnostics
name files, and a file name must not be able to issue a command.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from cmscan.errors import UsageError
from cmscan.model import STATUS_ORDER
from cmscan.report.github_format import LEVELS, Annotation, not_scanned
from cmscan.report.locations import describe, headline, target_of
from cmscan.report.sarif_format import KEY_IN_NO_FILE, NOT_SCANNED

HISTORY_MODES = ("", "full", "pr")
FAIL_ON = ("any", "active", "none")
_OWN_OPTIONS = ("--format", "--output", "-o")
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_NO_COMMIT = re.compile(r"0+")
_PLACES_SHOWN = 5
EXIT_USAGE = 2
EXIT_ERROR = 3


@dataclass(frozen=True)
class Inputs:
    path: str = "."
    history: str = ""
    """``""``: scan the files at ``path``; ``full``: all of its git history; ``pr``: the
    commits of the event (pull request base..head, push before..after)."""
    verify: bool = False
    fail_on: str = "any"
    base_url: str = ""
    args: tuple[str, ...] = ()


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """The action's inputs, checked; :class:`UsageError` says which one is wrong."""
    history = env.get("INPUT_HISTORY", "").strip().lower()
    if history == "none":
        history = ""
    if history not in HISTORY_MODES:
        raise UsageError(
            f"input history must be empty, 'full' or 'pr', not {env.get('INPUT_HISTORY')!r}"
        )
    verify = env.get("INPUT_VERIFY", "").strip().lower()
    if verify not in {"", "true", "false"}:
        raise UsageError(f"input verify must be 'true' or 'false', not {verify!r}")
    fail_on = env.get("INPUT_FAIL_ON", "").strip().lower() or "any"
    if fail_on not in FAIL_ON:
        raise UsageError(f"input fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    try:
        args = tuple(shlex.split(env.get("INPUT_ARGS", "")))
    except ValueError as error:
        raise UsageError(f"input args cannot be split into arguments: {error}") from None
    for arg in args:
        if arg in _OWN_OPTIONS or arg.startswith(("--format=", "--output=", "-o")):
            raise UsageError(
                f"input args may not contain {arg.split('=')[0]}: the action writes SARIF "
                "itself (output sarif-file)"
            )
    return Inputs(
        path=env.get("INPUT_PATH", "").strip() or ".",
        history=history,
        verify=verify == "true",
        fail_on=fail_on,
        base_url=env.get("INPUT_BASE_URL", "").strip(),
        args=args,
    )


@dataclass(frozen=True)
class Plan:
    """The one cmscan run, and where its paths are relative to."""

    argv: tuple[str, ...]
    prefix: str
    """The scanned root relative to the workspace (``""``: the workspace itself)."""
    notices: tuple[str, ...] = ()


def plan(inputs: Inputs, env: Mapping[str, str], workspace: str, sarif_file: str) -> Plan:
    """The cmscan command line for ``inputs``, run from ``workspace``."""
    target = os.path.join(workspace, inputs.path)
    shown = inputs.path if not inputs.path.startswith("-") else f"./{inputs.path}"
    options = ["--format", "sarif", "--output", sarif_file, "--fail-on", inputs.fail_on]
    if inputs.verify:
        options.append("--verify")
    if inputs.base_url:
        options += ["--base-url", inputs.base_url]
    notices: list[str] = []
    if inputs.history:
        from cmscan.gitrepo import open_repository

        repository = open_repository(target)
        root = repository.work_tree
        command = ["history"]
        if inputs.history == "pr":
            revisions, notices = event_range(env, target)
            command += ["--range", revisions]
    else:
        if not os.path.lexists(target):
            raise UsageError(f"input path does not exist in the workspace: {inputs.path}")
        root = target if os.path.isdir(target) else None
        command = ["scan"]
    return Plan(
        argv=(*command, *options, *inputs.args, shown),
        prefix=_relative(root, workspace) if root is not None else "",
        notices=tuple(notices),
    )


def event_range(env: Mapping[str, str], repo: str) -> tuple[str, list[str]]:
    """The ``git rev-list`` range of the event's commits, and notices about it."""
    name = env.get("GITHUB_EVENT_NAME", "")
    payload = _event(env)
    notices: list[str] = []
    if name in {"pull_request", "pull_request_target"}:
        pull = payload.get("pull_request") or {}
        base = (pull.get("base") or {}).get("sha")
        head = (pull.get("head") or {}).get("sha")
    elif name == "merge_group":
        group = payload.get("merge_group") or {}
        base, head = group.get("base_sha"), group.get("head_sha")
    elif name == "push":
        base, head = payload.get("before"), payload.get("after")
        if isinstance(base, str) and _NO_COMMIT.fullmatch(base):
            base = None  # a new branch: every commit it holds
    else:
        raise UsageError(
            f"history: pr needs a pull_request, merge_group or push event, not "
            f"{name or 'no event'}; use history: full"
        )
    for sha in (base, head):
        if sha is not None and not (isinstance(sha, str) and _SHA.fullmatch(sha)):
            raise UsageError(f"the {name} event has no usable commit ids")
    if head is None:
        raise UsageError(f"the {name} event has no head commit")
    if not _has_commit(repo, head):
        raise UsageError(
            f"commit {head[:12]} of the {name} event is not in the clone: check out with "
            "actions/checkout's fetch-depth: 0"
        )
    if base is not None and not _has_commit(repo, base):
        if name != "push":
            raise UsageError(
                f"base commit {base[:12]} of the {name} event is not in the clone: check out "
                "with actions/checkout's fetch-depth: 0"
            )
        notices.append(
            f"the push's previous tip {base[:12]} is not in the clone (a force push?): "
            f"scanning every commit {head[:12]} holds"
        )
        base = None
    return (f"{base}..{head}" if base else head), notices


def main() -> int:
    env = os.environ
    workspace = os.path.realpath(env.get("GITHUB_WORKSPACE") or os.getcwd())
    try:
        inputs = read_inputs(env)
        temp = tempfile.mkdtemp(prefix="cmscan-", dir=env.get("RUNNER_TEMP") or None)
        sarif_file = os.path.join(temp, "cmscan.sarif")
        run = plan(inputs, env, workspace, sarif_file)
    except UsageError as error:
        _print(Annotation("error", "cmscan: invalid input", str(error)).command())
        return EXIT_USAGE
    except OSError as error:
        _print(Annotation("error", "cmscan", f"cannot prepare the scan: {error}").command())
        return EXIT_ERROR
    for notice in run.notices:
        _print(Annotation("notice", "cmscan", notice).command())
    code = _run_cmscan(run.argv, workspace)
    if code not in (0, 1):
        message = f"the scan failed (exit code {code}); see the log above"
        _print(Annotation("error", "cmscan", message).command())
        return code
    try:
        with open(sarif_file, encoding="utf-8") as file:
            sarif = json.load(file)
        if run.prefix:
            _prefix_paths(sarif, run.prefix)
            _write_json(sarif_file, sarif)
    except (OSError, ValueError) as error:
        _print(Annotation("error", "cmscan", f"cannot read the SARIF report: {error}").command())
        return EXIT_ERROR
    report = SarifView(sarif)
    for annotation in report.annotations():
        _print(annotation.command())
    if env.get("GITHUB_STEP_SUMMARY"):
        _append(env["GITHUB_STEP_SUMMARY"], report.summary_markdown())
    if env.get("GITHUB_OUTPUT"):
        outputs = {
            "sarif-file": sarif_file,
            "findings": str(report.totals.get("findings", 0)),
            "active": str(report.totals.get("by_status", {}).get("active", 0)),
        }
        _append(env["GITHUB_OUTPUT"], _output_lines(outputs))
    return code


class SarifView:
    """What the action shows, read back from cmscan's SARIF report."""

    def __init__(self, sarif: Mapping[str, Any]) -> None:
        run = sarif["runs"][0]
        self.totals: Mapping[str, Any] = run.get("properties", {}).get("summary", {})
        notifications = [
            item
            for invocation in run.get("invocations", [])
            for item in invocation.get("toolExecutionNotifications", [])
        ]

        def kind(item: Mapping[str, Any]) -> str | None:
            return (item.get("descriptor") or {}).get("id")

        order = {status: index for index, status in enumerate(STATUS_ORDER)}
        places = [*run.get("results", []), *(n for n in notifications if kind(n) == KEY_IN_NO_FILE)]
        self.places: list[Mapping[str, Any]] = sorted(
            places, key=lambda item: order.get(item.get("properties", {}).get("status"), 0)
        )
        self.skipped = [
            (item["properties"]["path"], item["properties"]["reason"])
            for item in notifications
            if kind(item) == NOT_SCANNED and item.get("level") == "warning"
        ]

    def annotations(self) -> Iterator[Annotation]:
        for place in self.places:
            fields = place["properties"]
            target = target_of(fields.get("path"), fields.get("source"))
            has_lines = target.has_lines and fields.get("line") is not None
            status = fields["status"]
            yield Annotation(
                level=LEVELS[status],
                title=f"Leaked {headline(fields['key'], status, fields.get('balance_usd'))}",
                message=place["message"]["text"],
                file=target.file,
                line=fields.get("line") if has_lines else None,
                col=fields.get("column") if has_lines else None,
            )
        skipped = not_scanned(self.skipped)
        if skipped is not None:
            yield skipped

    def summary_markdown(self) -> str:
        totals = self.totals
        keys: dict[str, list[Mapping[str, Any]]] = {}
        for place in self.places:
            keys.setdefault(place["properties"]["fingerprint"], []).append(place["properties"])
        count, places = len(keys), len(self.places)
        if keys:
            title = (
                f"### cmscan: {count} CrossModel API key{'s' if count != 1 else ''} "
                f"found in {places} place{'s' if places != 1 else ''}"
            )
        else:
            title = "### cmscan: no CrossModel API keys found"
        lines = [title, ""]
        if keys:
            lines += ["| Key | Status | Balance | Found in |", "| --- | --- | --- | --- |"]
            for fields_list in keys.values():
                first = fields_list[0]
                balance = first.get("balance_usd")
                shown = [_markdown(describe(fields)) for fields in fields_list[:_PLACES_SHOWN]]
                if len(fields_list) > _PLACES_SHOWN:
                    shown.append(f"and {len(fields_list) - _PLACES_SHOWN} more")
                status = first["status"].replace("_", " ")
                lines.append(
                    f"| `{first['key']}` | {'**active**' if status == 'active' else status} | "
                    f"{f'${balance:,.2f}' if balance is not None else ''} | "
                    f"{'<br>'.join(shown)} |"
                )
            lines += [
                "",
                "What to do about each key, in order, is in its annotation and code scanning "
                "alert. Fingerprints (SHA-256 of each key) are in the SARIF file.",
            ]
        unit = totals.get("unit", "file")
        files = totals.get("files", 0)
        scanned = f"Scanned {files:,} {unit}{'s' if files != 1 else ''}"
        if totals.get("messages"):
            scanned += f" and {totals['messages']:,} commit and tag messages"
        scanned += f" ({totals.get('bytes', 0):,} bytes)."
        if self.skipped:
            scanned += f" {len(self.skipped)} not scanned (see the annotations)."
        lines += ["", scanned, ""]
        return "\n".join(lines)


def _run_cmscan(argv: Sequence[str], workspace: str) -> int:
    """cmscan as a child process; its output is relayed with workflow commands stopped."""
    token = secrets.token_hex(16)
    _print(f"cmscan {shlex.join(argv)}")
    _print(f"::stop-commands::{token}")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "cmscan", *argv],
            cwd=workspace,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        with process.stdout:
            for line in process.stdout:
                sys.stdout.write(line.decode("utf-8", "replace"))
                sys.stdout.flush()
        return process.wait()
    finally:
        _print(f"::{token}::")


def _prefix_paths(sarif: dict[str, Any], prefix: str) -> None:
    """Make the results' paths relative to the workspace instead of the scanned root."""
    encoded = quote(prefix, safe="/")
    for result in sarif["runs"][0].get("results", []):
        for location in result.get("locations", []):
            artifact = location.get("physicalLocation", {}).get("artifactLocation", {})
            uri = artifact.get("uri")
            if uri is not None and "://" not in uri:
                artifact["uri"] = f"{encoded}/{uri}"
        fields = result.get("properties", {})
        if isinstance(fields.get("path"), str) and not fields["path"].startswith("/"):
            fields["path"] = f"{prefix}/{fields['path']}"


def _relative(root: str | None, workspace: str) -> str:
    if root is None:
        return ""
    relative = os.path.relpath(os.path.realpath(root), workspace)
    if relative == "." or relative == ".." or relative.startswith("../"):
        return ""  # the workspace itself, or outside it: paths stay as cmscan gives them
    return relative.replace(os.sep, "/")


def _event(env: Mapping[str, str]) -> Mapping[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        raise UsageError("history: pr needs the event payload (GITHUB_EVENT_PATH is not set)")
    try:
        with open(path, encoding="utf-8") as file:
            payload = json.load(file)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the event payload {path}: {error}") from None
    if not isinstance(payload, dict):
        raise UsageError(f"the event payload {path} is not a JSON object")
    return payload


def _has_commit(repo: str, sha: str) -> bool:
    process = subprocess.run(
        ["git", "cat-file", "-e", f"{sha}^{{commit}}"],
        cwd=repo,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    return process.returncode == 0


def _markdown(text: str) -> str:
    """Plain text in a Markdown table cell: no formatting, links, HTML or cell breaks."""
    flat = text.replace("\r", " ").replace("\n", " ")
    return re.sub(r"([\\`*_~\[\]<>|&!#])", r"\\\1", flat)


def _output_lines(outputs: Mapping[str, str]) -> str:
    lines = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delimiter = f"cmscan_{secrets.token_hex(8)}"
            lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}")
        else:
            lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


def _write_json(path: str, document: Any) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2, ensure_ascii=False)
        file.write("\n")
    os.replace(temporary, path)


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
