"""What a player sees of the opponent's code while a battle runs (``docs/rules.md``, "The mirror").

- ``live``: every edit as it happens (casual duels: the fun of watching the other side type).
- ``delayed``: the same edits, ``delay_s`` seconds late.
- ``shape``: no text at all; the outline of the code (each line's indentation and length), so a player sees
  the opponent's progress but has nothing to copy (ranked duels).
- ``off``: nothing until the end.

Whatever the mode, both codes are shown in full to both players once the battle is over. The service asks
``mode_for`` which mode a battle gets, and sends what the mode allows; this module holds the pure parts.
"""

from __future__ import annotations

from collections import deque

MODES = ("live", "delayed", "shape", "off")

#: The defaults: casual duels mirror live; a ranked duel never shows copyable text.
DEFAULT_MODES = {"casual": "live", "ranked": "shape"}

#: Most lines an outline carries; a longer code's outline is cut (it is progress, not content).
MAX_SHAPE_LINES = 400


def mode_for(modes: dict[str, str], ranked: bool, pool: str) -> str:
    """The mode of a battle: ``modes["ranked/<pool>"]`` (or ``casual/<pool>``) first, then ``modes["ranked"]``
    (or ``casual``), then the default."""
    kind = "ranked" if ranked else "casual"
    return modes.get(f"{kind}/{pool}") or modes.get(kind) or DEFAULT_MODES[kind]


def valid_key(key: str) -> bool:
    kind, _, pool = key.partition("/")
    return kind in ("ranked", "casual") and pool in ("", "any", "easy", "medium", "hard") and (pool or "/" not in key)


def code_shape(code: str) -> list[list[int]]:
    """The outline of ``code``: per line, [indentation in columns (a tab is 4), length of the rest]. Trailing
    spaces do not count."""
    out = []
    for line in code.split("\n")[:MAX_SHAPE_LINES]:
        body = line.lstrip(" \t")
        indent = len(line[: len(line) - len(body)].expandtabs(4))
        out.append([indent, len(body.rstrip())])
    return out


class DelayedFeed:
    """A seat's edits waiting to be shown ``delay_s`` late, and the text the opponent has been shown so far
    (what a resume then shows: nothing newer than the delay allows)."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self.pending: deque[tuple[float, dict]] = deque()  # (due, opponent_code payload), in order
        self.shown_text = ""
        self.shown_seq = 0

    def push(self, now: float, payload: dict) -> None:
        self.pending.append((now + self.delay_s, payload))

    def due(self, now: float) -> list[dict]:
        """The payloads whose time has come, oldest first, applied to the shown text."""
        from .protocol import apply_delta

        out = []
        while self.pending and self.pending[0][0] <= now:
            payload = self.pending.popleft()[1]
            if payload["text"] is not None:
                self.shown_text = payload["text"]
            else:
                self.shown_text = apply_delta(self.shown_text, payload["delta"])
            self.shown_seq = payload["seq"]
            out.append(payload)
        return out
