"""Run a tournament from a notebook: the service's tournament REST API (docs/tournaments.md), as an instructor.

::

    from jupyter_duel.tournament import Tournament, tournaments

    t = Tournament.create("Friday arena", "arena", duration_s=45 * 60)
    t.start()
    t.widget()                      # a live control panel (jupyter_duel.tournament_widgets)
    t.export_csv("friday.csv")

Every call is one HTTP request to the service the kernel reaches (``connect``, through ``jupyter_duel.connection``):
the embedded service of this Jupyter server (whose user is its instructor), the class's JupyterHub service (with
the user's hub token), or a standalone service given by URL and an instructor's identity token. A
refusal of the service raises ``TournamentError`` carrying its machine-readable ``code`` (``not_instructor``,
``tournament_state``, ``unknown_tournament``, ...).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

#: The longest long-poll the service grants (``GET api/tournaments/{id}?wait=S``, S <= 30).
MAX_WAIT_S = 30.0

#: Added to a long-poll's HTTP timeout: the service answers after ``wait`` seconds, the network needs a little more.
_NETWORK_SLACK_S = 10.0


class TournamentError(Exception):
    """The service refused a request: ``code`` is its machine-readable error code, ``status`` the HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class ServiceClient:
    """HTTP to one service's API (``api_url`` ends in ``api/``) with the headers that say who the caller is:
    ``Authorization: token <identity token>`` for a standalone service, a Jupyter or JupyterHub API token for an
    embedded or hub service. Thread-safe: each thread has its own HTTP session."""

    def __init__(self, api_url: str, headers: dict[str, str] | None = None, *, timeout_s: float = 30.0):
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self._local = threading.local()

    @classmethod
    def from_connection(cls, connection) -> "ServiceClient":
        """The client for a ``jupyter_duel.connection.ServiceConnection``."""
        return cls(connection.api_url, connection.headers())

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update(self.headers)
        return session

    def request(self, method: str, path: str, *, json_body: Any = None, params: dict | None = None,
                timeout_s: float | None = None) -> requests.Response:
        """One request to ``api/<path>``; a refusal raises ``TournamentError``."""
        try:
            response = self._session.request(
                method, self.api_url + path, json=json_body, params=params,
                timeout=timeout_s if timeout_s is not None else self.timeout_s,
            )
        except requests.RequestException as exc:
            raise TournamentError("unreachable", f"the duel service at {self.api_url} did not answer: {exc}") from exc
        if response.status_code >= 400:
            raise _error_of(response)
        return response

    def json(self, method: str, path: str, **kwargs) -> Any:
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise TournamentError("bad_response", f"the service answered {path} with no JSON") from exc

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None


def _error_of(response: requests.Response) -> TournamentError:
    try:
        error = response.json()["error"]
        return TournamentError(str(error["code"]), str(error["message"]), response.status_code)
    except (ValueError, KeyError, TypeError):
        # Not the service's own error shape: a proxy's or the hub's page, say.
        return TournamentError(f"http_{response.status_code}", response.reason or "request refused",
                               response.status_code)


_default_client: ServiceClient | None = None


def connect(url: str | None = None, token: str | None = None, *, connection=None) -> ServiceClient:
    """The client every call without ``client=`` uses from now on, for the service ``jupyter_duel.connection``
    finds: ``url`` and ``token`` as ``connection.connect`` takes them (a standalone service and an instructor's
    identity token, say), or without them the kernel's own Jupyter server's service (embedded: its user is the
    instructor; under JupyterHub: the class's service, with the user's hub token). ``connection``: a
    ``ServiceConnection`` already made."""
    global _default_client
    if connection is None:
        from .connection import ConnectionSetupError, connect as find

        try:
            connection = find(url, token)
        except ConnectionSetupError as exc:
            raise TournamentError(exc.code, str(exc)) from exc
    _default_client = ServiceClient.from_connection(connection)
    return _default_client


def default_client() -> ServiceClient:
    """The client ``connect`` set; on first use without one, ``connect()`` (the kernel's own service)."""
    return _default_client or connect()


def tournaments(client: ServiceClient | None = None) -> list[dict]:
    """Every tournament of the service, newest first (summaries: id, name, format, status, players, ...)."""
    return (client or default_client()).json("GET", "tournaments")["tournaments"]


