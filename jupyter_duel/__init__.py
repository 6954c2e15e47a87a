"""jupyter-duel: real-time 1v1 Python coding duels in JupyterLab (Jupyter server extension and front end)."""

from ._version import __version__


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyter-duel"}]


def _jupyter_server_extension_points():
    from .extension import DuelExtension

    return [{"module": "jupyter_duel", "app": DuelExtension}]


__all__ = ["__version__"]
