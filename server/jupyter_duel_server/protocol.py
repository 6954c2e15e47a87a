"""The real-time protocol: every Socket.IO event payload as a pydantic model.

``docs/protocol.md`` documents each model field by field; ``tests/unit/test_protocol_doc.py`` holds the two
together. Incoming payloads are validated with these models before anything else happens; outgoing payloads
are built from them, so a field can never appear on the wire without being documented.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

BattleId = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Pool = Literal["any", "easy", "medium", "hard"]
Verdict = Literal["AC", "WA", "TLE", "MLE", "RE", "OLE", "CE", "REFUSED"]


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
    insert: Annotated[StrictStr, Field(min_length=1)]


class Delete(Incoming):
    delete: Annotated[StrictInt, Field(ge=1)]


DeltaOp = Union[Retain, Insert, Delete]


def apply_delta(text: str, delta: list[DeltaOp]) -> str:
    """Apply a retain/insert/delete delta to ``text``; raise ValueError when it does not fit."""
    out: list[str] = []
    pos = 0
    for op in delta:
        if isinstance(op, Retain):
            if pos + op.retain > len(text):
                raise ValueError("retain past the end of the text")
            out.append(text[pos : pos + op.retain])
            pos += op.retain
        elif isinstance(op, Insert):
            out.append(op.insert)
        else:
            if pos + op.delete > len(text):
                raise ValueError("delete past the end of the text")
            pos += op.delete
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------- client -> server


class RegisterUser(Incoming):
    token: StrictStr | None = Field(None, max_length=4096)
    display_name: StrictStr | None = Field(None, min_length=1, max_length=32)

    @model_validator(mode="after")
    def _one_identity(self) -> "RegisterUser":
        if (self.token is None) == (self.display_name is None):
            raise ValueError("give exactly one of token or display_name")
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
    text: StrictStr | None = None

    @model_validator(mode="after")
    def _one_body(self) -> "SyncCode":
        if (self.delta is None) == (self.text is None):
            raise ValueError("give exactly one of delta or text")
        return self


class SubmitCode(Incoming):
    battle_id: BattleId
    code: StrictStr


class RunSamples(Incoming):
    battle_id: BattleId
    code: StrictStr


class Forfeit(Incoming):
    battle_id: BattleId


class Resume(Incoming):
    resume_token: Annotated[StrictStr, Field(min_length=1, max_length=1024)]


class PlayBot(Incoming):
    pool: Pool = "any"
    speed: Literal["slow", "normal", "fast"] = "normal"


INCOMING: dict[str, type[Incoming]] = {
    "register_user": RegisterUser,
    "join_queue": JoinQueue,
    "leave_queue": LeaveQueue,
    "sync_code": SyncCode,
    "run_samples": RunSamples,
    "submit_code": SubmitCode,
    "forfeit": Forfeit,
    "resume": Resume,
    "play_bot": PlayBot,
}


# ---------------------------------------------------------------- server -> client


class PlayerInfo(Outgoing):
    name: str
    rating: float
    guest: bool
    bot: bool
    provisional: bool


class UserProfile(Outgoing):
    name: str
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


class QueueUpdate(Outgoing):
    status: Literal["waiting", "left", "matched"]
    pool: Pool
    ranked: bool
    position: int
    size: int
    waited_s: float
    window: float
    bot_available: bool


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


class OpponentCode(Outgoing):
    battle_id: str
    seq: int
    delta: list[dict] | None
    text: str | None


class TestDetail(Outgoing):
    call: str
    expected: str
    got: str | None
    error: str | None


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


class SubmissionResult(Outgoing):
    battle_id: str
    submission_id: int
    player: str
    samples_only: bool
    verdict: Verdict
    passed: int
    total: int
    message: str | None


class RatingChange(Outgoing):
    name: str
    before: float
    after: float


class OpponentStatus(Outgoing):
    battle_id: str
    name: str
    connected: bool
    grace_s: float | None
    submissions: int
    best_passed: int


class BattleState(Outgoing):
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
    your_code: str
    your_seq: int
    opponent_code: str
    opponent_seq: int
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


class Error(Outgoing):
    code: str
    message: str
    event: str | None


OUTGOING: dict[str, type[Outgoing]] = {
    "registered": Registered,
    "queue_update": QueueUpdate,
    "match_found": MatchFound,
    "opponent_code": OpponentCode,
    "opponent_status": OpponentStatus,
    "battle_state": BattleState,
    "test_result": TestResult,
    "submission_result": SubmissionResult,
    "battle_complete": BattleComplete,
    "error": Error,
}

# Error codes, each documented in docs/protocol.md.
ERROR_CODES = {
    "invalid_payload": "the payload is not an object with the documented fields and types",
    "unknown_event": "the event name is not part of the protocol",
    "not_registered": "register_user must succeed before this event",
    "auth_failed": "the identity token is missing, forged or expired",
    "guests_disabled": "this service does not accept self-chosen display names",
    "invalid_name": "a guest name is 1-32 letters, digits, spaces, dots, dashes or underscores",
    "name_taken": "the guest name belongs to a signed-in player (or the reverse)",
    "already_queued": "the player is already waiting in a queue",
    "not_queued": "the player is not waiting in any queue",
    "empty_pool": "no challenge of the requested difficulty is installed",
    "in_battle": "the player is already in a running battle",
    "unknown_battle": "no battle has this id",
    "not_in_battle": "the player is not one of this battle's two players",
    "battle_over": "the battle has already finished",
    "not_started": "the battle's countdown has not finished yet",
    "bad_resume_token": "the resume token is forged, expired or not this player's",
    "code_too_large": "the code is over the configured size cap",
    "out_of_sync": "the delta does not follow the previous sequence number or text; send the full text",
    "judge_busy": "a submission of this player is still being judged",
    "judge_unavailable": "the judge cannot run submissions on this host (the message says what is missing)",
    "internal": "the service failed to handle the event; nothing was changed",
}
