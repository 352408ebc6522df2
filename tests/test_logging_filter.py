"""``cmscan.logging.RedactingFilter``: keys never reach a log, whatever carries them."""

from __future__ import annotations

import base64
import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import cmscan.logging as cmscan_logging
from cmscan.keys import mask
from cmscan.logging import RedactingFilter, mask_text
from tests.keygen import make_key

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture
def key() -> str:
    return make_key()


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger ``app`` whose one handler writes to a string, the filter on the handler.

    The logger is not registered with :mod:`logging` (pytest adds its own capturing
    handlers to registered loggers, and those raise on a formatting error)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.Logger("app", logging.DEBUG)
    logger.addHandler(handler)
    yield logger, stream


def test_the_module_is_cmscan_logging_and_its_logging_is_the_stdlib() -> None:
    assert cmscan_logging.__name__ == "cmscan.logging"
    assert cmscan_logging.logging is logging
    assert Path(logging.__file__).parent.name == "logging"  # .../lib/python3.X/logging
    assert not Path(logging.__file__).is_relative_to(Path(cmscan_logging.__file__).parent)
    # and in a fresh interpreter, importing cmscan first changes nothing
    code = "import cmscan.logging, logging, cmscan.cli; print(logging.getLogger is not None)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout == "True\n"


@pytest.mark.parametrize(
    ("template", "args", "expected"),
    [
        ("key %s used %d times, %.1f%%", ("{key}", 3, 99.5), "key {masked} used 3 times, 99.5%"),
        ("%r", ("{key}",), "'{masked}'"),
        ("%(user)s has %(key)s", {"user": "ada", "key": "{key}"}, "ada has {masked}"),
        ("{key} at start %d", (7,), "{masked} at start 7"),
        ("header: %s", ({"Authorization": "Bearer {key}"},), "header: {{'Authorization': "),
    ],
)
def test_percent_style_arguments(
    capture: tuple[logging.Logger, io.StringIO],
    key: str,
    template: str,
    args: object,
    expected: str,
) -> None:
    logger, stream = capture

    def fill(value: object) -> object:
        if isinstance(value, str):
            return value.replace("{key}", key)
        if isinstance(value, dict):
            return {name: fill(item) for name, item in value.items()}
        if isinstance(value, tuple):
            return tuple(fill(item) for item in value)
        return value

    filled = fill(args)
    if isinstance(filled, tuple):
        logger.info(template.replace("{key}", key), *filled)
    else:
        logger.info(template.replace("{key}", key), filled)
    out = stream.getvalue()
    assert out.startswith("INFO app " + expected.format(masked=mask(key)))
    assert key not in out and key[3:] not in out
    assert mask(key) in out


def test_a_record_without_keys_is_left_as_it_was() -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "n=%d %s", (5, "x"), None)
    assert RedactingFilter().filter(record) is True
    assert (record.msg, record.args) == ("n=%d %s", (5, "x"))
    assert record.getMessage() == "n=5 x"


def test_a_record_with_a_key_gets_its_message_masked_once(key: str) -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "k=%s n=%d", (key, 2), None)
    RedactingFilter().filter(record)
    assert (record.msg, record.args) == (f"k={mask(key)} n=2", ())
    assert RedactingFilter().filter(record) is True  # a second filter changes nothing
    assert record.getMessage() == f"k={mask(key)} n=2"


def test_exceptions_and_their_causes(capture: tuple[logging.Logger, io.StringIO], key: str) -> None:
    logger, stream = capture
    try:
        try:
            raise KeyError(key)
        except KeyError as inner:
            raise RuntimeError(f"auth failed with {key}") from inner
    except RuntimeError:
        logger.exception("request failed for %s", key)
    out = stream.getvalue()
    assert out.startswith(f"ERROR app request failed for {mask(key)}\nTraceback")
    assert "The above exception was the direct cause" in out
    assert f"RuntimeError: auth failed with {mask(key)}" in out
    assert f"KeyError: '{mask(key)}'" in out
    assert key not in out and key[3:] not in out


def test_exception_record_fields(key: str) -> None:
    try:
        raise ValueError(key)
    except ValueError:
        info = sys.exc_info()
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", (), info)
    RedactingFilter().filter(record)
    assert record.exc_info is None  # handlers that read exc_info cannot reach the key
    assert record.exc_text is not None and f"ValueError: {mask(key)}" in record.exc_text
    assert logging.Formatter().format(record).startswith("boom\nTraceback")


def test_exceptions_without_keys_keep_exc_info() -> None:
    try:
        raise ValueError("nothing secret")
    except ValueError:
        info = sys.exc_info()
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", (), info)
    RedactingFilter().filter(record)
    assert record.exc_info == info and record.exc_text is None


