"""``jupyter duel``: the command line (``serve`` runs the central service on its own)."""

from __future__ import annotations

from jupyter_core.application import JupyterApp

from ._version import __version__


class DuelApp(JupyterApp):
    name = "jupyter-duel"
    version = __version__
    description = "jupyter-duel: real-time 1v1 Python coding duels in JupyterLab."
    subcommands = {
        "serve": ("jupyter_duel_server.app.DuelServeApp", "Run the central service on its own port."),
        "judge": (
            "jupyter_duel_server.judge_app.JudgeApp",
            "Judge a solution file against a challenge, test by test.",
        ),
        "challenges": (
            "jupyter_duel_server.challenges_app.ChallengesApp",
            "Validate challenge packs and list the challenges the service serves.",
        ),
        "kernelspec": (
            "jupyter_duel_server.sandbox.kernelspec.KernelspecApp",
            "Install the sandboxed kernel as a Jupyter kernelspec (not installed by default).",
        ),
    }

    def start(self):
        if self.subapp is None:
            self.print_help()
            self.exit(1)
        self.subapp.start()


main = DuelApp.launch_instance
