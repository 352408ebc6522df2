"""The command line: the only place that prints, reads options and picks exit codes."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from cmscan import __version__
from cmscan.config import Config
from cmscan.errors import CmscanError, UsageError
from cmscan.gatewayconfig import (
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    GatewaySettings,
)
from cmscan.keys import Key, scrub
from cmscan.model import STDIN_PATH, Report, ScanResult, Verdict
from cmscan.report import Format, render

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_INTERRUPTED = 130

FAIL_ON = ("any", "active", "none")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RunOptions:
    """What every scanning command shares: the report, the exit policy, verification."""

    format: Format
    output: str | None
    fail_on: str
    verbose: bool
    quiet: bool
    gateway: GatewaySettings | None
    """Where and how to verify keys; ``None`` unless ``--verify``."""
    config: Config = field(default_factory=Config)
    """The project config (``--config``, or ``.cmscan.yaml`` at the scan root)."""
    baseline: str | None = None
    write_baseline: str | None = None


_REPORT_OPTIONS = [
    click.option(
        "--format",
        "format_",
        type=click.Choice([f.value for f in Format]),
        default=Format.TEXT.value,
        show_default=True,
        help="Report format.",
    ),
    click.option(
        "--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout."
    ),
]


def _fail_on(default: str) -> Callable[[F], F]:
    return click.option(
        "--fail-on",
        type=click.Choice(FAIL_ON),
        default=default,
        show_default=True,
        help="Which findings make the exit code 1.",
    )


def _exclude(help: str) -> Callable[[F], F]:
    return click.option("--exclude", multiple=True, metavar="PATTERN", help=help)


def _with(options: Sequence[Callable[[F], F]]) -> Callable[[F], F]:
    """Apply click options in the order they are listed (first on top of --help)."""

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


_VERIFY_FLAG = click.option(
    "--verify/--no-verify",
    default=False,
    help="Ask the gateway whether each key is live (sends each key there once).",
)
_GATEWAY_OPTIONS = [
    click.option(
        "--base-url",
        envvar="CROSSMODEL_BASE_URL",
        default=DEFAULT_BASE_URL,
        show_default=True,
        help="Gateway base URL (https://, or http:// to loopback); env CROSSMODEL_BASE_URL.",
    ),
    click.option(
        "--verify-timeout",
        type=click.FloatRange(min=0.1, max=600),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Deadline of each gateway request.",
    ),
    click.option(
        "--verify-concurrency",
        type=click.IntRange(min=1, max=64),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Keys verified at the same time (never more requests in flight).",
    ),
]
_PROJECT_OPTIONS = [
    click.option(
        "--config",
        "config_file",
        metavar="FILE",
        help="Project config to use instead of the .cmscan.yaml at the scan root.",
    ),
    click.option(
        "--baseline",
        metavar="FILE",
        help="Known findings (fingerprint and path) to leave out of the report and exit code.",
    ),
    click.option(
        "--write-baseline",
        metavar="FILE",
        help="Record this run's findings in FILE as known (they then count as baselined).",
    ),
]
_VERBOSITY = [
    click.option("-v", "--verbose", is_flag=True, help="More diagnostics on stderr."),
    click.option("-q", "--quiet", is_flag=True, help="No diagnostics on stderr."),
]


def _gateway_settings(base_url: str, timeout: float, concurrency: int) -> GatewaySettings:
    from cmscan.gateway import check_base_url

    return GatewaySettings(check_base_url(base_url), timeout, concurrency)


_RUN_OPTION_NAMES = (
    "format_",
    "output",
    "fail_on",
    "verify",
    "base_url",
    "verify_timeout",
    "verify_concurrency",
    "config_file",
    "baseline",
    "write_baseline",
    "verbose",
    "quiet",
)
"""The shared options :func:`run_options` turns into one :class:`RunOptions`."""


def run_options(command: F) -> F:
    """Add the shared options to a command; it receives them as one ``run`` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _RUN_OPTION_NAMES}
        config = _load_config(given["config_file"], kwargs)
        if config.refused and not given["quiet"]:
            _say(
                f"ignoring {', '.join(config.refused)} in {config.path}: a config found in the "
                "scanned tree cannot turn verification on or choose where keys go "
                "(use --verify, --base-url or --config)"
            )
        value = _given(click.get_current_context(), config)
        gateway = None
        if value("verify", config.verify.enabled):
            gateway = _gateway_settings(
                value("base_url", config.verify.base_url),
                value("verify_timeout", config.verify.timeout),
                value("verify_concurrency", config.verify.concurrency),
            )
        kwargs["exclude"] = (*config.excludes, *kwargs["exclude"])
        run = RunOptions(
            format=Format(value("format_", config.format)),
            output=given["output"],
            fail_on=value("fail_on", config.fail_on),
            verbose=given["verbose"],
            quiet=given["quiet"],
            gateway=gateway,
            config=config,
            baseline=given["baseline"],
            write_baseline=given["write_baseline"],
        )
        return command(*args, run=run, **kwargs)

    options = [
        *_REPORT_OPTIONS,
        _fail_on("any"),
        _VERIFY_FLAG,
        *_GATEWAY_OPTIONS,
        *_PROJECT_OPTIONS,
        *_VERBOSITY,
    ]
    return _with(options)(wrapper)  # type: ignore[arg-type,return-value]


