"""Report formats: each turns a :class:`~cmscan.model.Report` into text, masking every key."""

from __future__ import annotations

import enum
from collections.abc import Callable

from cmscan.model import Report
from cmscan.report import json_format, text_format


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


Renderer = Callable[[Report, bool], str]
"""``render(report, color)``: the whole report as a string."""

RENDERERS: dict[Format, Renderer] = {
    Format.TEXT: text_format.render,
    Format.JSON: json_format.render,
}


def render(report: Report, format: Format, color: bool = False) -> str:
    return RENDERERS[format](report, color)
