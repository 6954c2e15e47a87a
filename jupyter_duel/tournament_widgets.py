"""ipywidgets for a tournament run from a notebook: the organiser's control panel and projector standings.

Both follow the service with its long-poll (``GET api/tournaments/{id}?version=N&wait=S``) in a daemon thread: a
request is answered as soon as the tournament changes, so the widgets are live without polling faster than the
tournament changes. When nothing changes, the next request goes out when the status line's coarse time left
("about 12 min left") would change, and at the latest after ``wait_s``. The thread stops when the widget is closed
(in the kernel, by the front end closing its comm, or by a new widget of its kind for the same tournament) or
the tournament is finished.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets

from .tournament import TournamentError

if TYPE_CHECKING:
    from .tournament import Tournament

#: After a failed request the next waits this long, doubling while they fail (the service may be restarting, or
#: the credentials expired), up to ``RETRY_MAX_S``.
RETRY_S = 2.0
RETRY_MAX_S = 60.0

_ROUND_OVER = {"finished", "bye", "forfeit"}


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _points(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def time_left_s(view: dict, clock_offset_s: float) -> float | None:
    """Seconds until ``ends_at`` by the service's clock (``clock_offset_s``: service time minus ours), or None."""
    ends_at = view.get("ends_at")
    if ends_at is None or view.get("status") == "finished":
        return None
    return max(0.0, ends_at - (time.time() + clock_offset_s))


def describe_time_left(seconds: float | None) -> str:
    """Coarse on purpose: it changes once a minute, so the widgets need not ask the service more often."""
    if seconds is None:
        return ""
    if seconds <= 0:
        return "time is up"
    minutes = math.ceil(seconds / 60)
    return "less than a minute left" if minutes <= 1 else f"about {minutes} min left"


def next_change_s(seconds: float | None) -> float | None:
    """Seconds until ``describe_time_left`` reads differently, or None when it never will by itself."""
    if seconds is None or seconds <= 0:
        return None
    return seconds - 60 * (math.ceil(seconds / 60) - 1)


def round_over(view: dict) -> bool:
    """No game of the current round still pending or playing."""
    return all(p.get("status") in _ROUND_OVER for p in view.get("pairings") or [])


def is_ending(view: dict, clock_offset_s: float = 0.0, end_requested: bool = False) -> bool:
    """Ended (by the service's word, by ``end_requested`` here, or the arena's time is up) while games still run:
    no new game, the running ones play on."""
    if view.get("status") not in ("running", "paused"):
        return False
    return bool(view.get("ending")) or end_requested or time_left_s(view, clock_offset_s) == 0.0


def allowed_commands(view: dict, ending: bool = False) -> set[str]:
    """The organiser's commands the service would accept in ``view`` (the panel enables only these buttons).
    ``ending``: ``end`` then aborts the running games (the service refuses a second plain end)."""
    status = view.get("status")
    if status == "open":
        return {"start", "end"}
    if status not in ("running", "paused"):
        return set()
    allowed = {"pause" if status == "running" else "resume", "end"}
    rounds = view.get("rounds")
    if (not ending and view.get("format") in ("swiss", "round_robin") and round_over(view)
            and (rounds is None or view.get("round", 0) < rounds)):
        allowed.add("next_round")
    return allowed


def status_line(view: dict, clock_offset_s: float, ending: bool = False) -> str:
    status = _e(view.get("status")) + (", ending: no new games" if ending else "")
    parts = [f"<b>{_e(view.get('name'))}</b>", _e(view.get("format", "").replace("_", " ")), status]
    if view.get("rated"):
        parts.append("rated")
    if view.get("format") != "arena" and view.get("round"):
        rounds = view.get("rounds")
        parts.append(f"round {view['round']}" + (f" of {rounds}" if rounds else ""))
    parts.append(f"{view.get('players', len(view.get('entrants') or []))} players")
    playing = sum(1 for p in view.get("pairings") or [] if p.get("status") == "playing")
    if playing:
        parts.append(f"{playing} game{'s' if playing != 1 else ''} playing")
    left = describe_time_left(time_left_s(view, clock_offset_s))
    if left:
        parts.append(left)
    return " · ".join(parts)