class Tournament:
    """One tournament of the service. ``view`` is the last view fetched (no request); ``state`` fetches it anew."""

    def __init__(self, view: dict, client: ServiceClient):
        self.id: str = view["id"]
        self.client = client
        self._lock = threading.Lock()
        self.view: dict = view
        #: ``end()`` succeeded here: the tournament is ending (running games play on) until it is finished.
        self.end_requested = False

    def __repr__(self) -> str:
        v = self.view
        return f"<Tournament {self.id} {v.get('name')!r} {v.get('format')} {v.get('status')}>"

    # -- making and finding ------------------------------------------------------------------------------------

    @classmethod
    def create(cls, name: str, format: str, rated: bool = False, pack: str | None = None,
               challenges: list[str] | None = None, *, duration_s: int | None = None, rounds: int | None = None,
               same_challenge_per_round: bool = True, difficulty: str = "any", time_limit_s: int | None = None,
               client: ServiceClient | None = None) -> "Tournament":
        """A new tournament (status ``open``: players join, then ``start()``). ``format`` is ``arena`` (needs
        ``duration_s``), ``swiss`` (needs ``rounds``) or ``round_robin``. Games use challenges of ``pack`` or
        the ``challenges`` listed (ids), of ``difficulty``; ``time_limit_s`` overrides each game's time limit."""
        body: dict[str, Any] = {
            "name": name, "format": format, "rated": rated, "pack": pack, "challenges": challenges,
            "same_challenge_per_round": same_challenge_per_round, "difficulty": difficulty,
            "time_limit_s": time_limit_s,
        }
        if duration_s is not None:
            body["duration_s"] = duration_s
        if rounds is not None:
            body["rounds"] = rounds
        client = client or default_client()
        return cls(client.json("POST", "tournaments", json_body=body), client)

    @classmethod
    def get(cls, tournament_id: str, client: ServiceClient | None = None) -> "Tournament":
        client = client or default_client()
        return cls(client.json("GET", _path(tournament_id)), client)

    # -- the organiser's commands ------------------------------------------------------------------------------

    def start(self) -> dict:
        return self._command("start")

    def pause(self) -> dict:
        return self._command("pause")

    def resume(self) -> dict:
        return self._command("resume")

    def next_round(self) -> dict:
        """Swiss and round robin: pair the next round now that the current one is over."""
        return self._command("next_round")

    def end(self, abort_games: bool = False) -> dict:
        """No new pairing; the tournament is finished when its running games are over, or at once with
        ``abort_games=True``."""
        view = self._command("end", {"abort_games": True} if abort_games else {})
        self.end_requested = True
        return view

    def _command(self, name: str, body: dict | None = None) -> dict:
        return self._keep(self.client.json("POST", f"{_path(self.id)}/{name}", json_body=body or {}))

    # -- reading -----------------------------------------------------------------------------------------------

    @property
    def state(self) -> dict:
        """The tournament's view, fetched now."""
        return self.refresh()

    @property
    def standings(self) -> list[dict]:
        """The standings, fetched now: rank, name, display_name, score, games, wins, draws, losses, tiebreaks."""
        return self.refresh()["standings"]

    @property
    def status(self) -> str:
        """The last known status (``open``, ``running``, ``paused``, ``finished``); no request."""
        return self.view["status"]

    def refresh(self) -> dict:
        return self._keep(self.client.json("GET", _path(self.id)))

    def wait(self, version: int | None = None, timeout: float = 25.0) -> dict:
        """Long-poll: the view as soon as its ``version`` is past ``version`` (default: the last view's), or the
        unchanged view after ``timeout`` seconds (at most 30, the service's limit)."""
        if version is None:
            version = self.view["version"]
        wait_s = max(0.0, min(float(timeout), MAX_WAIT_S))
        view = self.client.json("GET", _path(self.id), params={"version": int(version), "wait": f"{wait_s:g}"},
                                timeout_s=wait_s + _NETWORK_SLACK_S)
        return self._keep(view)

    def _keep(self, view: dict) -> dict:
        """Remember ``view`` unless a newer one is already known (answers of parallel requests cross)."""
        with self._lock:
            if view.get("version", 0) >= self.view.get("version", 0):
                self.view = view
            return view

    # -- exports -----------------------------------------------------------------------------------------------

    def export_csv(self, path: str | Path) -> Path:
        """The service's results table (CSV) written to ``path``."""
        response = self.client.request("GET", f"{_path(self.id)}/results.csv")
        path = Path(path)
        path.write_bytes(response.content)
        return path

    def export_notebook(self, path: str | Path) -> Path:
        """The service's record of the tournament as a Jupyter notebook (standings, rounds, every game with both
        final solutions) written to ``path``."""
        notebook = self.client.json("GET", f"{_path(self.id)}/notebook")
        path = Path(path)
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    # -- widgets -----------------------------------------------------------------------------------------------

    def widget(self, **kwargs):
        """A live control panel: standings, the current round's games, the organiser's buttons
        (``tournament_widgets.TournamentPanel``)."""
        from .tournament_widgets import TournamentPanel

        return TournamentPanel(self, **kwargs)

    def projector(self, **kwargs):
        """Live standings in large type, for a projector (``tournament_widgets.ProjectorStandings``)."""
        from .tournament_widgets import ProjectorStandings

        return ProjectorStandings(self, **kwargs)

    standings_widget = projector


def _path(tournament_id: str) -> str:
    return "tournaments/" + quote(str(tournament_id), safe="")
