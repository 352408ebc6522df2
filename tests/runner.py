"""How tests run cmscan as a real process: the venv's console script, else ``-m cmscan``."""

from __future__ import annotations

import sys
from pathlib import Path


def cmscan_executable() -> list[str]:
    script = Path(sys.executable).with_name("cmscan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cmscan"]
