"""The GitHub Action, run step by step in a simulated runner.

``action.yml`` is read as the runner reads it: each composite step's ``run`` goes to
``bash --noprofile --norc -eo pipefail`` in a subprocess, with the environment the runner
builds (``GITHUB_WORKSPACE``, ``GITHUB_EVENT_NAME``/``GITHUB_EVENT_PATH``, a fresh
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` per step, ``RUNNER_TEMP``,
``GITHUB_ACTION_PATH``) and the step's ``env:`` with its ``${{ … }}`` expressions
evaluated by a tiny evaluator. The install step finds this checkout's cmscan already
importable by the ``python3`` first on ``PATH`` (the test venv's), so nothing is
downloaded: that is the branch the action takes when cmscan is already installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from cmscan.standin import INACTIVE, Behaviour, StandIn
from tests.gitutil import GitRepo
from tests.keygen import make_key
from tests.test_github_format import Command, commands

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(__file__).parent / "data" / "schemas"
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class ActionRun:
    code: int
    outputs: dict[str, str]
    summary: str
    stdout: str
    stderr: str
    steps_run: list[str] = field(default_factory=list)

    @property
    def annotations(self) -> list[Command]:
        return [c for c in commands(self.stdout) if c.name in {"error", "warning", "notice"}]

    def everything(self) -> str:
        sarif = self.outputs.get("sarif-file")
        text = Path(sarif).read_text(encoding="utf-8") if sarif else ""
        return self.stdout + self.stderr + self.summary + json.dumps(self.outputs) + text


class Runner:
    """A GitHub-hosted runner, as far as a composite action can tell."""

    def __init__(self, tmp_path: Path, event_name: str = "push", event: Any = None) -> None:
        self.workspace = tmp_path / "workspace"
        self.workspace.mkdir(exist_ok=True)
        self.temp = tmp_path / "runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.event_name = event_name
        self.event_path = tmp_path / "event.json"
        self.event_path.write_text(json.dumps(event if event is not None else {}))
        self._files = tmp_path / "runner-files"
        self._files.mkdir(exist_ok=True)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
        env.update(
            {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_EVENT_PATH": str(self.event_path),
                "GITHUB_ACTION_PATH": str(ROOT),
                "RUNNER_TEMP": str(self.temp),
            }
        )
        return env

    def run(self, **given: str) -> ActionRun:
        inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        unknown = set(given) - set(inputs)
        assert not unknown, f"the action has no inputs {unknown}"
        inputs.update(given)
        steps: dict[str, dict[str, str]] = {}
        result = ActionRun(0, {}, "", "", "")
        for index, step in enumerate(ACTION["runs"]["steps"]):
            context = self._context(inputs, steps)
            output = self._files / f"output-{index}"
            summary = self._files / f"summary-{index}"
            output.write_text("")
            summary.write_text("")
            script = self._files / f"step-{index}.sh"
            script.write_text(step["run"])
            env = self.environment()
            env.update({"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)})
            env.update({k: evaluate(str(v), context) for k, v in step.get("env", {}).items()})
            cwd = evaluate(step.get("working-directory", "${{ github.workspace }}"), context)
            assert step["shell"] == "bash"
            process = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            result.steps_run.append(step.get("name", ""))
            result.stdout += process.stdout
            result.stderr += process.stderr
            result.summary += summary.read_text(encoding="utf-8")
            steps[step.get("id", str(index))] = parse_outputs(output.read_text(encoding="utf-8"))
            if process.returncode != 0:
                result.code = process.returncode
                break  # later steps are skipped, as the runner does
        context = self._context(inputs, steps)
        for name, spec in ACTION["outputs"].items():
            value = evaluate(spec["value"], context)
            if value:
                result.outputs[name] = value
        return result

    def _context(self, inputs: Mapping[str, str], steps: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "inputs": dict(inputs),
            "steps": {sid: {"outputs": outputs} for sid, outputs in steps.items()},
            "github": {"workspace": str(self.workspace), "action_path": str(ROOT)},
            "runner": {"temp": str(self.temp)},
        }


def evaluate(text: str, context: Mapping[str, Any]) -> str:
    """``${{ a.b.c }}`` property lookups, the only expressions the action may use."""

    def lookup(match: re.Match[str]) -> str:
        value: Any = context
        for part in match.group(1).split("."):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part), f"unsupported: {match[0]}"
            value = value.get(part, "") if isinstance(value, Mapping) else ""
        return str(value)

    return _EXPRESSION.sub(lookup, text)


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT``: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for part in lines:
                if part == delimiter:
                    break
                value.append(part)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value_ = line.split("=", 1)
            outputs[name] = value_
    return outputs


def sarif(run: ActionRun) -> dict[str, Any]:
    return json.loads(Path(run.outputs["sarif-file"]).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def sarif_validator() -> Draft7Validator:
    return Draft7Validator(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text()))


# -- action.yml itself


def test_action_metadata_is_valid() -> None:
    schema = json.loads((SCHEMAS / "github-action-metadata.json").read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    validator = Draft7Validator(schema)
    assert list(validator.iter_errors(ACTION)) == []
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"path", "history", "verify", "fail-on", "base-url", "args"}
    assert set(ACTION["outputs"]) == {"sarif-file", "findings", "active"}
    broken = json.loads(json.dumps(ACTION))
    del broken["runs"]["steps"][0]["shell"]  # the schema does check composite steps
    assert list(validator.iter_errors(broken))


def test_inputs_never_reach_a_script() -> None:
    """Script injection: ``${{ inputs.x }}`` in ``run:`` would paste the text into bash."""
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step["run"]
    passed = "".join(
        str(v) for step in ACTION["runs"]["steps"] for v in step.get("env", {}).values()
    )
    for name in ACTION["inputs"]:
        assert f"inputs.{name} }}}}" in passed


# -- scenarios


def test_a_key_in_the_workspace(tmp_path: Path) -> None:
    key = make_key()
    runner = Runner(tmp_path)
    (runner.workspace / "web").mkdir()
    (runner.workspace / "web" / "app.js").write_text(f'\nconst client = "{key}";\n')
    (runner.workspace / "README.md").write_text("Set CROSSMODEL_API_KEY=cm-YOUR_KEY\n")
    run = runner.run()
    assert run.code == 1, run.stdout + run.stderr
    assert run.steps_run == ["Install cmscan", "Scan"]
    assert run.outputs["findings"] == "1" and run.outputs["active"] == "0"
    assert Path(run.outputs["sarif-file"]).is_relative_to(runner.temp)
    document = sarif(run)
    assert list(sarif_validator().iter_errors(document)) == []
    assert key not in run.everything()
    masked = f"{key[:7]}\u2026{key[-4:]}"
    (annotation,) = run.annotations
    assert annotation.name == "error"
    assert annotation.properties["file"] == "web/app.js"
    assert (annotation.properties["line"], annotation.properties["col"]) == ("2", "17")
    assert masked in annotation.properties["title"]
    assert "What to do:" in annotation.data
    assert run.summary.startswith("### cmscan: 1 CrossModel API key found in 1 place\n")
    assert f"| `{masked}` | unverified |  | web/app.js, line 2, column 17 |" in run.summary


def test_a_clean_workspace(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    (runner.workspace / "main.py").write_text("import os\nkey = os.environ['CROSSMODEL_API_KEY']\n")
    run = runner.run()
    assert run.code == 0, run.stdout + run.stderr
    assert (run.outputs["findings"], run.outputs["active"]) == ("0", "0")
    assert sarif(run)["runs"][0]["results"] == []
    assert run.annotations == []
    assert run.summary.startswith("### cmscan: no CrossModel API keys found")
    assert "Scanned 1 file (" in run.summary


def test_a_subdirectory_is_reported_from_the_workspace_root(tmp_path: Path) -> None:
    key = make_key()
    runner = Runner(tmp_path)
    (runner.workspace / "services" / "api dir").mkdir(parents=True)
    (runner.workspace / "services" / "api dir" / ".env").write_text(f"KEY={key}\n")
    run = runner.run(path="services")
    assert run.code == 1, run.stdout + run.stderr
    (result,) = sarif(run)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert location == "services/api%20dir/.env"
    assert [a.properties["file"] for a in run.annotations] == ["services/api dir/.env"]
    assert "services/api dir/.env" in run.summary


def test_history_pr_scans_only_the_pull_requests_commits(tmp_path: Path) -> None:
    old, new = make_key(), make_key()
    runner = Runner(tmp_path)
    repo = GitRepo(runner.workspace)
    repo.commit("initial", ("README.md", "hello\n"))
    base = repo.commit("old mistake", ("legacy.cfg", f"key={old}\n"))
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("work", ("src/app.py", "print('hi')\n"))
    head = repo.commit("leak", ("src/settings.py", f"KEY = '{new}'\n"))
    event = {"pull_request": {"number": 7, "base": {"sha": base}, "head": {"sha": head}}}
    runner = Runner(tmp_path, "pull_request", event)
    run = runner.run(history="pr")
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["findings"] == "1"
    document = sarif(run)
    (result,) = document["runs"][0]["results"]
    assert result["properties"]["commit"] == head
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "src/settings.py"
    )
    assert f"{new[:7]}\u2026{new[-4:]}" in run.summary
    assert f"{old[:7]}\u2026{old[-4:]}" not in run.summary + run.stdout
    assert f"cmscan history --range {base}..{head} --format sarif" in run.stdout
    everything = run.everything()
    assert new not in everything and old not in everything
    # the whole history has both
    full = runner.run(history="full")
    assert full.code == 1 and full.outputs["findings"] == "2"


def test_history_pr_needs_the_base_commit(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    repo = GitRepo(runner.workspace)
    head = repo.commit("initial", ("README.md", "hello\n"))
    missing = "1" * 40
    event = {"pull_request": {"base": {"sha": missing}, "head": {"sha": head}}}
    run = Runner(tmp_path, "pull_request", event).run(history="pr")
    assert run.code == 2
    (annotation,) = run.annotations
    assert annotation.name == "error" and "fetch-depth: 0" in annotation.data
    assert "sarif-file" not in run.outputs


def test_history_pr_on_a_new_branch_push(tmp_path: Path) -> None:
    key = make_key()
    runner = Runner(tmp_path)
    repo = GitRepo(runner.workspace)
    head = repo.commit("initial", ("a.txt", f"{key}\n"))
    event = {"before": "0" * 40, "after": head}
    run = Runner(tmp_path, "push", event).run(history="pr")
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["findings"] == "1"


def test_verify_against_the_gateway(tmp_path: Path) -> None:
    live, dead = make_key(), make_key()
    runner = Runner(tmp_path)
    (runner.workspace / "config.yml").write_text(f"a: {live}\nb: {dead}\nc: {live}\n")
    with StandIn() as gateway:
        gateway.add(live, Behaviour(balance_micro=12_340_000))
        gateway.add(dead, Behaviour(status=INACTIVE))
        run = runner.run(verify="true", **{"base-url": gateway.base_url, "fail-on": "active"})
        assert gateway.requests_for(live, "/v1/credits") == 1
    assert run.code == 1, run.stdout + run.stderr
    assert (run.outputs["findings"], run.outputs["active"]) == ("3", "1")
    levels = [(a.name, a.properties["line"]) for a in run.annotations]
    assert levels == [("error", "1"), ("error", "3"), ("warning", "2")]
    rows = [line for line in run.summary.splitlines() if line.startswith("| `")]
    assert rows[0].startswith(f"| `{live[:7]}\u2026{live[-4:]}` | **active** | $12.34 |")
    assert rows[1].startswith(f"| `{dead[:7]}\u2026{dead[-4:]}` | inactive |")
    assert live not in run.everything() and dead not in run.everything()


def test_fail_on_none_passes_with_findings(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    (runner.workspace / "a.txt").write_text(f"{make_key()}\n")
    run = runner.run(**{"fail-on": "none"})
    assert run.code == 0
    assert run.outputs["findings"] == "1"


@pytest.mark.parametrize(
    ("inputs", "complaint"),
    [
        ({"history": "everything"}, "input history"),
        ({"verify": "maybe"}, "input verify"),
        ({"fail-on": "sometimes"}, "input fail-on"),
        ({"args": "--format json"}, "--format"),
        ({"args": "-o report.txt"}, "-o"),
        ({"args": "--exclude 'unbalanced"}, "input args"),
        ({"path": "no/such/dir"}, "does not exist"),
    ],
)
def test_bad_inputs_exit_2(tmp_path: Path, inputs: dict[str, str], complaint: str) -> None:
    run = Runner(tmp_path).run(**inputs)
    assert run.code == 2
    (annotation,) = run.annotations
    assert annotation.name == "error" and annotation.properties["title"] == "cmscan: invalid input"
    assert complaint in annotation.data
    assert run.outputs == {}


def test_history_pr_needs_a_pull_request_or_push(tmp_path: Path) -> None:
    runner = Runner(tmp_path, "schedule", {})
    GitRepo(runner.workspace).commit("initial", ("a.txt", "hello\n"))
    run = runner.run(history="pr")
    assert run.code == 2
    assert "history: full" in run.annotations[0].data


def test_a_failed_scan_sets_no_sarif_file(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    (runner.workspace / "a.txt").write_text("hello\n")
    run = runner.run(verify="true", **{"base-url": "http://example.com/v1"})
    assert run.code == 2, run.stdout + run.stderr
    assert "sarif-file" not in run.outputs
    assert any("the scan failed (exit code 2)" in a.data for a in run.annotations)


def test_args_are_passed_on(tmp_path: Path) -> None:
    runner = Runner(tmp_path)
    (runner.workspace / "vendor").mkdir()
    (runner.workspace / "vendor" / "lib.js").write_text(f"{make_key()}\n")
    (runner.workspace / "a.txt").write_text(f"{make_key()}\n")
    run = runner.run(args="--exclude 'vendor/' -q")
    assert run.code == 1
    assert run.outputs["findings"] == "1"
    assert [a.properties["file"] for a in run.annotations] == ["a.txt"]


def test_file_names_cannot_issue_workflow_commands(tmp_path: Path) -> None:
    """cmscan's diagnostics name files; while it runs, workflow commands are stopped."""
    runner = Runner(tmp_path)
    hostile = "x\n::warning title=injected::owned"
    os.symlink("/etc/hostname", runner.workspace / hostile)  # listed as not followed (-v)
    (runner.workspace / "a.txt").write_text("hello\n")
    run = runner.run(args="-v")
    assert run.code == 0, run.stdout + run.stderr
    assert "::warning title=injected::owned" in run.stdout  # relayed, but inert
    assert not [a for a in run.annotations if "injected" in a.properties.get("title", "")]


