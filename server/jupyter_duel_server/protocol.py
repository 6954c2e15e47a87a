"""The real-time protocol: every Socket.IO event payload as a pydantic model.

``docs/protocol.md`` documents each model field by field; ``tests/unit/test_protocol_doc.py`` holds the two
together. Incoming payloads are validated with these models before anything else happens; outgoing payloads
are built from them, so a field can never appear on the wire without being documented. A refusal travels as a
``ServiceError`` until it is sent as an ``error`` event.
"""

from __future__ import annotations

from typing import Annotated, Literal, NamedTuple, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)


def clip(text: str, limit: int = 40) -> str:
    """A client-supplied string as the service may echo it: at most ``limit`` characters, then an ellipsis."""
    return text if len(text) <= limit else text[:limit] + "\u2026"


def _unicode(text: str) -> str:
    """Refuse lone surrogates (JSON's ``"\\ud800"``): such text cannot be stored, judged or sent on as UTF-8."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the text is not valid Unicode (it holds a lone surrogate)") from None
    return text


_UNICODE = AfterValidator(_unicode)

#: A string of valid Unicode: every string a client sends is one.
Text = Annotated[StrictStr, _UNICODE]

BattleId = Annotated[StrictStr, Field(min_length=1, max_length=64), _UNICODE]
Pool = Literal["any", "easy", "medium", "hard"]
Verdict = Literal["AC", "WA", "TLE", "MLE", "RE", "OLE", "CE", "REFUSED"]
MirrorMode = Literal["live", "delayed", "shape", "off"]
#: What players may send each other (``react``): canned, so nothing can be said that a class would not want.
ReactionName = Literal["good_luck", "have_fun", "well_played", "nice_one", "oops", "thanks"]


class Incoming(BaseModel):
    """A client -> server payload: unknown fields and type coercion are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Outgoing(BaseModel):
    """A server -> client payload."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- text deltas


class Retain(Incoming):
    retain: Annotated[StrictInt, Field(ge=1)]


class Insert(Incoming):
    insert: Annotated[StrictStr, Field(min_length=1), _UNICODE]


class Delete(Incoming):
    delete: Annotated[StrictInt, Field(ge=1)]


DeltaOp = Union[Retain, Insert, Delete]


def apply_delta(text: str, delta: list[DeltaOp] | list[dict]) -> str:
    """Apply a retain/insert/delete delta to ``text``; raise ValueError when it does not fit.

    The ops are models or their validated dict form (``{"retain": 3}``, as in ``SyncEdit.delta``)."""
    out: list[str] = []
    pos = 0
    for op in delta:
        if not isinstance(op, dict):
            op = op.model_dump()
        if "retain" in op:
            n = op["retain"]
            if pos + n > len(text):
                raise ValueError("retain past the end of the text")
            out.append(text[pos : pos + n])
            pos += n
        elif "insert" in op:
            out.append(op["insert"])
        else:
            n = op["delete"]
            if pos + n > len(text):
                raise ValueError("delete past the end of the text")
            pos += n
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- client -> server


class RegisterUser(Incoming):
    token: Annotated[StrictStr, Field(max_length=4096), _UNICODE] | None = None
    display_name: Annotated[StrictStr, Field(min_length=1, max_length=32), _UNICODE] | None = None
    guest_key: Annotated[StrictStr, Field(min_length=1, max_length=128), _UNICODE] | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> "RegisterUser":
        if self.token is not None and self.display_name is not None:
            raise ValueError("give at most one of token or display_name")
        return self


class JoinQueue(Incoming):
    pool: Pool = "any"
    ranked: StrictBool = True


class LeaveQueue(Incoming):
    pass


class SyncCode(Incoming):
    battle_id: BattleId
    seq: Annotated[StrictInt, Field(ge=1)]
    delta: list[DeltaOp] | None = Field(None, max_length=1000)
    text: Text | None = None

    @model_validator(mode="after")
    def _one_body(self) -> "SyncCode":
        if (self.delta is None) == (self.text is None):
            raise ValueError("give exactly one of delta or text")
        return self


class SyncEdit(NamedTuple):
    """A validated ``sync_code``, as the service applies and relays it: ops in dict form (``{"retain": 3}``),
    exactly as ``OpponentCode.delta`` carries them. Built by ``fast_sync_code`` or ``SyncEdit.of``."""

    battle_id: str
    seq: int
    delta: list[dict] | None
    text: str | None

    @classmethod
    def of(cls, msg: SyncCode) -> "SyncEdit":
        delta = [op.model_dump() for op in msg.delta] if msg.delta is not None else None
        return cls(msg.battle_id, msg.seq, delta, msg.text)


_SYNC_KEYS = frozenset(SyncCode.model_fields)
_MAX_INT = 2**63 - 1


def fast_sync_code(data: object) -> SyncEdit | None:
    """The hot path of the relay: a ``SyncEdit`` when ``data`` certainly passes ``SyncCode`` validation, else
    None, and the caller validates with the model (which gives the precise ``invalid_payload`` message).

    It accepts a subset of what the models accept, never more: every check below is one of SyncCode's, Retain's,
    Insert's or Delete's constraints (strict types, extra="forbid", lengths, bounds), and
    ``tests/unit/test_fast_sync_code.py`` compares the two on valid and invalid payloads. Building pydantic
    models per edit cost as much as everything else the service does for it."""
    if type(data) is not dict or not _SYNC_KEYS.issuperset(data):
        return None
    battle_id, seq = data.get("battle_id"), data.get("seq")
    delta, text = data.get("delta"), data.get("text")
    if type(battle_id) is not str or not 1 <= len(battle_id) <= 64 or not battle_id.isascii():
        return None
    if type(seq) is not int or not 1 <= seq <= _MAX_INT:
        return None
    if text is not None:
        if delta is not None or type(text) is not str or not (text.isascii() or _is_unicode(text)):
            return None
        return SyncEdit(battle_id, seq, None, text)
    if type(delta) is not list or len(delta) > 1000:
        return None
    for op in delta:
        if type(op) is not dict or len(op) != 1:
            return None
        value = op.get("insert")
        if value is not None:
            if type(value) is not str or not value or not (value.isascii() or _is_unicode(value)):
                return None
            continue
        value = op.get("retain", op.get("delete"))
        if type(value) is not int or not 1 <= value <= _MAX_INT:
            return None
    return SyncEdit(battle_id, seq, delta, None)


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class SubmitCode(Incoming):
    battle_id: BattleId
    code: Text


class RunSamples(Incoming):
    battle_id: BattleId
    code: Text


class RunCustom(Incoming):
    battle_id: BattleId
    code: Text
    #: The call's arguments as Python literals, as written between the call's parentheses: ``[2, 7], 9``.
    args: Annotated[StrictStr, Field(max_length=10_000), _UNICODE]


class Forfeit(Incoming):
    battle_id: BattleId


class Resume(Incoming):
    resume_token: Annotated[StrictStr, Field(min_length=1, max_length=1024), _UNICODE]


class PlayBot(Incoming):
    pool: Pool = "any"
    speed: Literal["slow", "normal", "fast"] = "normal"


Handle = Annotated[StrictStr, Field(min_length=1, max_length=64), _UNICODE]


class React(Incoming):
    battle_id: BattleId
    reaction: ReactionName


class ChallengePlayer(Incoming):
    name: Handle
    pool: Pool = "any"
    ranked: StrictBool = True


class AnswerChallenge(Incoming):
    offer_id: Annotated[StrictStr, Field(min_length=1, max_length=64), _UNICODE]
    accept: StrictBool


class WatchRoom(Incoming):
    watch: StrictBool = True


class Spectate(Incoming):
    battle_id: BattleId
    watch: StrictBool = True


class ClassSettings(Incoming):
    pack: Annotated[StrictStr, Field(min_length=1, max_length=128), _UNICODE] | None = None
    challenge_id: Annotated[StrictStr, Field(min_length=1, max_length=128), _UNICODE] | None = None


class PairPlayers(Incoming):
    first: Handle
    second: Handle
    ranked: StrictBool = True


class AbortBattle(Incoming):
    battle_id: BattleId
    reason: Annotated[StrictStr, Field(min_length=1, max_length=200), _UNICODE]


TournamentId = Annotated[StrictStr, Field(min_length=1, max_length=64), _UNICODE]


class ListTournaments(Incoming):
    pass


class JoinTournament(Incoming):
    tournament_id: TournamentId


class LeaveTournament(Incoming):
    tournament_id: TournamentId


class PauseTournament(Incoming):
    tournament_id: TournamentId
    paused: StrictBool


INCOMING: dict[str, type[Incoming]] = {
    "register_user": RegisterUser,
    "join_queue": JoinQueue,
    "leave_queue": LeaveQueue,
    "sync_code": SyncCode,
    "run_samples": RunSamples,
    "submit_code": SubmitCode,
    "run_custom": RunCustom,
    "forfeit": Forfeit,
    "resume": Resume,
    "play_bot": PlayBot,
    "react": React,
    "challenge_player": ChallengePlayer,
    "answer_challenge": AnswerChallenge,
    "watch_room": WatchRoom,
    "spectate": Spectate,
    "class_settings": ClassSettings,
    "pair_players": PairPlayers,
    "abort_battle": AbortBattle,
    "list_tournaments": ListTournaments,
    "join_tournament": JoinTournament,
    "leave_tournament": LeaveTournament,
    "pause_tournament": PauseTournament,
}

#: Events only an instructor may send.
INSTRUCTOR_EVENTS = frozenset({"watch_room", "spectate", "class_settings", "pair_players", "abort_battle"})


# ---------------------------------------------------------------- server -> client


class PlayerInfo(Outgoing):
    name: str
    display_name: str
    rating: float
    guest: bool
    bot: bool
    provisional: bool


class UserProfile(Outgoing):
    name: str
    display_name: str
    rating: float
    guest: bool
    provisional: bool
    games: int
    wins: int
    losses: int
    draws: int


class Registered(Outgoing):
    user: UserProfile
    battle_id: str | None
    resume_token: str | None
    guest_key: str | None
    instructor: bool
    battle_elsewhere: bool = False
    worker_url: str | None = None


class BattleElsewhere(Outgoing):
    battle_id: str
    open_elsewhere: bool


class QueueUpdate(Outgoing):
    status: Literal["waiting", "left", "matched"]
    pool: Pool
    ranked: bool
    position: int
    size: int
    waited_s: float
    window: float
    bot_available: bool
    mirror: MirrorMode


class SampleView(Outgoing):
    call: str
    expected: str


class ChallengeView(Outgoing):
    id: str
    title: str
    difficulty: Literal["easy", "medium", "hard"]
    tags: list[str]
    statement: str
    function: str
    signature: str
    starter_code: str
    samples: list[SampleView]
    hidden_count: int


class MirrorInfo(Outgoing):
    mode: MirrorMode
    delay_s: float


class MatchFound(Outgoing):
    battle_id: str
    challenge: ChallengeView
    you: PlayerInfo
    opponent: PlayerInfo
    ranked: bool
    time_limit_s: int
    started_at: float
    deadline: float
    server_time: float
    resume_token: str
    mirror: MirrorInfo
    max_code_bytes: int
    tournament_id: str | None = None
    worker_url: str | None = None


class OpponentCode(Outgoing):
    battle_id: str
    seq: int
    delta: list[dict] | None
    text: str | None


class OpponentShape(Outgoing):
    battle_id: str
    lines: list[list[int]]
    chars: int


class TestDetail(Outgoing):
    call: str
    expected: str
    got: str | None
    error: str | None
    output: str | None


class CustomResult(Outgoing):
    battle_id: str
    run_id: int
    verdict: Literal["OK", "RE", "TLE", "MLE", "OLE", "CE", "REFUSED"]
    call: str
    value: str | None
    output: str | None
    error: str | None
    time_ms: float


class TestResult(Outgoing):
    battle_id: str
    submission_id: int
    player: str
    kind: Literal["sample", "hidden"]
    index: int
    total: int
    passed: bool
    verdict: Verdict
    time_ms: float
    detail: TestDetail | None
    skipped: bool


class SubmissionResult(Outgoing):
    battle_id: str
    submission_id: int
    player: str
    samples_only: bool
    verdict: Verdict | Literal["LOST"]  # LOST: in flight when the service stopped, not counted
    passed: int
    total: int
    message: str | None


class RatingChange(Outgoing):
    name: str
    before: float
    after: float


class PlayerCode(Outgoing):
    name: str
    code: str


class OpponentStatus(Outgoing):
    battle_id: str
    name: str
    connected: bool
    grace_s: float | None
    submissions: int
    best_passed: int


class BattleState(MatchFound):
    """``match_found``'s fields, then the battle so far."""

    your_code: str
    your_seq: int
    opponent_code: str
    opponent_seq: int
    opponent_shape: OpponentShape | None
    opponent_connected: bool
    your_tests: list[TestResult]
    your_submissions: list[SubmissionResult]
    opponent_submissions: int
    opponent_best_passed: int


