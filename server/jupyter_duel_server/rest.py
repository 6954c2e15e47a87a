"""The REST API: read-only JSON views of challenges, the lobby, players and their history; the class's results
as CSV for instructors; the service's Prometheus metrics (``metrics``), for whoever may use the API.

Challenge views come from ``Challenge.public_view``, which never contains hidden tests or the reference
solution. An embedding host can protect every handler by subclassing and overriding ``check_access``. Who is an
instructor: as a JupyterHub service, whom the hub says (``duel_identity``, set by ``hub.hub_protected``);
embedded in a Jupyter server, its signed-in user (the extension sets ``trusted_owner``); on its own, whoever
sends an instructor's identity token (``Authorization: token ...``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tornado import web

import nbformat

from .auth import GUEST_PREFIX, AuthError, display_name
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .notebook import battle_notebook
from .protocol import ServiceError, clip

if TYPE_CHECKING:
    from .auth import Identity
    from .service import DuelService


class DuelAPIHandler(web.RequestHandler):
    """Base: JSON in and out, errors as ``{"error": {"code", "message"}}``."""

    service: "DuelService"
    trusted_owner = False  # True behind a Jupyter server's own authentication: its user runs the service

    def requester_identity(self) -> "Identity | None":
        """Who sends the request, when it says: the hub's user (``duel_identity``); else the identity token in
        ``X-Duel-Identity`` (a browser tab playing under a name of its own, e.g. a guest in a shared Jupyter
        server) or, outside a Jupyter server, in ``Authorization: token ...``. None when the request names
        nobody. A token that does not verify raises ``AuthError``."""
        identity = getattr(self, "duel_identity", None)
        if identity is not None:
            return identity
        token = self.request.headers.get("X-Duel-Identity", "").strip()
        header = self.request.headers.get("Authorization", "")
        if not token and not self.trusted_owner and header.startswith("token "):
            token = header[len("token "):].strip()
        return self.service.signer.verify(token) if token else None

    def may_read_battle(self, players: list) -> tuple[int, str, str] | None:
        """None when the requester may read a battle of ``players`` (one of them, an instructor, or a request that
        names nobody where the API is open); else the refusal as (status, code, message). A tab naming itself is
        narrowed to its own battles: no boundary against the Jupyter server's own user, who may read everything."""
        try:
            identity = self.requester_identity()
        except AuthError as exc:
            return 401, exc.code, str(exc)
        if identity is None or identity.handle in players:
            return None
        if identity.instructor or identity.name in self.service.instructors:
            return None
        return 403, "not_in_battle", "this battle is for its players and instructors"

    def requester_is_instructor(self) -> bool:
        try:
            identity = self.requester_identity()
        except AuthError:
            return False
        if identity is not None:
            return identity.instructor or identity.name in self.service.instructors
        return self.trusted_owner

    def initialize(self, service: "DuelService") -> None:
        self.service = service

    def prepare(self) -> None:
        self.check_access()

    def check_access(self) -> None:
        """Refuse the request (raise HTTPError) when the caller may not see the API. Open by default.

        The Jupyter server extension protects the embedded API by putting Jupyter's ``APIHandler`` first in
        the handlers' bases instead, so this stays synchronous (Jupyter's ``prepare`` does not await what the
        next ``prepare`` returns).
        """

    def write_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    def fail(self, status: int, code: str, message: str) -> None:
        self.write_json({"error": {"code": code, "message": message}}, status)

    def write_error(self, status_code: int, **kwargs) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": {"code": "http_%d" % status_code, "message": self._reason}}))


class HealthHandler(DuelAPIHandler):
    def get(self):
        self.write_json(self.service.health())


class MetricsHandler(DuelAPIHandler):
    """The service's metrics in the Prometheus text format (``metrics.ServiceMetrics``), under the same access rule
    as the rest of the API: open on a standalone service, behind Jupyter's authentication when embedded, behind the
    hub as a JupyterHub service."""

    def get(self):
        self.set_header("Cache-Control", "no-store")
        self.finish(self.service.metrics.exposition())

    def finish(self, chunk=None):
        # Last word on the type: embedded, Jupyter's APIHandler (first in the bases) sets JSON before calling this,
        # and Prometheus refuses a scrape whose Content-Type is not its own.
        if self.get_status() == 200:
            self.set_header("Content-Type", METRICS_CONTENT_TYPE)
        return super().finish(chunk)


class ChallengesHandler(DuelAPIHandler):
    def get(self):
        items = [
            {"id": c.id, "title": c.title, "difficulty": c.difficulty, "tags": list(c.tags)}
            for c in self.service.challenges.all()
        ]
        self.write_json({"challenges": items})


class ChallengeHandler(DuelAPIHandler):
    def get(self, challenge_id: str):
        try:
            challenge = self.service.challenges.get(challenge_id)
        except KeyError:
            return self.fail(404, "unknown_challenge", f"no challenge has the id {clip(challenge_id)!r}")
        self.write_json(challenge.public_view())


