"""The kernelspec "Python 3 (duel sandbox)" and ``jupyter duel kernelspec install``.

The judge starts its sandboxed kernels itself and needs no kernelspec. The kernelspec is for operators who want
the same locked-down kernel through Jupyter (a kernel gateway, a KernelManager); it is not installed with the
package, so it never shows in a student's Launcher, where a notebook on it could not even save a file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from jupyter_core.application import JupyterApp
from jupyter_core.paths import jupyter_data_dir
from traitlets import Unicode

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


class KernelspecApp(JupyterApp):
    name = "jupyter-duel-kernelspec"
    description = "Install the sandboxed kernel as a Jupyter kernelspec: jupyter duel kernelspec install"
    prefix = Unicode(help="Jupyter data directory to install into. Default: the user's (jupyter --data-dir).").tag(
        config=True
    )
    aliases = {"prefix": "KernelspecApp.prefix"}

    def start(self):
        if self.extra_args != ["install"]:
            self.print_help()
            self.exit(1)
        print(install(self.prefix or jupyter_data_dir()))


__all__ = ["install", "NAME", "HERE", "KernelspecApp"]
