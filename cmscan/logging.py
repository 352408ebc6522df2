"""``cmscan.logging``: keep keys out of application logs in the first place.

:class:`RedactingFilter` masks every key in a log record before a handler writes it, the
way cmscan shows keys everywhere (``cm-Q7fL…k2Zp``). Attach it to **handlers**: a filter on
a logger only sees records logged to that very logger, not those propagated from its
children, whereas a handler's filters see every record the handler writes::

    import logging
    from cmscan.logging import RedactingFilter
    for handler in logging.getLogger().handlers: handler.addFilter(RedactingFilter())

What is masked: the message with its ``%``-style arguments (formatted once, then masked),
the exception text with its traceback and chained exceptions, the stack info, and every
other string attribute of the record (``extra=`` fields, and ``message``/``asctime`` if an
earlier handler formatted the record). Keys written in base64 (a Basic auth header), with
JSON escapes or percent-encoding are masked too. The filter never drops a record and never
raises.

This module is ``cmscan.logging``; the package uses absolute imports only, so ``import
logging`` below (and anywhere in cmscan) is the standard library's.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from cmscan.keys import scrub

__all__ = ["RedactingFilter", "mask_text"]

_ESCAPED = re.compile(r"cm(?:\\u002[dD]|%2[dD])")
"""The start of a key written with escapes: rare, so the detector runs only then."""
_HANDLED = frozenset({"msg", "args", "exc_info", "exc_text", "stack_info"})
_WITHHELD = "cmscan.logging: this record could not be masked and was withheld ({})"


def mask_text(text: str) -> str:
    """``text`` with every key masked: key-shaped runs (as in all cmscan messages) and keys
    written with JSON escapes or percent-encoding (as ``cmscan scan`` finds them)."""
    text = scrub(text)
    if _ESCAPED.search(text) is None:
        return text
    return _mask_escaped(text)


def _mask_escaped(text: str) -> str:
    from cmscan.detector import Detector
    from cmscan.keys import Key

    data = text.encode("utf-8", "surrogatepass")
    pieces: list[bytes] = []
    done = 0
    for match in Detector().find(data, 0, len(data), len(data), binary=False):
        replacement = Key(match.key).masked_as(match.encoding)
        if match.offset < done or replacement is None:
            continue
        pieces += [data[done : match.offset], replacement.encode("utf-8")]
        done = match.offset + match.length
    pieces.append(data[done:])
    return b"".join(pieces).decode("utf-8", "surrogatepass")


class RedactingFilter(logging.Filter):
    """A :class:`logging.Filter` that masks keys in records and lets every record through.

    A record without keys is left exactly as it was (its ``msg`` template and ``args``
    intact, for error trackers that group by template). A record whose formatted message
    holds a key gets the masked message as ``msg`` and empty ``args``. A record whose
    exception text holds a key gets the masked text as ``exc_text`` and ``exc_info`` set to
    ``None``: formatters print ``exc_text`` as they would the traceback, and handlers that
    read ``exc_info`` themselves cannot reach the key through it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._formatter = logging.Formatter()  # formats exceptions as the default one does

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._mask_message(record)
            self._mask_exception(record)
            if isinstance(record.stack_info, str):
                record.stack_info = mask_text(record.stack_info)
            for name, value in list(vars(record).items()):
                if name not in _HANDLED and isinstance(value, str):
                    masked = mask_text(value)
                    if masked != value:
                        setattr(record, name, masked)
        except Exception as error:  # never let logging raise into the application
            record.msg = _WITHHELD.format(type(error).__name__)
            record.args = ()
            record.exc_info = record.exc_text = record.stack_info = None
        return True

    def _mask_message(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: logging will report them, masked
            record.msg = mask_text(str(record.msg))
            record.args = _masked_args(record.args)
            return
        masked = mask_text(message)
        if masked != message:
            record.msg = masked
            record.args = ()

    def _mask_exception(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            text = record.exc_text or self._formatter.formatException(record.exc_info)
            masked = mask_text(text)
            if masked != text:
                record.exc_text = masked
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask_text(record.exc_text)


def _masked_args(args: Any) -> Any:
    """Arguments that failed to format, each as masked text (logging prints them then)."""
    if isinstance(args, dict):
        return {key: mask_text(str(value)) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(mask_text(str(value)) for value in args)
    return args