def _readme_workflow() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## GitHub Action\n", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("\n```", 1)[0]
    return yaml.safe_load(block)  # type: ignore[no-any-return]


def test_the_readme_workflow_runs(tmp_path: Path) -> None:
    """The workflow users paste uses real inputs and outputs, and works as it stands."""
    workflow = _readme_workflow()
    assert workflow["permissions"] == {"contents": "read", "security-events": "write"}
    steps = workflow["jobs"]["cmscan"]["steps"]
    checkout, scan, upload = steps
    assert checkout["with"]["fetch-depth"] == 0
    assert scan["uses"] == "cmscan/cmscan@v0.1.0" and scan["id"] == "cmscan"
    assert set(scan["with"]) <= set(ACTION["inputs"])
    used = re.findall(r"steps\.cmscan\.outputs\.([\w-]+)", json.dumps(upload))
    assert used and set(used) <= set(ACTION["outputs"])
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("always()")  # the report is wanted when keys fail the job

    key = make_key()
    runner = Runner(tmp_path)
    repo = GitRepo(runner.workspace)
    repo.commit("leak", ("config.js", f"const key = '{key}';\n"))
    repo.commit("remove it", ("config.js", "const key = process.env.KEY;\n"))
    run = runner.run(**{name: str(value) for name, value in scan["with"].items()})
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["findings"] == "1"
    assert key not in run.everything()
