"""Report formats: each turns a :class:`~cmscan.model.Report` into text, masking every key."""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable

from cmscan.model import Report


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    GITHUB = "github"


Renderer = Callable[[Report, bool], str]
"""``render(report, color)``: the whole report as a string."""

_MODULES: dict[Format, str] = {
    Format.TEXT: "cmscan.report.text_format",
    Format.JSON: "cmscan.report.json_format",
    Format.SARIF: "cmscan.report.sarif_format",
    Format.GITHUB: "cmscan.report.github_format",
}


def renderer(format: Format) -> Renderer:
    """The format's ``render`` function; only the format asked for is imported."""
    module = importlib.import_module(_MODULES[format])
    return module.render  # type: ignore[no-any-return]


def render(report: Report, format: Format, color: bool = False) -> str:
    return renderer(format)(report, color)