def standings_table(view: dict, limit: int | None = None) -> str:
    rows = view.get("standings") or []
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return "<p><i>No players yet.</i></p>"
    tiebreaks = sorted({k for r in rows for k in (r.get("tiebreaks") or {})})
    head = "".join(f"<th>{_e(k.replace('_', '-').title())}</th>" for k in tiebreaks)
    out = ["<table class='jd-table'><thead><tr><th>#</th><th>Player</th><th>Score</th><th>Games</th>"
           f"<th>W</th><th>D</th><th>L</th>{head}</tr></thead><tbody>"]
    for r in rows:
        name = _e(r.get("display_name") or r.get("name"))
        if r.get("on_fire"):
            name += " <span title='on fire: wins score double'>🔥</span>"
        if r.get("withdrawn"):
            name = f"<s>{name}</s> (withdrawn)"
        cells = "".join(f"<td>{_points((r.get('tiebreaks') or {}).get(k))}</td>" for k in tiebreaks)
        out.append(f"<tr><td>{_e(r.get('rank'))}</td><td>{name}</td><td><b>{_points(r.get('score'))}</b></td>"
                   f"<td>{_e(r.get('games'))}</td><td>{_e(r.get('wins'))}</td><td>{_e(r.get('draws'))}</td>"
                   f"<td>{_e(r.get('losses'))}</td>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _progress(pairing: dict, name: str | None) -> str:
    progress = (pairing.get("progress") or {}).get(name or "")
    if not progress:
        return ""
    return f"{_e(progress.get('passed'))}/{_e(progress.get('total'))}"


def pairings_table(view: dict) -> str:
    pairings = view.get("pairings") or []
    if not pairings:
        return "<p><i>No games yet.</i></p>"
    names = {e["name"]: e.get("display_name") or e["name"] for e in view.get("entrants") or []}
    rounds = view.get("format") != "arena"  # an arena has no rounds: games start whenever players are free
    out = ["<table class='jd-table'><thead><tr>" + ("<th>Round</th>" if rounds else "") +
           "<th>Player</th><th>Tests</th><th>Opponent</th><th>Tests</th><th>Game</th></tr></thead><tbody>"]
    for p in pairings:
        first, second = p.get("first"), p.get("second")
        status = p.get("status")
        if status == "finished":
            winner = p.get("winner")
            game = (f"{_e(names.get(winner, winner))} won" if winner else "draw")
            if p.get("reason"):  # how the duel ended: solved, time_limit, forfeit, disconnect, ...
                game += f" ({_e(p['reason'].replace('_', ' '))})"
        elif status == "forfeit":
            game = f"forfeit, {_e(names.get(p.get('winner'), p.get('winner')))} wins" if p.get("winner") else "forfeit"
        else:
            game = _e(status)
        out.append(
            "<tr>" + (f"<td>{_e(p.get('round'))}</td>" if rounds else "")
            + f"<td>{_e(names.get(first, first))}</td><td>{_progress(p, first)}</td>"
            f"<td>{_e(names.get(second, second)) if second else '<i>bye</i>'}</td><td>{_progress(p, second)}</td>"
            f"<td>{game}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


_STYLE = """<style>
.jd-table { border-collapse: collapse; }
.jd-table th, .jd-table td { padding: 2px 10px; text-align: left; border-bottom: 1px solid #ddd; }
.jd-projector .jd-table { font-size: 2.2em; }
.jd-projector h2 { font-size: 2.6em; margin: 0.2em 0; }
</style>"""


#: The live widget of each kind shown for each tournament of each service, to close it when a new one replaces it.
_showing: dict[tuple[str, str, str], "_LiveWidget"] = {}
_showing_lock = threading.Lock()


class _LiveWidget(widgets.VBox):
    """A VBox that follows one tournament: ``render(view)`` on every new view, from a daemon thread.

    One of each kind per tournament: a new one closes the one before, since a front end does not close the
    widgets of an output it clears (a re-run cell's panel would otherwise poll on unseen)."""

    def __init__(self, tournament: "Tournament", *, wait_s: float = 25.0, **kwargs):
        super().__init__(**kwargs)
        self.tournament = tournament
        self.wait_s = wait_s
        self.clock_offset_s = 0.0
        self._render_lock = threading.Lock()
        self._rendered_version = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        key = (self.tournament.client.api_url, self.tournament.id, type(self).__name__)
        with _showing_lock:
            previous, _showing[key] = _showing.get(key), self
        if previous is not None:
            previous.close()
        self.show(self.tournament.view)
        if self.comm is not None:
            # The front end closing the widget closes its comm: stop following then too.
            self.comm.on_close(lambda _msg: self.close())
        self._thread = threading.Thread(target=self._follow, name=f"tournament-{self.tournament.id}", daemon=True)
        self._thread.start()

    @property
    def following(self) -> bool:
        """Whether the thread still follows the tournament."""
        return self._thread is not None and self._thread.is_alive()

    def show(self, view: dict) -> None:
        """Render ``view`` unless a newer one is already shown (a button's answer and the long-poll's cross)."""
        with self._render_lock:
            if view.get("version", 0) < self._rendered_version:
                return
            self._rendered_version = view.get("version", 0)
            if view.get("server_time") is not None:
                self.clock_offset_s = view["server_time"] - time.time()
            self.render(view)

    def render(self, view: dict) -> None:
        raise NotImplementedError

    def ending(self, view: dict) -> bool:
        return is_ending(view, self.clock_offset_s, self.tournament.end_requested)

    def _next_wait_s(self, view: dict) -> float:
        change = next_change_s(time_left_s(view, self.clock_offset_s))
        wait = self.wait_s if change is None else min(self.wait_s, change + 0.25)
        return max(1.0, wait)

    def _follow(self) -> None:
        view = self.tournament.view
        retry_s = RETRY_S
        while not self._stop.is_set() and view.get("status") != "finished":
            try:
                view = self.tournament.wait(view["version"], self._next_wait_s(view))
            except Exception as exc:  # the thread must outlive any one failed request
                if self._stop.is_set():
                    break
                if not isinstance(exc, TournamentError):
                    exc = TournamentError("error", repr(exc))
                self.problem(exc)
                self._stop.wait(retry_s)
                retry_s = min(retry_s * 2, RETRY_MAX_S)
                continue
            if self._stop.is_set():
                break
            if retry_s != RETRY_S:
                retry_s = RETRY_S
                self.problem(None)
            self.show(view)

    def problem(self, exc: TournamentError | None) -> None:
        """A request failed (None: requests succeed again): say so where the widget can."""

    def close(self) -> None:
        self._stop.set()
        with _showing_lock:
            for key in [key for key, shown in _showing.items() if shown is self]:
                del _showing[key]
        for child in self._parts():
            child.close()
        super().close()

    def _parts(self) -> list[widgets.Widget]:
        return []


class TournamentPanel(_LiveWidget):
    """The organiser's panel: status line, buttons, standings, the current round's games (with each player's
    tests passed), and the last error. Buttons are enabled only where the service would accept them."""

    def __init__(self, tournament: "Tournament", **kwargs):
        super().__init__(tournament, **kwargs)
        self.style_html = widgets.HTML(_STYLE)
        self.status = widgets.HTML()
        self.status.add_class("jd-tournament-status")
        self.error = widgets.HTML()
        self.error.add_class("jd-tournament-error")
        self.buttons = {
            "start": widgets.Button(description="Start", button_style="success", icon="play"),
            "pause": widgets.Button(description="Pause", icon="pause"),
            "resume": widgets.Button(description="Resume", icon="play"),
            "next_round": widgets.Button(description="Next round", icon="forward"),
            "end": widgets.Button(description="End", button_style="danger", icon="stop"),
        }
        for command, button in self.buttons.items():
            button.add_class(f"jd-tournament-{command.replace('_', '-')}")
            button.on_click(lambda _b, command=command: self.command(command))
        self.standings_html = widgets.HTML()
        self.standings_html.add_class("jd-tournament-standings")
        self.pairings_html = widgets.HTML()
        self.pairings_html.add_class("jd-tournament-pairings")
        self.children = [
            self.style_html, self.status, widgets.HBox(list(self.buttons.values())), self.error,
            widgets.HTML("<b>Standings</b>"), self.standings_html,
            widgets.HTML("<b>Games</b>"), self.pairings_html,
        ]
        self.add_class("jd-tournament-panel")
        self._start()

    def _parts(self):
        return [*self.children[:2], *self.buttons.values(), *self.children[2:]]

    def render(self, view: dict) -> None:
        ending = self.ending(view)
        allowed = allowed_commands(view, ending)
        for command, button in self.buttons.items():
            button.disabled = command not in allowed
        # Once ending, the games still running are the only thing left to stop.
        self.buttons["end"].description = "Abort games" if ending else "End"
        self.standings_html.value = standings_table(view)
        self.pairings_html.value = pairings_table(view)
        # Last: a front end that sees the new status has every other part of this view already.
        self.status.value = status_line(view, self.clock_offset_s, ending)

    def command(self, name: str) -> None:
        """A button's command, sent to the service; the answer (the new view) is shown at once."""
        try:
            if name == "end" and self.ending(self.tournament.view):
                view = self.tournament.end(abort_games=True)
            else:
                view = getattr(self.tournament, name)()
        except TournamentError as exc:
            self.problem(exc)
            return
        self.error.value = ""
        self.show(view)

    def problem(self, exc: TournamentError | None) -> None:
        self.error.value = "" if exc is None else f"<span style='color:#b00'>{_e(exc.code)}: {_e(exc.message)}</span>"


class ProjectorStandings(_LiveWidget):
    """The standings in large type, for a projector: title, status line, the top ``limit`` players."""

    def __init__(self, tournament: "Tournament", *, limit: int = 20, **kwargs):
        super().__init__(tournament, **kwargs)
        self.limit = limit
        self.board = widgets.HTML()
        self.board.add_class("jd-tournament-projector")
        self.children = [widgets.HTML(_STYLE), self.board]
        self.add_class("jd-projector")
        self._start()

    def _parts(self):
        return list(self.children)

    def render(self, view: dict) -> None:
        status = status_line(view, self.clock_offset_s, self.ending(view))
        self.board.value = (f"<h2>{_e(view.get('name'))}</h2><p style='font-size:1.6em'>{status}</p>"
                            f"{standings_table(view, self.limit)}")
