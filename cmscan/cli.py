"""The command line: the only place that prints, reads options and picks exit codes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from cmscan import __version__
from cmscan.errors import CmscanError, UsageError
from cmscan.keys import scrub
from cmscan.model import STDIN_PATH, Report, ScanResult
from cmscan.report import Format, render

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_ERROR = 3
EXIT_INTERRUPTED = 130

FAIL_ON = ("any", "active", "none")

F = TypeVar("F", bound=Callable[..., Any])


def report_options(command: F) -> F:
    """Options every scanning command shares: report format and destination, exit policy."""
    options = [
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
        click.option(
            "--fail-on",
            type=click.Choice(FAIL_ON),
            default="any",
            show_default=True,
            help="Which findings make the exit code 1.",
        ),
        click.option("-v", "--verbose", is_flag=True, help="More diagnostics on stderr."),
        click.option("-q", "--quiet", is_flag=True, help="No diagnostics on stderr."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Skip paths matching this gitignore-style pattern (repeatable).",
)
@report_options
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[str, ...],
    exclude: tuple[str, ...],
    format_: str,
    output: str | None,
    fail_on: str,
    verbose: bool,
    quiet: bool,
) -> None:
    """Scan files and directories (default: .); - reads stdin."""
    from cmscan.scanner import ScanOptions, scan_paths

    targets = list(paths) or ["."]
    for target in targets:
        if target != STDIN_PATH and not os.path.lexists(target):
            raise UsageError(f"no such file or directory: {target}")
    progress = _progress(quiet)
    started = time.monotonic()
    try:
        result = scan_paths(
            targets,
            ScanOptions(excludes=exclude),
            stdin=sys.stdin.buffer if STDIN_PATH in targets else None,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.close()
    _finish(ctx, result, format_, output, fail_on, verbose, quiet, started)


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
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Don't report keys at paths matching this gitignore-style pattern (repeatable).",
)
@report_options
@click.pass_context
def history(
    ctx: click.Context,
    repo: str,
    since: str | None,
    revisions: str | None,
    exclude: tuple[str, ...],
    format_: str,
    output: str | None,
    fail_on: str,
    verbose: bool,
    quiet: bool,
) -> None:
    """Scan every blob and message a git repository holds: all refs, stashes, unreachable
    objects. --since/--range limit it to what some commits introduced."""
    from cmscan.gitrepo import open_repository
    from cmscan.history import HistoryOptions, scan_history

    if since is not None and revisions is not None:
        raise UsageError("use --since or --range, not both")
    if since is not None:
        revisions = f"{since}..HEAD"
    repository = open_repository(repo)
    progress = _progress(quiet, unit="objects")
    started = time.monotonic()
    try:
        result = scan_history(
            repository, HistoryOptions(revisions=revisions, excludes=exclude), progress
        )
    finally:
        if progress is not None:
            progress.close()
    _finish(ctx, result, format_, output, fail_on, verbose, quiet, started)


@cli.command()
@click.argument("repo", default=".", metavar="[REPO]")
@click.option(
    "--exclude",
    multiple=True,
    metavar="PATTERN",
    help="Skip staged paths matching this gitignore-style pattern (repeatable).",
)
@report_options
@click.pass_context
def staged(
    ctx: click.Context,
    repo: str,
    exclude: tuple[str, ...],
    format_: str,
    output: str | None,
    fail_on: str,
    verbose: bool,
    quiet: bool,
) -> None:
    """Scan what is staged for the next commit (the index, not the work tree)."""
    from cmscan.gitrepo import open_repository
    from cmscan.staged import StagedOptions, scan_staged

    started = time.monotonic()
    result = scan_staged(open_repository(repo), StagedOptions(excludes=exclude))
    if not quiet:
        _say(f"staged: scanned {result.files:,} files, {result.bytes:,} bytes")
    _finish(ctx, result, format_, output, fail_on, verbose, quiet, started)


def _finish(
    ctx: click.Context,
    result: ScanResult,
    format_: str,
    output: str | None,
    fail_on: str,
    verbose: bool,
    quiet: bool,
    started: float,
) -> None:
    """Render and write the report, say what needs saying on stderr, and exit."""
    report = Report(result, __version__)
    _emit(report, Format(format_), output)
    _diagnose(report, format_, output, time.monotonic() - started, verbose, quiet)
    ctx.exit(_exit_code(report, fail_on))


def _progress(quiet: bool, unit: str = "files") -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from cmscan.progress import TerminalProgress

    return TerminalProgress(sys.stderr, unit=unit)


def _emit(report: Report, format: Format, output: str | None) -> None:
    to_terminal = output is None and sys.stdout.isatty()
    color = to_terminal and format is Format.TEXT and "NO_COLOR" not in os.environ
    from cmscan.output import write_report

    try:
        write_report(render(report, format, color), output, sys.stdout)
    except OSError as error:
        raise UsageError(f"cannot write the report to {output}: {error.strerror}") from None


def _diagnose(
    report: Report, format_: str, output: str | None, seconds: float, verbose: bool, quiet: bool
) -> None:
    if quiet:
        return
    result = report.result
    if verbose:
        _say(
            f"scanned {result.files:,} {result.unit}s, {result.bytes:,} bytes in {seconds:.2f} s; "
            f"{len(result.findings)} findings of {len(result.keys)} keys"
        )
        for item in result.skipped:
            _say(f"skipped {item.path}: {item.reason}")
    elif result.skipped and (format_ != Format.TEXT.value or output is not None):
        _say(f"{len(result.skipped)} paths not scanned (listed in the report summary)")


def _exit_code(report: Report, fail_on: str) -> int:
    if fail_on == "none":
        return EXIT_OK
    keys = report.result.keys
    if fail_on == "active":
        keys = tuple(key for key in keys if report.verdict(key).status == "active")
    return EXIT_FINDINGS if keys else EXIT_OK


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
