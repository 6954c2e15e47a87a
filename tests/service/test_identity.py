"""Who plays, with real clients: a guest name belongs to one browser, guests and users are apart, look-alike
names are refused, guests are unrated by default."""

from __future__ import annotations

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, judged, players_on
from jupyter_duel_server.auth import Identity, IdentitySigner


def token(name: str, guest: bool = False) -> str:
    """An identity token as the Jupyter server extension issues it (the test service's secret is known)."""
    return IdentitySigner("test-secret").issue(Identity(name, guest))


async def test_registering_a_guests_name_does_not_reach_their_battle(service):
    async with players_on(service) as make:
        victim, foe = await make("victim"), await make("foe")
        for p in (victim, foe):
            assert (await p.call("join_queue", {"pool": "easy"}))["ok"]
        match = await victim.expect("match_found")
        await foe.expect("match_found")
        assert (await victim.call("sync_code", {"battle_id": match["battle_id"], "seq": 1, "text": "# mine"}))["ok"]
        before = service.counts()

        thief = await make(None)  # another browser: no key for the name
        for payload in ({"display_name": "victim"}, {"display_name": "victim", "guest_key": "guessed"},
                        {"token": token("victim", guest=True)}):
            error = await thief.refused("register_user", payload, "name_taken")
            assert "another browser" in error["message"]
        assert thief.pending("registered") == 0  # no battle id, no resume token, no code
        await thief.refused("resume", {"resume_token": match["resume_token"]}, "not_registered")
        await thief.refused("forfeit", {"battle_id": match["battle_id"]}, "not_registered")
        assert service.counts() == before

        # The victim's own browser (its key) gets back in, with the battle.
        tab = await victim.another_tab()
        assert tab.name == victim.name


async def test_guests_never_lock_out_users_and_look_alikes_are_refused(service):
    async with players_on(service) as make:
        squatter = await make("alice")  # a guest takes the name first
        user = Player(service.url)
        await user.client.connect(service.url, transports=["websocket"])
        registered = await user.register({"token": token("alice")})
        assert registered["user"] == {**registered["user"], "name": "alice", "display_name": "alice", "guest": False}
        assert registered["guest_key"] is None and squatter.name == "guest:alice"

        other = await make(None)
        for look_alike in ("Alice", "\u0430lice", "a1ice", "ALICE", "al.ice"):  # \u0430: Cyrillic a
            error = await other.refused("register_user", {"display_name": look_alike}, "name_confusable")
            assert "alice" in error["message"]
        # Users are who the token says, look-alike or not; reserved handles are not theirs to take.
        await other.refused("register_user", {"token": token("guest:alice")}, "invalid_name")
        await other.refused("register_user", {"token": token("Practice bot")}, "invalid_name")
        await other.refused("register_user", {"display_name": "Practice b0t"}, "name_confusable")
        assert get_json(service.url + "/api/users/alice")[1]["guest"] is False
        assert get_json(service.url + "/api/users/guest:alice")[1]["guest"] is True
        await user.close()


async def test_guests_are_unrated_and_off_the_leaderboard_by_default(tmp_path):
    svc = ServiceProcess(tmp_path, "--allow-guests", "--DuelService.countdown_s=0",
                         "--DuelService.match_interval_s=0.2").start()
    async with players_on(svc) as make:
        g1, g2 = await make("gus"), await make("gil")
        for p in (g1, g2):
            assert (await p.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
        waiting = await g1.expect("queue_update")
        assert waiting["ranked"] is False and waiting["mirror"] == "live"  # a guest's ranked queue is casual
        match = await g1.expect("match_found")
        await g2.expect("match_found")
        assert match["ranked"] is False
        await judged(g1, match["battle_id"])
        assert (await g2.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
        done = await g1.expect("battle_complete")
        assert done["ranked"] is False and all(r["before"] == r["after"] for r in done["ratings"])

        # Users, from tokens, are rated and ranked between themselves as always.
        users = []
        for name in ("uma", "ugo"):
            player = Player(svc.url)
            await player.client.connect(svc.url, transports=["websocket"])
            await player.register({"token": token(name)})
            assert (await player.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
            users.append(player)
        match = await users[0].expect("match_found")
        assert match["ranked"] is True and match["mirror"]["mode"] == "shape"
        await judged(users[0], match["battle_id"])
        assert (await users[1].call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
        assert (await users[0].expect("battle_complete"))["ranked"] is True
        _, board = get_json(svc.url + "/api/leaderboard")
        assert [p["name"] for p in board["players"]] == ["uma", "ugo"]
        for player in users:
            await player.close()


async def test_rate_guests_puts_guests_on_the_leaderboard(tmp_path):
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0").start()
    async with players_on(svc) as make:
        g1, g2 = await make("gus"), await make("gil")
        for p in (g1, g2):
            assert (await p.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
        match = await g1.expect("match_found")
        assert match["ranked"] is True
        await judged(g1, match["battle_id"])
        assert (await g2.call("forfeit", {"battle_id": match["battle_id"]}))["ok"]
        await g1.expect("battle_complete")
        _, board = get_json(svc.url + "/api/leaderboard")
        assert [(p["name"], p["display_name"]) for p in board["players"]] == [("guest:gus", "gus"), ("guest:gil", "gil")]