def _load_config(explicit: str | None, kwargs: dict[str, Any]) -> Config:
    """``--config FILE``, else the ``.cmscan.yaml`` at the scan root (a directory given to
    ``scan``, or the work tree of ``history``/``staged``), else the defaults."""
    from cmscan.config import discover, load_config
    from cmscan.gitrepo import work_tree_of

    if explicit is not None:
        return load_config(explicit)
    if "paths" in kwargs:
        targets = kwargs["paths"] or (".",)
        root = targets[0] if os.path.isdir(targets[0]) else None
    else:
        root = work_tree_of(kwargs.get("repo", "."))
    found = discover(root)
    return load_config(found, discovered=True) if found is not None else Config()


def _given(ctx: click.Context, config: Config) -> Callable[[str, Any], Any]:
    """``value(name, from_config)``: the command line or environment wins, then the config,
    then the option's default."""
    from click.core import ParameterSource

    def value(name: str, from_config: Any) -> Any:
        source = ctx.get_parameter_source(name)
        if from_config is not None and source in (None, ParameterSource.DEFAULT):
            return from_config
        return ctx.params[name]

    return value


class _Cli(click.Group):
    """Maps the error family to exit codes for every command, under CliRunner too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except CmscanError as error:
            _say(f"error: {error}")
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            _say("interrupted")
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as error:  # the last line of defence: no traceback, no key
            _say(f"unexpected error: {type(error).__name__}: {error}")
            ctx.exit(EXIT_ERROR)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cmscan")
def cli() -> None:
    """Find leaked CrossModel API keys (cm-…) and say what to do about each one."""


@cli.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@_exclude("Skip paths matching this gitignore-style pattern (repeatable).")
@run_options
@click.pass_context
def scan(
    ctx: click.Context, paths: tuple[str, ...], exclude: tuple[str, ...], run: RunOptions
) -> None:
    """Scan files and directories (default: .); - reads stdin."""
    from cmscan.scanner import ScanOptions, scan_paths

    targets = list(paths) or ["."]
    for target in targets:
        if target != STDIN_PATH and not os.path.lexists(target):
            raise UsageError(f"no such file or directory: {target}")
    progress = _progress(run.quiet)
    started = time.monotonic()
    try:
        result = scan_paths(
            targets,
            ScanOptions(excludes=exclude, rules=run.config.rules, limits=run.config.limits),
            stdin=sys.stdin.buffer if STDIN_PATH in targets else None,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    _finish(ctx, result, run, started)


@cli.command()
@click.argument("repo", default=".", metavar="[REPO]")
@click.option("--since", metavar="REV", help="Only commits after REV (the range REV..HEAD).")
@click.option(
    "--range",
    "revisions",
    metavar="A..B",
    help="Only the commits of this range (any git rev-list range, e.g. main..feature).",
)
@click.option(
    "--pre-push",
    is_flag=True,
    help="Only the commits a push sends (pre-push hook): from pre-commit's "
    "PRE_COMMIT_FROM_REF/TO_REF, else git's pre-push hook input on stdin.",
)
@click.option(
    "--remote",
    metavar="NAME",
    help="With --pre-push: the remote pushed to (a git hook's $1; pre-commit says it "
    "itself); commits its remote-tracking refs hold are not scanned again.",
)
@_exclude("Don't report keys at paths matching this gitignore-style pattern (repeatable).")
@run_options
@click.pass_context
def history(
    ctx: click.Context,
    repo: str,
    since: str | None,
    revisions: str | tuple[str, ...] | None,
    pre_push: bool,
    remote: str | None,
    exclude: tuple[str, ...],
    run: RunOptions,
) -> None:
    """Scan every blob and message a git repository holds: all refs, stashes, unreachable
    objects. --since/--range/--pre-push limit it to what some commits introduced."""
    from cmscan.gitrepo import open_repository
    from cmscan.history import HistoryOptions, scan_history

    if [since is not None, revisions is not None, pre_push].count(True) > 1:
        raise UsageError("use one of --since, --range and --pre-push, not several")
    if remote is not None and not pre_push:
        raise UsageError("--remote goes with --pre-push")
    if since is not None:
        revisions = f"{since}..HEAD"
    repository = open_repository(repo)
    if pre_push:
        from cmscan.prepush import pushed_range

        pushed = pushed_range(repository, os.environ, _hook_input, remote)
        if not run.quiet:
            _say(f"pre-push: scanning {pushed.description}")
        revisions = pushed.revisions
    progress = _progress(run.quiet, unit="objects")
    started = time.monotonic()
    try:
        result = scan_history(
            repository,
            HistoryOptions(rules=run.config.rules, revisions=revisions, excludes=exclude),
            progress,
        )
    finally:
        if progress is not None:
            progress.close()
    if pre_push and revisions is not None and result.findings and not run.quiet:
        _say(
            "pre-push: keys in commits being pushed; take them out of those commits "
            "(git rebase -i, git commit --amend) before pushing"
        )
    _finish(ctx, result, run, started)


def _hook_input() -> bytes:
    """git's pre-push hook input (stdin), never waited for at a terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError(
            "--pre-push reads the refs being pushed from pre-commit "
            "(PRE_COMMIT_FROM_REF/TO_REF) or from git's pre-push hook input on stdin"
        )
    return sys.stdin.buffer.read()