class QueueInfoHandler(DuelAPIHandler):
    def get(self):
        self.write_json(self.service.lobby.queue_info(self.get_argument("name", None)))


class LeaderboardHandler(DuelAPIHandler):
    async def get(self):
        self.write_json({"players": [p.model_dump() for p in await self.service.accounts.leaderboard()]})


class UserHandler(DuelAPIHandler):
    async def get(self, name: str):
        profile = await self.service.accounts.user_view(name)
        if profile is None:
            return self.fail(404, "unknown_user", f"no player is called {clip(name)!r}")
        self.write_json(profile.model_dump())


class UserBattlesHandler(DuelAPIHandler):
    async def get(self, name: str):
        battles = await self.service.battles.history(name)
        if battles is None:
            return self.fail(404, "unknown_user", f"no player is called {clip(name)!r}")
        self.write_json({"battles": battles})


class BattleReviewHandler(DuelAPIHandler):
    """A finished battle for its review and replay: for its players and instructors (as a JupyterHub service; on
    one machine or a standalone service, for anybody who may use the API, as the history is).

    A browser tab that plays under a name of its own (a guest in a shared Jupyter server) sends its identity token
    in ``X-Duel-Identity`` and is answered as that player: a guest reads only the battles they played. This narrows
    what the tab is shown; it is no boundary against the Jupyter server's own user, who may read everything.
    """

    async def get(self, battle_id: str):
        review = await self.service.db(self.service.store.battle_review, battle_id)
        if review is None:
            return self.fail(404, "unknown_battle", "no finished battle has this id")
        refused = self.may_read_battle(review["players"])
        if refused:
            return self.fail(*refused)
        try:
            challenge = self.service.challenges.get(review["challenge_id"])
            review["challenge"] = challenge.public_view()
        except KeyError:
            review["challenge"] = None
        review["challenge_title"] = challenge.title if review["challenge"] else review["challenge_id"]
        review["display_names"] = [display_name(n or "") for n in review["players"]]
        self.write_json(review)


class BattleNotebookHandler(DuelAPIHandler):
    """A finished battle as a Jupyter notebook (``notebook.battle_notebook``), for the same people as its review.
    A request that names somebody (the hub's user, or an identity token on a standalone service) is refused
    unless that is one of the two players or an instructor."""

    async def get(self, battle_id: str):
        running = self.service.battles.running.get(battle_id)
        review = None if running else await self.service.db(self.service.store.battle_review, battle_id)
        if running is None and review is None:
            return self.fail(404, "unknown_battle", "no battle has this id")
        refused = self.may_read_battle(list(running.names) if running else review["players"])
        if refused:
            return self.fail(*refused)
        if running:
            return self.fail(409, "battle_running", "the battle is still running: export it once it is over")
        try:
            challenge = self.service.challenges.get(review["challenge_id"]).public_view()
        except KeyError:
            challenge = None
        review["display_names"] = [display_name(n or "") for n in review["players"]]
        notebook = battle_notebook(review, challenge)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(nbformat.writes(notebook))


class OnlinePlayersHandler(DuelAPIHandler):
    def get(self):
        players = []
        for name in self.service.accounts.online_players():
            # A guest's handle is in the guest namespace, and only a guest's: no database read per player.
            players.append({"name": name, "display_name": display_name(name),
                            "guest": name.startswith(GUEST_PREFIX),
                            "busy": self.service.battles.battle_id_of(name) is not None})
        self.write_json({"players": players})


class ClassResultsHandler(DuelAPIHandler):
    async def get(self):
        if not self.requester_is_instructor():
            return self.fail(403, "not_instructor", "the class's results are for instructors")
        since = 0.0 if self.get_argument("all", "") in ("1", "true") else None
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", 'attachment; filename="duel-results.csv"')
        self.set_header("Cache-Control", "no-store")
        self.finish(await self.service.classroom.results_csv(since))


#: HTTP status of each tournament refusal.
TOURNAMENT_STATUS = {"unknown_tournament": 404, "tournament_state": 409, "tournament_closed": 409}


class TournamentAPIHandler(DuelAPIHandler):
    """Base of the tournament routes (``tournamentroom.TournamentRoom``): a refusal is its code, 400 unless
    ``TOURNAMENT_STATUS`` says otherwise."""

    def refuse(self, exc: ServiceError) -> None:
        self.fail(TOURNAMENT_STATUS.get(exc.code, 400), exc.code, str(exc))

    def instructor_only(self) -> bool:
        """Refuse (403 ``not_instructor``) anybody who is not an instructor, the rule of ``class/results.csv``;
        True when refused."""
        if self.requester_is_instructor():
            return False
        self.fail(403, "not_instructor", "running tournaments is for instructors")
        return True


