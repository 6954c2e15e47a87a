"""The pure parts of fair play: mirror modes and outlines, code similarity, paste sizes, name look-alikes."""

from __future__ import annotations

import pytest

from jupyter_duel_server import auth, fairplay, mirror
from jupyter_duel_server.auth import AuthError, check_guest_name, skeleton
from jupyter_duel_server.battles import Seat
from jupyter_duel_server.protocol import Insert, Retain, SyncCode
from jupyter_duel_server.store import NameConfusable, NameTaken, Profile, Store

STARTER = "def add(a, b):\n    pass\n"
MINE = "def add(a, b):\n    total = a + b\n    for i in range(3):\n        total += i\n    return total\n"
RENAMED = "def add(x, y):\n    # my own\n    s = x + y\n    for k in range(10):\n        s += k\n\n    return s\n"
OTHER = "def add(a, b):\n    return sum([a, b])\n"


def test_mode_for_picks_pool_then_kind_then_default():
    assert mirror.mode_for({}, ranked=True, pool="easy") == "shape"
    assert mirror.mode_for({}, ranked=False, pool="easy") == "live"
    modes = {"ranked": "off", "casual/hard": "delayed"}
    assert mirror.mode_for(modes, True, "hard") == "off"
    assert mirror.mode_for(modes, False, "hard") == "delayed"
    assert mirror.mode_for(modes, False, "easy") == "live"
    assert all(mirror.valid_key(k) for k in ("ranked", "casual", "ranked/any", "casual/hard"))
    assert not any(mirror.valid_key(k) for k in ("rated", "ranked/", "ranked/huge", "casual/easy/x"))


def test_code_shape_is_indentation_and_length_only():
    assert mirror.code_shape("def f():\n\tif x:   \n        return 'secret'\n") == [[0, 8], [4, 5], [8, 15], [0, 0]]
    assert len(mirror.code_shape("x\n" * 1000)) == mirror.MAX_SHAPE_LINES


def test_delayed_feed_shows_edits_in_order_once_due():
    feed = mirror.DelayedFeed(30.0)
    feed.push(100.0, {"battle_id": "b", "seq": 1, "delta": None, "text": "ab"})
    feed.push(101.0, {"battle_id": "b", "seq": 2, "delta": [{"retain": 2}, {"insert": "c"}], "text": None})
    assert feed.due(129.9) == [] and feed.shown_text == "" and feed.shown_seq == 0
    assert [p["seq"] for p in feed.due(130.0)] == [1] and feed.shown_text == "ab"
    assert [p["seq"] for p in feed.due(200.0)] == [2] and (feed.shown_text, feed.shown_seq) == ("abc", 2)


def test_similarity_sees_through_renaming_and_layout_but_not_the_starter():
    assert fairplay.similarity(MINE, RENAMED, STARTER) == 1.0
    assert fairplay.similarity(MINE, OTHER, STARTER) < 0.2
    assert fairplay.similarity(STARTER, MINE, STARTER) is None  # an untouched editor has nothing to compare
    assert fairplay.similarity("", MINE) is None
    # Unfinished code counts as far as it tokenizes.
    assert fairplay.similarity(MINE, MINE[:-20] + "(((", STARTER) > 0.5


def test_pastes_are_measured_by_what_an_edit_adds():
    seat = Seat(Profile(1, "a", False, 1200.0, 0, 0, 0, 0))
    assert seat.apply_sync(SyncCode(battle_id="b", seq=1, text="x" * 10), 1000) == 10
    assert seat.apply_sync(SyncCode(battle_id="b", seq=2, delta=[Retain(retain=10), Insert(insert="y" * 300)]),
                           1000) == 300
    assert seat.apply_sync(SyncCode(battle_id="b", seq=3, text="short"), 1000) == 5 - 310
    assert fairplay.inserted_chars([{"retain": 3}, {"insert": "ab"}, {"delete": 1}, {"insert": "c"}]) == 3


@pytest.mark.parametrize("look_alike", ["Alice", "ALICE", "a1ice", "\u0430lice", "al\u0131ce", "\uff41lice",
                                        "a.lice", "al ice", "ALlCE"])
def test_look_alikes_share_a_skeleton(look_alike):
    assert skeleton(look_alike) == skeleton("alice")


@pytest.mark.parametrize("different", ["alicia", "bob", "alce", "zo\u00eb", "mary"])
def test_different_names_do_not(different):
    assert skeleton(different) != skeleton("alice")


def test_guest_names_are_normalised():
    assert check_guest_name("  \uff41da   lovelace ") == "ada lovelace"
    for bad in ("", "<script>", "a" * 33, "\u202eevil"):
        with pytest.raises(AuthError):
            check_guest_name(bad)


def test_guest_names_belong_to_the_first_browser_and_look_alikes_are_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'd.sqlite'}")
    user = store.get_or_create_user("alice")
    guest, key = store.claim_guest("alice", None)  # the same name in the guest namespace: told apart
    assert (user.name, guest.name, guest.display_name, guest.guest) == ("alice", "guest:alice", "alice", True)
    assert key and store.claim_guest("alice", key) == (guest, None)
    for wrong in (None, "", key + "x"):
        with pytest.raises(NameTaken):
            store.claim_guest("alice", wrong)
    for look_alike in ("Alice", "\u0430lice", "a1ice"):
        with pytest.raises(NameConfusable) as refused:
            store.claim_guest(look_alike, None)
        assert refused.value.args[0] == "alice"
    assert store.counts()["users"] == 2
    store.close()


def test_guest_handles_never_come_from_tokens():
    assert auth.Identity("bob", True).handle == "guest:bob" and auth.Identity("bob", False).handle == "bob"
    assert auth.display_name("guest:bob") == "bob" and auth.display_name("bob") == "bob"