@cli.command()
@click.argument("repo", default=".", metavar="[REPO]")
@_exclude("Skip staged paths matching this gitignore-style pattern (repeatable).")
@run_options
@click.pass_context
def staged(ctx: click.Context, repo: str, exclude: tuple[str, ...], run: RunOptions) -> None:
    """Scan what is staged for the next commit (the index, not the work tree)."""
    from cmscan.gitrepo import open_repository
    from cmscan.staged import StagedOptions, scan_staged

    started = time.monotonic()
    options = StagedOptions(rules=run.config.rules, excludes=exclude)
    result = scan_staged(open_repository(repo), options)
    if not run.quiet:
        _say(f"staged: scanned {result.files:,} files, {result.bytes:,} bytes")
    _finish(ctx, result, run, started)


@cli.command()
@_with([*_REPORT_OPTIONS, _fail_on("active"), *_GATEWAY_OPTIONS, *_VERBOSITY])
@click.pass_context
def verify(
    ctx: click.Context,
    format_: str,
    output: str | None,
    fail_on: str,
    base_url: str,
    verify_timeout: float,
    verify_concurrency: int,
    verbose: bool,
    quiet: bool,
) -> None:
    """Check keys read from stdin, one a line, against the gateway.

    Keys are never taken from the command line: arguments leak into ps and shell history.
    Lines that are not exactly one key are reported by number and never sent."""
    from cmscan.keylines import read_key_lines
    from cmscan.report import verify_format

    if Format(format_) not in (Format.TEXT, Format.JSON):
        raise UsageError(f"cmscan verify writes text or json, not {format_}")
    settings = _gateway_settings(base_url, verify_timeout, verify_concurrency)
    lines = read_key_lines(sys.stdin.buffer.read())
    run = RunOptions(Format(format_), output, fail_on, verbose, quiet, settings)
    verdicts = _verify(lines.keys, run) if lines.keys else {}
    render = verify_format.render_json if run.format is Format.JSON else verify_format.render_text
    _write(render(lines, verdicts, __version__), output)
    if lines.rejected and not quiet:
        _say(f"{len(lines.rejected)} lines were not keys and were not sent")
    ctx.exit(_exit_code([verdict.status for verdict in verdicts.values()], fail_on))


@cli.command()
@_REPORT_OPTIONS[0]
def demo(format_: str) -> None:
    """Show a real verification without internet access: a local gateway stand-in.

    Three made-up keys (one live, one disabled, one unknown to the gateway) in a sample
    bundle are scanned from memory and verified against a stand-in gateway on 127.0.0.1."""
    from cmscan.demo import run_demo

    text, base_url = run_demo(Format(format_))
    click.echo(text, nl=False)
    _say(f"demo: verified against a local stand-in at {base_url}; nothing left this machine")


@cli.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--dry-run", is_flag=True, help="List the keys that would be masked; write nothing.")
@click.option(
    "--force",
    is_flag=True,
    help="Also rewrite files inside a git work tree (its history still holds the key).",
)
@_exclude("Skip paths matching this gitignore-style pattern (repeatable).")
@_with(_VERBOSITY)
@click.pass_context
def redact(
    ctx: click.Context,
    paths: tuple[str, ...],
    dry_run: bool,
    force: bool,
    exclude: tuple[str, ...],
    verbose: bool,
    quiet: bool,
) -> None:
    """Rewrite files with each key replaced by its masked form (cm-Q7fL…k2Zp).

    Plain and gzip/bzip2/xz-compressed text is rewritten atomically, keeping mode, owner
    and times; every other byte stays as it was and files without keys are not touched.
    Archives, binary files and files in a git work tree (without --force) are refused.
    Exit 1 if keys remain (refused files, unreadable files, or found by --dry-run)."""
    from cmscan.redact import RedactOptions, Tally, describe, redact_paths

    for target in paths:
        if not os.path.lexists(target):
            raise UsageError(f"no such file or directory: {target}")
    options = RedactOptions(dry_run=dry_run, force=force, excludes=exclude)
    tally = Tally()
    for outcome in redact_paths(paths, options):
        tally = tally.add(outcome)
        for line in describe(outcome, verbose):
            click.echo(scrub(line))
        if verbose and outcome.status in ("clean", "ignored"):
            _say(f"{outcome.path}: {outcome.reason or 'no keys'}")
    if not quiet:
        _say(tally.summary(dry_run))
    ctx.exit(EXIT_FINDINGS if tally.keys_remain(dry_run) else EXIT_OK)