def test_an_already_formatted_exception_text_is_masked(key: str) -> None:
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", (), None)
    record.exc_text = f"Traceback ...\nValueError: {key}"
    RedactingFilter().filter(record)
    assert record.exc_text == f"Traceback ...\nValueError: {mask(key)}"


def test_stack_info_extras_and_earlier_formatting(
    capture: tuple[logging.Logger, io.StringIO], key: str
) -> None:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "m", (), None)
    record.stack_info = f'Stack (most recent call last):\n  client = Api("{key}")'
    record.api_key = key  # extra={"api_key": ...}
    record.message = f"m {key}"  # what an earlier handler's formatter left
    record.count = 3
    RedactingFilter().filter(record)
    assert record.stack_info.endswith(f'Api("{mask(key)}")')
    assert (record.api_key, record.message, record.count) == (mask(key), f"m {mask(key)}", 3)
    logger, stream = capture
    logger.info("with stack", stack_info=True, extra={"token": key})
    assert key not in stream.getvalue()


def test_escaped_keys_are_masked_as_they_were_written(key: str) -> None:
    body = key[3:]
    text = f'body={{"k":"cm\\u002d{body}"}} url=/x?key=cm%2D{body}&y=1'
    masked = mask_text(text)
    dots = mask(key).split("\u2026")
    assert masked == (
        f'body={{"k":"{dots[0]}\\u2026{dots[1]}"}} url=/x?key={dots[0]}%E2%80%A6{dots[1]}&y=1'
    )


def test_base64_keys_are_masked(capture: tuple[logging.Logger, io.StringIO], key: str) -> None:
    logger, stream = capture
    encoded = base64.b64encode(b"user:" + key.encode()).decode()
    logger.info("headers: Authorization: Basic %s", encoded)
    assert encoded not in stream.getvalue() and key not in stream.getvalue()
    assert mask(key) in stream.getvalue()


def test_bad_arguments_are_reported_masked(
    capture: tuple[logging.Logger, io.StringIO], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logger, stream = capture
    logger.info("count %d", key)  # wrong type: logging reports the error on stderr
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert mask(key) in err
    assert key not in err and key not in stream.getvalue()


def test_the_filter_never_raises_and_never_drops(key: str) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError(key)

    record = logging.LogRecord("app", logging.INFO, __file__, 1, Hostile(), (), None)
    assert RedactingFilter().filter(record) is True
    assert "could not be masked" in record.getMessage()
    assert key not in record.getMessage()


def test_a_logger_filter_misses_child_records_a_handler_filter_does_not(key: str) -> None:
    """Why the README puts the filter on handlers."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    parent = logging.getLogger("shop")
    parent.propagate = False
    parent.addHandler(handler)
    parent.addFilter(RedactingFilter())
    try:
        logging.getLogger("shop.db").warning("key %s", key)
        assert key in stream.getvalue()  # the logger's filter never saw the child's record
        stream.truncate(0)
        handler.addFilter(RedactingFilter())
        logging.getLogger("shop.db").warning("key %s", key)
        assert key not in stream.getvalue() and mask(key) in stream.getvalue()
    finally:
        parent.removeHandler(handler)
        parent.filters.clear()
        parent.propagate = True


def _readme_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Stop keys reaching your logs", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_readme_snippet_works_in_a_real_program(tmp_path: Path, key: str) -> None:
    snippet = _readme_snippet()
    assert len(snippet.strip().splitlines()) == 3
    program = tmp_path / "app.py"
    program.write_text(
        "import logging, os\n"
        "logging.basicConfig(level=logging.INFO, format='%(name)s %(message)s')\n"
        + snippet
        + "log = logging.getLogger('app.payments')\n"
        "log.info('charging with %s', os.environ['APP_KEY'])\n"
        "try:\n"
        "    raise PermissionError(os.environ['APP_KEY'])\n"
        "except PermissionError:\n"
        "    log.exception('failed')\n"
    )
    result = subprocess.run(
        [sys.executable, str(program)],
        capture_output=True,
        text=True,
        env={**os.environ, "APP_KEY": key},
        check=True,
    )
    assert f"app.payments charging with {mask(key)}\n" in result.stderr
    assert f"PermissionError: {mask(key)}" in result.stderr
    assert key not in result.stderr + result.stdout


def test_dict_config_as_the_readme_says(key: str) -> None:
    import logging.config

    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "filters": {"redact": {"()": "cmscan.logging.RedactingFilter"}},
            "handlers": {
                "memory": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "filters": ["redact"],
                }
            },
            "loggers": {"dictapp": {"handlers": ["memory"], "level": "INFO"}},
        }
    )
    logging.getLogger("dictapp.child").info("k=%s", key)
    assert stream.getvalue() == f"k={mask(key)}\n"
    logging.getLogger("dictapp").handlers.clear()