class BattleComplete(Outgoing):
    battle_id: str
    winner: str | None
    reason: Literal["solved", "forfeit", "time_limit", "disconnect", "aborted"]
    ranked: bool
    ratings: list[RatingChange]
    codes: list[PlayerCode]
    note: str | None


class Reaction(Outgoing):
    battle_id: str
    player: str
    reaction: ReactionName


class ChallengeOffer(Outgoing):
    offer_id: str
    server_time: float
    status: Literal["offered", "accepted", "declined", "expired", "cancelled"]
    challenger: PlayerInfo
    challenged: PlayerInfo
    pool: Pool
    ranked: bool
    expires_at: float


class RoomPlayer(Outgoing):
    name: str
    display_name: str
    guest: bool
    connected: bool
    submissions: int
    best_passed: int
    pastes: int


class RoomBattle(Outgoing):
    battle_id: str
    challenge_id: str
    challenge_title: str
    difficulty: str
    ranked: bool
    mirror: MirrorMode
    players: list[RoomPlayer]
    total_tests: int
    started_at: float
    deadline: float
    similarity: float | None


class RoomWaiting(Outgoing):
    name: str
    display_name: str
    pool: Pool
    ranked: bool
    rating: float
    waited_s: float


class RoomState(Outgoing):
    battles: list[RoomBattle]
    queue: list[RoomWaiting]
    online: list[str]
    pack: str | None
    challenge_id: str | None
    packs: list[str]
    server_time: float


