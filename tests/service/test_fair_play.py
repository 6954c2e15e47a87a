"""Fair play with real clients: a sniping bot against an honest player in every mirror mode, and the fair-play
signals kept with a battle (the copying it cannot prevent, it reports)."""

from __future__ import annotations

import asyncio
import json

import pytest

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, players_on, start_battle
from jupyter_duel_server.challenges import ChallengeLibrary
from jupyter_duel_server.protocol import apply_delta

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
DELAY_S = 5


class Sniper:
    """The attack: keep whatever text of the opponent's code reaches this client (``opponent_code`` events, and
    ``battle_state`` by resuming every 0.2 s) and submit the latest as soon as it changes, until a submission of
    it is accepted."""

    def __init__(self, player: Player, match: dict):
        self.player, self.match = player, match
        self.text = ""
        self.seen: list[str] = []  # every text of the opponent's that reached it, while the battle ran
        self.shapes = 0

    async def _read(self) -> bool:
        changed = False
        while self.player.pending("opponent_code"):
            event = await self.player.expect("opponent_code")
            self.text = event["text"] if event["text"] is not None else apply_delta(self.text, event["delta"])
            changed = True
        while self.player.pending("opponent_shape"):
            await self.player.expect("opponent_shape")
            self.shapes += 1
        if changed:
            self.seen.append(self.text)
        return changed

    async def run(self) -> None:
        bid, unsent = self.match["battle_id"], False
        while self.player.pending("battle_complete") == 0:
            unsent = await self._read() or unsent
            if (await self.player.call("resume", {"resume_token": self.match["resume_token"]}))["ok"]:
                state = await self.player.expect("battle_state")
                if state["opponent_code"] and state["opponent_code"] != self.text:
                    self.text, unsent = state["opponent_code"], True
                    self.seen.append(self.text)
            if unsent and self.text.strip():
                unsent = not (await self.player.call("submit_code", {"battle_id": bid, "code": self.text}))["ok"]
            await asyncio.sleep(0.2)
        await self._read()  # what arrived before the end


async def honest_against_sniper(url: str) -> tuple[dict, dict, Sniper, str]:
    """An honest player types the reference in four steps and submits the instant the last one is sent, while
    the sniper copies. Returns (match_found, battle_complete, the sniper, the solution)."""
    honest, sniping = await Player(url, "honest").connect(), await Player(url, "sniper").connect()
    try:
        for p in (honest, sniping):
            assert (await p.call("join_queue", {"pool": "easy", "ranked": True}))["ok"]
        match = await honest.expect("match_found")
        sniper = Sniper(sniping, await sniping.expect("match_found"))
        solution = LIBRARY.get(match["challenge"]["id"]).reference
        task = asyncio.ensure_future(sniper.run())
        bid, step = match["battle_id"], -(-len(solution) // 4)
        for seq in range(1, 5):
            if seq > 1:
                await asyncio.sleep(0.5)  # typing
            text = solution[: seq * step]
            assert (await honest.call("sync_code", {"battle_id": bid, "seq": seq, "text": text}))["ok"]
        ack = await honest.call("submit_code", {"battle_id": bid, "code": solution})
        assert ack["ok"] or ack["error"]["code"] == "battle_over", ack  # the sniper may have won the race already
        done = await honest.expect("battle_complete", timeout=60)
        await asyncio.wait_for(task, 10)
        return match, done, sniper, solution
    finally:
        await honest.close()
        await sniping.close()


@pytest.mark.parametrize("mode", ["default", "live", "delayed", "shape", "off"])
async def test_a_sniping_bot_against_an_honest_player(tmp_path, mode):
    modes = [] if mode == "default" else [f"--DuelService.mirror_modes={json.dumps({'ranked': mode})}"]
    svc = ServiceProcess(tmp_path, *RATED_GUESTS, "--DuelService.countdown_s=0", "--DuelService.submit_cooldown_s=0",
                         f"--DuelService.mirror_delay_s={DELAY_S}", *modes).start()
    try:
        match, done, sniper, solution = await honest_against_sniper(svc.url)
    finally:
        svc.stop()
    assert match["ranked"] is True and done["ranked"] is True
    assert match["mirror"]["mode"] == ("shape" if mode == "default" else mode)
    # Whatever the mode, both codes are shown in full at the end.
    assert {c["name"]: c["code"] for c in done["codes"]}["guest:honest"] == solution
    if mode == "live":
        # The attack works where the mirror shows text: the sniper had the whole solution (and may win the race).
        assert solution in sniper.seen
        return
    # Otherwise it never gets the solution before the honest player has won with it, and gains nothing.
    assert solution not in sniper.seen
    assert done["winner"] == "guest:honest" and done["reason"] == "solved"
    ratings = {r["name"]: r for r in done["ratings"]}
    assert ratings["guest:honest"]["after"] > ratings["guest:honest"]["before"]
    assert ratings["guest:sniper"]["after"] < ratings["guest:sniper"]["before"]
    if mode in ("default", "shape", "off"):
        assert sniper.seen == []  # not one character of text, by any event
        assert (sniper.shapes > 0) == (mode != "off")  # the outline shows progress


async def test_copy_signals_are_kept_with_the_battle(service):
    async with players_on(service) as make:
        p1, p2, m1, _ = await start_battle(make, "ada", "cy", ranked=False)
        bid, challenge = m1["battle_id"], LIBRARY.get(m1["challenge"]["id"])
        solution = challenge.reference + "\n# " + "padding " * 30 + "\n"  # over 200 characters
        # ada types 40 characters at a time; cy pastes ada's code with other names in one edit: it still matches.
        starter = challenge.starter_code
        assert (await p1.call("sync_code", {"battle_id": bid, "seq": 1, "text": starter}))["ok"]
        for seq, start in enumerate(range(0, len(solution), 40), start=2):
            chunk = solution[start : start + 40]
            delta = [{"delete": len(starter)}, {"insert": chunk}] if start == 0 else [{"retain": start}, {"insert": chunk}]
            assert (await p1.call("sync_code", {"battle_id": bid, "seq": seq, "delta": delta}))["ok"]
        copied = solution.replace("result", "answer_value")
        assert (await p2.call("sync_code", {"battle_id": bid, "seq": 1, "text": challenge.starter_code}))["ok"]
        delta = [{"delete": len(challenge.starter_code)}, {"insert": copied}]
        assert (await p2.call("sync_code", {"battle_id": bid, "seq": 2, "delta": delta}))["ok"]
        assert (await p1.call("forfeit", {"battle_id": bid}))["ok"]
        await p2.expect("battle_complete")
        _, body = get_json(f"{service.url}/api/users/{p1.name}/battles")
    [battle] = body["battles"]
    assert battle["similarity"] == 1.0 and battle["mirror"] == "live"
    assert [(p["player"], p["chars"]) for p in battle["pastes"]] == [(p2.name, len(copied))]
    assert 0 <= battle["pastes"][0]["at_s"] < 30
