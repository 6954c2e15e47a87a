"""Fuzzing every client event (``protocol.INCOMING``) against a real service process, with hypothesis.

Payloads come from the protocol models' JSON schemas (valid-shaped ones, with the ids of the real running battle
and players mixed in) and from mutations of them (wrong types, unknown fields, huge strings, deep nesting, lone
surrogates, non-objects, missing or extra arguments, unknown event names). They go through a real Socket.IO client
(python-socketio) from a connection that never registered, from a player inside a real running battle judged in
the real sandbox, and from an instructor; frames no client library would write (nesting past the JSON encoders'
depth, NaN literals, out-of-range numbers) go over a raw websocket. After each run: every answer is an ack, every
refusal carries a documented code (``protocol.ERROR_CODES``), the service logged no traceback, it is alive, and
``GET /api/health`` answers (its latency is printed; no timed assertion).

Runs are bounded and reproducible for CI: ``derandomize=True`` (the examples follow from the test's code), no
example database, ``max_examples`` per strategy below.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_clients import RawWebSocket, settled, tracebacks
from helpers import RATED_GUESTS, Player, ServiceProcess
from jupyter_duel_server import protocol
from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.protocol import clip

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# Strings that stand for the arena's real ids and names, substituted when a payload is sent: hypothesis keeps
# them in its examples (and in a shrunk failure) while the real values change from battle to battle.
PLACEHOLDERS = ("<battle>", "<me>", "<opponent>", "<resume>", "<challenge>", "<pack>", "<guest_key>")
CODE_SNIPPETS = (
    "def f(*args):\n    return 1\n",
    "def f(:\n",
    "import os\nos.system('id')\n",
    "while True:\n    pass\n",
    "[2, 7], 9",
    "1/0",
    "__import__('sys').exit(3)",
)
#: What a field of that name most usefully holds besides any text: the arena's real values, code that runs.
HINTS = {
    "battle_id": ("<battle>",), "resume_token": ("<resume>",), "name": ("<opponent>", "<me>"),
    "first": ("<me>", "<opponent>"), "second": ("<opponent>", "<me>"), "pack": ("<pack>",),
    "challenge_id": ("<challenge>",), "guest_key": ("<guest_key>",), "code": CODE_SNIPPETS,
    "args": ("[2, 7], 9", "'abc'", "1, 2", "*x", "f(1)", "[" * 500), "text": CODE_SNIPPETS,
}
# Names python-socketio's client keeps for itself (the service's packet class refuses them: tests/service/
# test_edge_frames.py sends them raw).
RESERVED = {"connect", "connect_error", "disconnect", "__disconnect_final", "message"}


# ---------------------------------------------------------------- strategies


def texts(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Any text (lone surrogates included), the arena's placeholders and code snippets, within the bounds."""
    cap = 40 if max_size is None else min(max_size, 40)
    chars = st.characters(exclude_categories=())  # surrogates included
    fitting = [s for s in PLACEHOLDERS + CODE_SNIPPETS if min_size <= len(s) <= (max_size or math.inf)]
    options = [st.text(chars, min_size=min(min_size, cap), max_size=cap)]
    if fitting:
        options.append(st.sampled_from(fitting))
    return st.one_of(options)