def _finish(ctx: click.Context, result: ScanResult, run: RunOptions, started: float) -> None:
    """Take out what is known, verify if asked, render and write the report, say what
    needs saying, and exit."""
    result = _suppress(result, run)
    verdicts = _verify(result.keys, run) if run.gateway is not None else {}
    report = Report(result, __version__, verdicts)
    _emit(report, run.format, run.output)
    _diagnose(report, run, time.monotonic() - started)
    ctx.exit(_exit_code([report.verdict(key).status for key in report.result.keys], run.fail_on))


def _suppress(result: ScanResult, run: RunOptions) -> ScanResult:
    """Leave out allowlisted keys and baselined findings; write a new baseline if asked."""
    if not (run.config.allowlist or run.baseline or run.write_baseline):
        return result
    from cmscan.baseline import Entry, read_baseline, render_baseline, suppress

    known = read_baseline(run.baseline) if run.baseline is not None else None
    if run.write_baseline is not None:
        entries = {
            Entry.of(f) for f in result.findings if f.key.fingerprint not in run.config.allowlist
        }
        _write(render_baseline(entries), run.write_baseline, "the baseline")
        if not run.quiet:
            _say(f"wrote {len(entries)} baseline entries to {run.write_baseline}")
        known = frozenset(entries) | (known or frozenset())
    return suppress(result, run.config.allowlist, known)


def _verify(keys: Sequence[Key], run: RunOptions) -> dict[str, Verdict]:
    from cmscan.gateway import Gateway

    assert run.gateway is not None
    if keys and run.verbose:
        _say(f"verifying {len(keys)} keys at {run.gateway.base_url}")
    verdicts = Gateway(run.gateway).verify_all(keys)
    if not run.quiet:
        unknown = sum(1 for verdict in verdicts.values() if verdict.status == "unknown")
        if unknown:
            _say(f"{unknown} of {len(verdicts)} keys could not be verified (see the report)")
    return verdicts


def _progress(quiet: bool, unit: str = "files") -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from cmscan.progress import TerminalProgress

    return TerminalProgress(sys.stderr, unit=unit)


def _emit(report: Report, format: Format, output: str | None) -> None:
    to_terminal = output is None and sys.stdout.isatty()
    color = to_terminal and format is Format.TEXT and "NO_COLOR" not in os.environ
    _write(render(report, format, color), output)


def _write(text: str, output: str | None, what: str = "the report") -> None:
    """``text`` to ``output`` (atomically) or stdout; a failure is a usage error."""
    from cmscan.output import write_report

    try:
        write_report(text, output, sys.stdout)
    except OSError as error:
        raise UsageError(f"cannot write {what} to {output}: {error.strerror}") from None


def _diagnose(report: Report, run: RunOptions, seconds: float) -> None:
    if run.quiet:
        return
    result = report.result
    if run.verbose:
        _say(
            f"scanned {result.files:,} {result.unit}s, {result.bytes:,} bytes in {seconds:.2f} s; "
            f"{len(result.findings)} findings of {len(result.keys)} keys"
        )
        for item in result.skipped:
            _say(f"skipped {item.path}: {item.reason}")
    elif result.skipped and (run.format is not Format.TEXT or run.output is not None):
        _say(f"{len(result.skipped)} paths not scanned (listed in the report summary)")


def _exit_code(statuses: Sequence[str], fail_on: str) -> int:
    """1 when some key (one per status given) fails the run under ``--fail-on``."""
    if fail_on == "none":
        return EXIT_OK
    failing = [status for status in statuses if fail_on == "any" or status == "active"]
    return EXIT_FINDINGS if failing else EXIT_OK


def _say(message: str) -> None:
    click.echo(f"cmscan: {scrub(message)}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    try:
        code = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.ClickException as error:
        context = getattr(error, "ctx", None)
        if context is not None:
            click.echo(context.get_usage(), err=True)
        _say(f"error: {error.format_message()}")
        return EXIT_USAGE
    except click.exceptions.Abort:
        return EXIT_INTERRUPTED
    return code if isinstance(code, int) else EXIT_OK
