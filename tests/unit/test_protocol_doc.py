"""docs/protocol.md and protocol.py say the same thing: every event, every field, every error code."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from jupyter_duel_server import protocol

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def sections() -> dict[str, list[tuple[str, bool]]]:
    """``### `name``` heading -> [(field, required)] from the table under it."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for block in re.split(r"^### ", DOC, flags=re.M)[1:]:
        heading = re.match(r"`(\w+)`", block)
        if not heading:
            continue
        rows = re.findall(r"^\| (\w+) \| [^|]+ \| (yes|no) \|", block, flags=re.M)
        out[heading.group(1)] = [(name, req == "yes") for name, req in rows]
    return out


def model_fields(model) -> list[tuple[str, bool]]:
    return [(name, field.is_required()) for name, field in model.model_fields.items()]


SHARED = {
    "UserProfile": protocol.UserProfile,
    "PlayerInfo": protocol.PlayerInfo,
    "ChallengeView": protocol.ChallengeView,
    "SampleView": protocol.SampleView,
    "TestDetail": protocol.TestDetail,
    "RatingChange": protocol.RatingChange,
    "MirrorInfo": protocol.MirrorInfo,
    "PlayerCode": protocol.PlayerCode,
    "RoomBattle": protocol.RoomBattle,
    "RoomPlayer": protocol.RoomPlayer,
    "RoomWaiting": protocol.RoomWaiting,
    "TournamentSummary": protocol.TournamentSummary,
    "TournamentView": protocol.TournamentView,
    "TournamentEntrant": protocol.TournamentEntrant,
    "TournamentStanding": protocol.TournamentStanding,
    "TournamentGame": protocol.TournamentGame,
}


def test_every_event_is_documented_with_its_fields():
    documented = sections()
    for name, model in {**protocol.INCOMING, **protocol.OUTGOING, **SHARED}.items():
        assert name in documented, f"{name} is not documented"
        # Outgoing fields are always present (nullable ones as null), so the doc says "yes" for them.
        expected = model_fields(model)
        if issubclass(model, protocol.Outgoing):
            expected = [(n, True) for n, _ in expected]
        assert documented[name] == expected, f"{name}: doc {documented[name]} != code {expected}"


def test_nothing_documented_that_the_code_lacks():
    known = set(protocol.INCOMING) | set(protocol.OUTGOING) | set(SHARED)
    assert set(sections()) <= known


def test_client_and_server_events_are_in_their_sections():
    client, server = DOC.split("## Client → server events")[1].split("## Server → client events")
    server = server.split("## Shared objects")[0]
    assert set(re.findall(r"^### `(\w+)`", client, flags=re.M)) == set(protocol.INCOMING)
    assert set(re.findall(r"^### `(\w+)`", server, flags=re.M)) == set(protocol.OUTGOING)


def test_error_codes_match():
    table = DOC.split("## Error codes")[1].split("## REST")[0]
    rows = dict(re.findall(r"^\| (\w+) \| (.+?) \|$", table, flags=re.M))
    rows.pop("code", None)
    assert rows == protocol.ERROR_CODES


def test_error_codes_named_in_event_sections_exist():
    for code in re.findall(r"`(\w+)`", DOC.split("## Client → server events")[1].split("## Server")[0]):
        if code.islower() and "_" in code and code not in protocol.INCOMING:
            if code in {"max_code_bytes", "battle_id", "display_name", "samples_only", "test_result"}:
                continue
            if code in typing.get_args(protocol.ReactionName):  # react's values, not error codes
                continue
            assert code in protocol.ERROR_CODES or code in protocol.OUTGOING, code
