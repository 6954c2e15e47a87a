"""jupyter-duel: real-time 1v1 Python coding duels in JupyterLab (Jupyter server extension and front end)."""

from ._version import __version__


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyter-duel"}]


def _jupyter_server_extension_points():
    from .extension import DuelExtension

    return [{"module": "jupyter_duel", "app": DuelExtension}]


def __getattr__(name):
    # Imported on first use: the server extension must not need ipywidgets, nor load it in the server.
    if name == "DuelClient":
        from .duelwidget import DuelClient

        return DuelClient
    if name == "connect":
        from .connection import connect

        return connect
    if name == "Tournament":
        from .tournament import Tournament

        return Tournament
    raise AttributeError(f"module 'jupyter_duel' has no attribute {name!r}")


__all__ = ["DuelClient", "Tournament", "__version__", "connect"]
