"""The kernelspec "Python 3 (duel sandbox)" and a helper to install it."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).parent
NAME = "duel-sandbox"


def install(prefix: str | os.PathLike, python: str | None = None) -> Path:
    """Write ``<prefix>/kernels/duel-sandbox/kernel.json`` (``prefix`` is a Jupyter data dir, e.g. on
    JUPYTER_PATH); argv[0] is the interpreter the kernel runs with (default: this one)."""
    dest = Path(prefix) / "kernels" / NAME
    dest.mkdir(parents=True, exist_ok=True)
    spec = json.loads((HERE / NAME / "kernel.json").read_text())
    spec["argv"][0] = python or sys.executable
    (dest / "kernel.json").write_text(json.dumps(spec, indent=2))
    return dest


__all__ = ["install", "NAME", "HERE", "shutil"]
