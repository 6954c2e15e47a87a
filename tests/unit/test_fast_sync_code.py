"""The sync_code fast path accepts only what the pydantic models accept, and relays what OpponentCode says."""

import pytest
from pydantic import ValidationError

from jupyter_duel_server.protocol import OpponentCode, SyncCode, SyncEdit, apply_delta, fast_sync_code

BID = "b" * 32
VALID = [
    {"battle_id": BID, "seq": 1, "text": "print(1)\n"},
    {"battle_id": BID, "seq": 2, "text": ""},
    {"battle_id": BID, "seq": 2, "text": "x", "delta": None},
    {"battle_id": BID, "seq": 3, "delta": [{"retain": 4}, {"insert": "x = 1\n"}]},
    {"battle_id": BID, "seq": 3, "delta": [{"delete": 2}, {"retain": 1}, {"insert": "é"}]},
    {"battle_id": BID, "seq": 3, "delta": [], "text": None},
    {"battle_id": "x" * 64, "seq": 2**40, "delta": [{"insert": "a"}] * 1000},
]
INVALID = [
    None, [], "x", {},
    {"battle_id": BID, "seq": 1},
    {"battle_id": BID, "seq": 1, "text": "a", "delta": []},
    {"battle_id": BID, "seq": 1, "text": "a", "extra": 1},
    {"battle_id": "", "seq": 1, "text": "a"},
    {"battle_id": "x" * 65, "seq": 1, "text": "a"},
    {"battle_id": 5, "seq": 1, "text": "a"},
    {"battle_id": BID, "seq": 0, "text": "a"},
    {"battle_id": BID, "seq": True, "text": "a"},
    {"battle_id": BID, "seq": 1.0, "text": "a"},
    {"battle_id": BID, "seq": "1", "text": "a"},
    {"battle_id": BID, "seq": 1, "text": 5},
    {"battle_id": BID, "seq": 1, "delta": {"retain": 1}},
    {"battle_id": BID, "seq": 1, "delta": [{"insert": "a"}] * 1001},
    {"battle_id": BID, "seq": 1, "delta": [{}]},
    {"battle_id": BID, "seq": 1, "delta": [{"retain": 1, "insert": "a"}]},
    {"battle_id": BID, "seq": 1, "delta": [{"insert": ""}]},
    {"battle_id": BID, "seq": 1, "delta": [{"insert": None}]},
    {"battle_id": BID, "seq": 1, "delta": [{"insert": 3}]},
    {"battle_id": BID, "seq": 1, "delta": [{"retain": 0}]},
    {"battle_id": BID, "seq": 1, "delta": [{"retain": -1}]},
    {"battle_id": BID, "seq": 1, "delta": [{"retain": True}]},
    {"battle_id": BID, "seq": 1, "delta": [{"delete": 1.5}]},
    {"battle_id": BID, "seq": 1, "delta": [{"delete": None}]},
    {"battle_id": BID, "seq": 1, "delta": [{"keep": 1}]},
    {"battle_id": BID, "seq": 1, "delta": ["retain"]},
]


@pytest.mark.parametrize("payload", VALID)
def test_fast_path_equals_the_models(payload):
    edit = fast_sync_code(payload)
    assert edit is not None
    assert edit == SyncEdit.of(SyncCode.model_validate(payload))


@pytest.mark.parametrize("payload", INVALID)
def test_fast_path_never_accepts_what_the_models_refuse(payload):
    with pytest.raises(ValidationError):
        SyncCode.model_validate(payload)
    assert fast_sync_code(payload) is None


def test_relayed_payload_has_opponent_code_fields():
    edit = fast_sync_code(VALID[3])
    payload = {"battle_id": BID, "seq": edit.seq, "delta": edit.delta, "text": edit.text}  # as BattleRoom.sync_code
    assert payload == OpponentCode(**payload).model_dump(mode="json")
    assert list(payload) == list(OpponentCode.model_fields)


def test_apply_delta_takes_models_and_dicts():
    msg = SyncCode.model_validate(VALID[4])
    assert apply_delta("abcdef", msg.delta) == apply_delta("abcdef", SyncEdit.of(msg).delta) == "cédef"