def from_schema(schema: dict, defs: dict) -> st.SearchStrategy:
    """Values the JSON schema describes (the subset pydantic writes for the protocol's models)."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.one_of(st.integers(low, high), st.sampled_from([v for v in (low, 2**63 - 1) if v is not None]))
    if kind == "string":
        return texts(schema.get("minLength", 0), schema.get("maxLength"))
    if kind == "array":
        return st.lists(from_schema(schema["items"], defs), max_size=min(schema.get("maxItems", 8), 8))
    if kind == "object":
        properties, required = schema.get("properties", {}), set(schema.get("required", ()))
        def field(name: str, sub: dict) -> st.SearchStrategy:
            values = from_schema(sub, defs)
            return st.one_of(st.sampled_from(HINTS[name]), values) if name in HINTS else values

        return st.fixed_dictionaries(
            {k: field(k, v) for k, v in properties.items() if k in required},
            optional={k: field(k, v) for k, v in properties.items() if k not in required},
        )
    raise AssertionError(f"no strategy for {schema}")


def valid_payloads(event: str) -> st.SearchStrategy[dict]:
    schema = protocol.INCOMING[event].model_json_schema()
    return from_schema(schema, schema.get("$defs", {}))


#: Any JSON value python's json module writes: big integers, NaN and infinities, lone surrogates, nesting.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64, max_value=2**200)
    | st.floats() | texts(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts(), children, max_size=4),
    max_leaves=12,
)

#: Long strings, within DuelService.max_message_bytes (1 MB) once JSON-escaped by the client (12 bytes for a
#: character outside the BMP): a larger message closes the connection by design (tests/service/test_edge_frames.py).
huge_strings = st.sampled_from(["a", "é", "\U0001f600", "\ud800", "\n"]).flatmap(
    lambda unit: st.integers(10_000, 70_000).map(lambda n: unit * n))


@st.composite
def nested(draw) -> object:
    """A value nested deeper than anything the service expects (deeper still, past python's recursion limit,
    goes raw: ``raw_frames``)."""
    depth = draw(st.integers(50, 400))
    leaf = draw(st.sampled_from([[], {}, "x", 1]))
    as_dict = draw(st.booleans())
    for _ in range(depth):
        leaf = {"a": leaf} if as_dict else [leaf]
    return leaf


@st.composite
def malformed(draw) -> tuple[str, tuple]:
    """(event, the arguments sent): a valid-shaped payload of a protocol event, broken one way."""
    event = draw(st.sampled_from(sorted(protocol.INCOMING)))
    payload = dict(draw(valid_payloads(event)))
    fields = sorted(protocol.INCOMING[event].model_fields) or ["unexpected"]  # leave_queue has none
    how = draw(st.sampled_from(["wrong_type", "unknown_field", "huge", "nested", "surrogate", "not_object",
                                "args", "event_name"]))
    if how == "wrong_type":
        payload[draw(st.sampled_from(fields))] = draw(json_values)
    elif how == "unknown_field":
        payload[draw(texts(1).filter(lambda k: k not in fields))] = draw(json_values)
    elif how == "huge":
        payload[draw(st.sampled_from(fields))] = draw(huge_strings)
    elif how == "nested":
        payload[draw(st.sampled_from(fields))] = draw(nested())
    elif how == "surrogate":
        payload[draw(st.sampled_from(fields))] = draw(st.sampled_from(["\ud800", "a\udfffb", "\udc00" * 40]))
    elif how == "not_object":
        return event, (draw(st.one_of(json_values.filter(lambda v: not isinstance(v, dict)), nested())),)
    elif how == "args":
        return event, tuple(draw(st.lists(st.one_of(st.just(payload), json_values), max_size=4)
                                 .filter(lambda args: len(args) != 1)))
    else:  # a name outside the protocol
        name = draw(st.one_of(texts(1), huge_strings).filter(lambda n: n not in protocol.INCOMING
                                                              and n not in RESERVED))
        return name, (payload,)
    return event, (payload,)


@st.composite
def raw_frames(draw) -> tuple[str, str]:
    """(event, the JSON text of its payload) as no client library would write it."""
    event = draw(st.sampled_from(sorted(protocol.INCOMING)))
    kind = draw(st.sampled_from(["deep", "deep_in_field", "literals", "numbers", "duplicate_keys"]))
    if kind == "deep":
        depth = draw(st.integers(1_000, 200_000))
        return event, "[" * depth + "]" * depth
    if kind == "deep_in_field":
        depth = draw(st.integers(1_000, 50_000))
        return event, '{"battle_id": "<battle>", "seq": 1, "delta": ' + "[" * depth + "]" * depth + "}"
    if kind == "literals":
        return event, '{"battle_id": %s, "seq": %s, "code": %s}' % tuple(
            draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "null", "true", '"\\ud800"'])) for _ in range(3))
    if kind == "numbers":
        number = draw(st.sampled_from(["1e999999", "-0", "1.0", "9" * 5000, "1" + "0" * 400, "-1", "0.5e-999"]))
        return event, '{"battle_id": "<battle>", "seq": %s, "text": "", "pool": %s}' % (number, number)
    field = draw(st.sampled_from(sorted(protocol.INCOMING[event].model_fields) or ["x"]))
    return event, '{"%s": 1, "%s": "<battle>"}' % (field, field)


# ---------------------------------------------------------------- the arena


class Arena:
    """A real service, a running battle between two players, an instructor and a connection that never
    registered; payloads go to it, refusals are checked and counted."""

    def __init__(self, tmp: Path):
        config = tmp / "jupyter_duel_config.py"
        # No rate limits (every fuzzed event reaches validation), no queue cooldown after a forfeit.
        config.write_text("c.DuelService.rate_limits = {%s}\n" % ", ".join(
            f"{k!r}: [0, 0]" for k in ("sync", "judge", "lobby", "session", "class", "other")))
        self.service = ServiceProcess(tmp, *RATED_GUESTS, "--DuelService.countdown_s=0",
                                      "--DuelService.dodge_cooldown_s=0", f"--config={config}")
        self.codes: Counter = Counter()
        self.battles = 0

    async def open(self) -> None:
        url = self.service.start().url
        self.url = url
        self.me, self.opponent = await Player(url, "alice").connect(), await Player(url, "bob").connect()
        self.instructor = await Player(url).connect()
        self.instructor_token = IdentitySigner("test-secret").issue(Identity("teacher", False, instructor=True))
        assert (await self.instructor.call("register_user", {"token": self.instructor_token}))["ok"]
        self.anonymous = await Player(url).connect()
        self.raw = await RawWebSocket(url).open()
        self.ack_id = 0
        await self.new_battle()

    async def new_battle(self) -> None:
        """The instructor pairs the two players; the arena plays that battle from now on."""
        for player in (self.me, self.opponent):
            player.queues.clear()
        ack = await self.instructor.call("pair_players", {"first": self.me.name, "second": self.opponent.name,
                                                          "ranked": False})
        assert ack["ok"], ack
        found = await self.me.expect("match_found")
        await self.opponent.expect("match_found")
        self.battle_id, self.resume_token = found["battle_id"], found["resume_token"]
        self.challenge_id = found["challenge"]["id"]
        self.battles += 1

    def fill(self, value):
        """``value`` with the placeholders replaced by the arena's current ids and names."""
        if isinstance(value, str):
            return {
                "<battle>": self.battle_id, "<me>": self.me.name, "<opponent>": self.opponent.name,
                "<resume>": self.resume_token, "<challenge>": self.challenge_id, "<pack>": "bundled",
                "<guest_key>": self.me.guest_key,
            }.get(value, value)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.fill(v) for v in value)
        return value

    def client(self, who: str) -> Player:
        return {"me": self.me, "instructor": self.instructor, "anonymous": self.anonymous}[who]

    async def send(self, who: str, event: str, args: tuple) -> dict:
        """Emit through a real Socket.IO client; the ack must come and be an acceptance or a documented refusal."""
        player = self.client(who)
        args = self.fill(args)
        try:
            ack = await player.call(event, raw_args=args)
        except socketio.exceptions.TimeoutError:
            size = len(json.dumps([event, *args]))
            raise AssertionError(f"no ack from the service for {clip(event)!r} ({size} bytes of JSON)") from None
        self.check(ack, (who, event, args))
        await self.settle(who, event, ack)
        return ack

    async def send_raw(self, event: str, payload_json: str) -> dict:
        """One frame written by hand over the raw websocket (unregistered, unless a frame registered it); its ack
        and the events it brought are checked the same."""
        self.ack_id += 1
        payload_json = payload_json.replace('"<battle>"', json.dumps(self.battle_id))
        await self.raw.send(f"42{self.ack_id}[{json.dumps(event)},{payload_json}]")
        ack = await self.raw.ack(self.ack_id)
        self.check(ack, ("raw", event, payload_json[:200]))
        for name, data in self.raw.events:
            protocol.OUTGOING[name].model_validate(data)  # a documented event with its documented payload
            assert name != "error" or data["code"] in protocol.ERROR_CODES, data
        self.raw.events.clear()
        return ack

    def check(self, ack, sent) -> None:
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (ack, sent)
        if not ack["ok"]:
            code = ack["error"]["code"]
            assert code in protocol.ERROR_CODES, (code, sent)
            self.codes[code] += 1
        else:
            self.codes["ok"] += 1

    async def settle(self, who: str, event: str, ack: dict) -> None:
        """Check every error event received; bring each connection back to its role; keep a battle running."""
        for player in (self.me, self.opponent, self.instructor, self.anonymous):
            errors = player.queues.pop("error", None)
            while errors is not None and not errors.empty():
                code = errors.get_nowait()["code"]
                assert code in protocol.ERROR_CODES, code
        if event == "register_user" and ack["ok"]:  # a connection that became somebody else comes back
            if who == "anonymous":
                await self.anonymous.close()
                self.anonymous = await Player(self.url).connect()
            elif who == "instructor":
                assert (await self.instructor.call("register_user", {"token": self.instructor_token}))["ok"]
            else:
                self.me.queues.pop("registered", None)
                await self.me.register({"display_name": "alice"})
                await self.me.call("resume", {"resume_token": self.resume_token})
        over = any(not p.queues["battle_complete"].empty() for p in (self.me, self.opponent))
        for player in (self.me, self.opponent, self.instructor):
            # What the battle and the class view stream: nothing to check beyond its model (Player checks it).
            found = player.queues.pop("match_found", None)
            player.queues.clear()
            if player is self.me and found is not None and not found.empty() and not over:
                # A battle of the player's own (play_bot, an accepted challenge): the arena plays that one.
                latest = None
                while not found.empty():
                    latest = found.get_nowait()
                self.battle_id, self.resume_token = latest["battle_id"], latest["resume_token"]
                self.challenge_id = latest["challenge"]["id"]
        if over:
            await self.leave_all()
            await self.new_battle()

    async def leave_all(self) -> None:
        """Out of any queue, challenge or battle of their own, before the instructor pairs them again."""
        for player in (self.me, self.opponent):
            await player.call("leave_queue", {})
        ack = await self.me.call("forfeit", {"battle_id": self.battle_id})
        assert ack["ok"] or ack["error"]["code"] in ("battle_over", "unknown_battle", "not_in_battle"), ack

    async def healthy(self) -> None:
        """No traceback in the service's log, the process alive, /api/health answering (latency printed)."""
        log = await settled(self.service.log_lines)
        assert tracebacks(log) == [], "".join(log[-80:])
        assert self.service.alive()
        started = time.perf_counter()
        with urllib.request.urlopen(self.url + "/api/health", timeout=10) as response:
            health = json.loads(response.read())
        latency_ms = (time.perf_counter() - started) * 1000
        assert health["status"] == "ok"
        print(f"\n/api/health answered in {latency_ms:.1f} ms; refusals and acceptances: "
              f"{dict(self.codes.most_common())}; battles played: {self.battles}")

    async def close(self) -> None:
        for player in (self.me, self.opponent, self.instructor, self.anonymous):
            await player.close()
        await self.raw.close()
        self.service.stop()