class TournamentsHandler(TournamentAPIHandler):
    """``GET``: every tournament, newest first. ``POST`` (instructors): a new one."""

    def get(self):
        self.write_json({"tournaments": [s.model_dump(mode="json") for s in self.service.tournaments.summaries()]})

    async def post(self):
        if self.instructor_only():
            return
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            return self.fail(400, "invalid_payload", "the body is not JSON")
        try:
            identity = self.requester_identity()
        except AuthError:
            identity = None
        room = self.service.tournaments
        try:
            t = room.create(body, identity.handle if identity is not None else None)
        except ServiceError as exc:
            return self.refuse(exc)
        self.write_json(room.view(t).model_dump(mode="json"), 201)


class TournamentHandler(TournamentAPIHandler):
    """One tournament's view; with ``?version=N&wait=S``, a long-poll: answered once the view's version is over
    N, or after S seconds (at most ``DuelService.tournament_long_poll_max_s``) with the view unchanged."""

    async def get(self, tournament_id: str):
        room = self.service.tournaments
        try:
            t = room.get(tournament_id)
        except ServiceError as exc:
            return self.refuse(exc)
        version, wait = self.get_argument("version", None), self.get_argument("wait", None)
        if version is not None:
            try:
                version, wait = int(version), float(wait or 0)
            except ValueError:
                return self.fail(400, "invalid_payload", "version is an integer and wait a number of seconds")
            if not 0 <= wait < float("inf"):
                return self.fail(400, "invalid_payload", "wait is a number of seconds >= 0")
            await room.wait_change(t, version, min(wait, self.service.tournament_long_poll_max_s))
        if self.request.connection.stream is not None and self.request.connection.stream.closed():
            return  # the reader left while waiting
        self.write_json(room.view(t).model_dump(mode="json"))


class TournamentActionHandler(TournamentAPIHandler):
    """``POST api/tournaments/{id}/{start|pause|resume|next_round|end}`` (instructors): the view after it."""

    async def post(self, tournament_id: str, action: str):
        if self.instructor_only():
            return
        room = self.service.tournaments
        try:
            body = json.loads(self.request.body) if self.request.body else {}
        except ValueError:
            return self.fail(400, "invalid_payload", "the body is not JSON")
        if not isinstance(body, dict) or set(body) - ({"abort_games"} if action == "end" else set()) or (
                not isinstance(body.get("abort_games", False), bool)):
            return self.fail(400, "invalid_payload", f"{action} takes no body" if action != "end"
                             else 'end takes {"abort_games": true|false}')
        try:
            if action == "end":
                t = await room.end(tournament_id, body.get("abort_games", False))
            else:
                t = await getattr(room, action)(tournament_id)
        except ServiceError as exc:
            return self.refuse(exc)
        self.write_json(room.view(t).model_dump(mode="json"))


class TournamentResultsHandler(TournamentAPIHandler):
    """The standings and every game as CSV (instructors)."""

    def get(self, tournament_id: str):
        if self.instructor_only():
            return
        try:
            t = self.service.tournaments.get(tournament_id)
        except ServiceError as exc:
            return self.refuse(exc)
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", 'attachment; filename="tournament-results.csv"')
        self.set_header("Cache-Control", "no-store")
        self.finish(self.service.tournaments.results_csv(t))


class TournamentNotebookHandler(TournamentAPIHandler):
    """The tournament as a notebook (instructors): standings, rounds, and each game with both solutions."""

    async def get(self, tournament_id: str):
        if self.instructor_only():
            return
        try:
            t = self.service.tournaments.get(tournament_id)
        except ServiceError as exc:
            return self.refuse(exc)
        notebook = await self.service.tournaments.notebook(t)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(nbformat.writes(notebook))


def rest_handlers(service: "DuelService", prefix: str) -> list[tuple]:
    """Routes under ``prefix`` (ending in '/')."""
    kw = {"service": service}
    api = prefix + "api/"
    return [
        (prefix + "metrics", MetricsHandler, kw),
        (api + "health", HealthHandler, kw),
        (api + "challenges", ChallengesHandler, kw),
        (api + r"challenges/([^/]+)", ChallengeHandler, kw),
        (api + "queue-info", QueueInfoHandler, kw),
        (api + "leaderboard", LeaderboardHandler, kw),
        (api + r"users/([^/]+)", UserHandler, kw),
        (api + r"users/([^/]+)/battles", UserBattlesHandler, kw),
        (api + "players/online", OnlinePlayersHandler, kw),
        (api + r"battles/([^/]+)", BattleReviewHandler, kw),
        (api + r"battles/([^/]+)/notebook", BattleNotebookHandler, kw),
        (api + r"class/results\.csv", ClassResultsHandler, kw),
        (api + "tournaments", TournamentsHandler, kw),
        (api + r"tournaments/([^/]+)", TournamentHandler, kw),
        (api + r"tournaments/([^/]+)/(start|pause|resume|next_round|end)", TournamentActionHandler, kw),
        (api + r"tournaments/([^/]+)/results\.csv", TournamentResultsHandler, kw),
        (api + r"tournaments/([^/]+)/notebook", TournamentNotebookHandler, kw),
    ]