class SpectateState(Outgoing):
    battle_id: str
    challenge: ChallengeView
    players: list[PlayerInfo]
    codes: list[PlayerCode]
    seqs: list[int]
    ranked: bool
    mirror: MirrorMode
    started_at: float
    deadline: float
    server_time: float
    results: list[SubmissionResult]


class SpectatorCode(Outgoing):
    battle_id: str
    player: str
    seq: int
    delta: list[dict] | None
    text: str | None


TournamentFormat = Literal["arena", "swiss", "round_robin"]
TournamentStatus = Literal["open", "running", "paused", "finished"]


class TournamentSummary(Outgoing):
    id: str
    name: str
    format: TournamentFormat
    status: TournamentStatus
    ending: bool
    rated: bool
    players: int
    round: int
    rounds: int | None
    starts_at: float | None
    ends_at: float | None
    version: int


class TournamentEntrant(Outgoing):
    name: str
    display_name: str
    rating: float
    status: Literal["active", "paused", "withdrawn"]
    battle_id: str | None


class TournamentStanding(Outgoing):
    rank: int
    name: str
    display_name: str
    score: float
    games: int
    wins: int
    draws: int
    losses: int
    tiebreaks: dict[str, float]
    on_fire: bool
    withdrawn: bool


class GameProgress(Outgoing):
    passed: int
    total: int