@pytest.fixture
def arena(tmp_path):
    """(the arena, a runner of its coroutines): the tests are synchronous, since hypothesis drives them."""
    loop = asyncio.new_event_loop()
    arena = Arena(tmp_path)
    try:
        loop.run_until_complete(arena.open())
        yield arena, loop.run_until_complete
    finally:
        loop.run_until_complete(arena.close())
        loop.close()


#: Who sends: half the time the player in the running battle, where most of the handlers' paths are.
CLIENTS = st.sampled_from(["me", "me", "instructor", "anonymous"])


def test_valid_shaped_payloads_of_every_event(arena):
    """Payloads shaped as the models say (ids of the running battle mixed in) from each kind of connection:
    each is accepted or refused with a documented code, and the service carries on."""
    arena, run = arena
    events = st.sampled_from(sorted(protocol.INCOMING)).flatmap(
        lambda event: st.tuples(st.just(event), valid_payloads(event)))

    @FUZZ
    @given(who=CLIENTS, sent=events)
    def fuzz(who, sent):
        event, payload = sent
        run(arena.send(who, event, (payload,)))

    fuzz()
    assert arena.codes["ok"] > 0 and len(arena.codes) > 5  # the payloads reached the handlers
    run(arena.healthy())


def test_malformed_payloads_of_every_event(arena):
    """Wrong types, unknown fields, huge strings, deep nesting, lone surrogates, non-objects, extra or missing
    arguments, unknown event names: each refused with a documented code; nothing reaches a handler."""
    arena, run = arena

    @FUZZ
    @given(who=CLIENTS, sent=malformed())
    def fuzz(who, sent):
        event, args = sent
        ack = run(arena.send(who, event, args))
        if event not in protocol.INCOMING or len(args) != 1:
            assert ack["error"]["code"] in ("unknown_event", "invalid_payload", "not_registered"), ack

    fuzz()
    assert arena.codes["invalid_payload"] > 0 and arena.codes["unknown_event"] > 0
    run(arena.healthy())


def test_raw_frames_no_client_would_write(arena):
    """Nesting deeper than the JSON parsers go, NaN and Infinity literals, numbers out of range, duplicate keys:
    each frame is answered by an ack with a documented code, over a connection that stays open."""
    arena, run = arena

    @settings(FUZZ, max_examples=150)
    @given(sent=raw_frames())
    def fuzz(sent):
        run(arena.send_raw(*sent))

    fuzz()
    run(arena.healthy())
