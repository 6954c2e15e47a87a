"""jupyter-duel's central service: matchmaking, battles, judging and ratings over Socket.IO and REST."""

from jupyter_duel._version import __version__

__all__ = ["__version__"]