class TournamentGame(Outgoing):
    round: int
    first: str
    second: str | None
    battle_id: str | None
    status: Literal["pending", "playing", "finished", "bye", "forfeit"]
    points_first: float | None
    points_second: float | None
    winner: str | None
    reason: str | None
    progress: dict[str, GameProgress]


class TournamentView(TournamentSummary):
    """A summary's fields, then the whole tournament."""

    created_at: float
    pack: str | None
    difficulty: str
    duration_s: int | None
    server_time: float
    entrants: list[TournamentEntrant]
    standings: list[TournamentStanding]
    pairings: list[TournamentGame]
    games: list[TournamentGame]


class Tournaments(Outgoing):
    tournaments: list[TournamentSummary]


class TournamentState(Outgoing):
    tournament: TournamentView


class Error(Outgoing):
    code: str
    message: str
    event: str | None
    retry_after_s: float | None = None


class ServiceError(Exception):
    """A refusal that becomes an ``error`` event (code from ``ERROR_CODES``)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


OUTGOING: dict[str, type[Outgoing]] = {
    "registered": Registered,
    "queue_update": QueueUpdate,
    "match_found": MatchFound,
    "battle_elsewhere": BattleElsewhere,
    "opponent_code": OpponentCode,
    "opponent_shape": OpponentShape,
    "opponent_status": OpponentStatus,
    "battle_state": BattleState,
    "test_result": TestResult,
    "submission_result": SubmissionResult,
    "custom_result": CustomResult,
    "battle_complete": BattleComplete,
    "reaction": Reaction,
    "challenge_offer": ChallengeOffer,
    "room_state": RoomState,
    "spectate_state": SpectateState,
    "spectator_code": SpectatorCode,
    "tournaments": Tournaments,
    "tournament_state": TournamentState,
    "error": Error,
}

# Error codes, each documented in docs/protocol.md.
ERROR_CODES = {
    "invalid_payload": "the payload is not an object with the documented fields and types",
    "unknown_event": "the event name is not part of the protocol",
    "rate_limited": "too many events of this kind from this connection or player; retry_after_s says when to retry",
    "invalid_frame": "the message is not a Socket.IO packet the service accepts (malformed, binary, wrong namespace)",
    "not_registered": "register_user must succeed before this event",
    "auth_failed": "the identity token is missing, forged or expired",
    "guests_disabled": "this service does not accept self-chosen display names",
    "invalid_name": "a guest name is 1-32 letters, digits, spaces, dots, dashes or underscores, after Unicode "
    "normalisation (NFKC)",
    "name_taken": "the guest name belongs to another browser (its guest key is missing or wrong)",
    "name_confusable": "the name looks like another player's name (same letters once look-alikes are mapped)",
    "already_queued": "the player is already waiting in a queue",
    "queue_cooldown": "the player left battles early too often today; retry_after_s says when the queue opens again",
    "not_queued": "the player is not waiting in any queue",
    "empty_pool": "no challenge of the requested difficulty is installed",
    "in_battle": "the player is already in a running battle",
    "bot_not_offered": "the practice bot is offered only after waiting in the queue; retry_after_s says when",
    "unknown_battle": "no battle has this id",
    "not_in_battle": "the player is not one of this battle's two players",
    "battle_over": "the battle has already finished",
    "not_started": "the battle's countdown has not finished yet",
    "bad_resume_token": "the resume token is forged, expired or not this player's",
    "code_too_large": "the code is over the configured size cap",
    "out_of_sync": "the delta does not follow the previous sequence number or text; send the full text",
    "tab_inactive": "another open tab of this player plays the battle; `resume` here to take it over",
    "judge_busy": "a submission of this player is still being judged",
    "invalid_args": "run_custom's args are not Python literals the challenge's function can be called with",
    "cooldown": "the player ran the judge too recently; retry_after_s says when the next run is accepted",
    "judge_unavailable": "the judge cannot run submissions: this host cannot build the sandbox, or no judging "
    "host could run it (judging on other hosts); nothing was judged or counted (the message says which)",
    "not_instructor": "the event is for instructors only",
    "unknown_player": "no online player has this name",
    "player_busy": "the player is in a battle already, or has an open challenge",
    "unknown_offer": "no open challenge has this id for this player",
    "unknown_pack": "no loaded challenge pack has this name",
    "unknown_challenge": "no loaded challenge has this id",
    "unknown_tournament": "no tournament has this id",
    "tournament_closed": "the tournament takes no more players (finished, or a round robin that has started)",
    "not_in_tournament": "the player is not an entrant of this tournament",
    "tournament_state": "the tournament is not in a state that allows this (e.g. pausing one that is not running)",
    "wrong_worker": "the battle runs on another worker of the service: register there (registered.worker_url)",
    "worker_unavailable": "the worker that runs the lobby or the battle does not answer; retry shortly",
    "internal": "the service failed to handle the event; nothing was changed",
}
