"""A tournament run entirely from a notebook: a real kernel uses ``jupyter_duel.tournament`` against a real service
process (standalone, as an instructor by identity token) and displays the control panel; this test is the
browser: it reads the widget models on IOPub and clicks the panel's buttons with real ``comm_msg`` messages,
while two real Socket.IO players join the arena and play a game to its end."""

from __future__ import annotations

import csv
import io
import re

import nbformat
import pytest

from helpers import JupyterProcess, Player, judged
from jupyter_duel_server.auth import Identity, IdentitySigner
from jupyter_duel_server.challenges import ChallengeLibrary
from kernels import ServerKernel
from widget_frontend import kernel

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())

pytestmark = pytest.mark.timeout(300)


def token(name: str, instructor: bool = False) -> str:
    return IdentitySigner("test-secret").issue(Identity(name, False, instructor=instructor))


async def signed_in(url: str, name: str) -> Player:
    """A student who registers with an identity token (as a Jupyter or JupyterHub login gives one)."""
    player = Player(url)
    await player.client.connect(url, transports=["websocket"])
    await player.register({"token": token(name)})
    return player


def text(html: str) -> str:
    """An HTML value as a reader sees it: tags out, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def rows(html: str) -> list[str]:
    """The text of each body row of the tables in ``html`` (the header rows left out)."""
    return [text(r) for r in re.findall(r"<tr>(.*?)</tr>", html) if "<td" in r]


def row_of(html: str, name: str) -> str:
    """The text of the first table row that names ``name`` ('' when none does)."""
    found = [r for r in rows(html) if re.search(rf"\b{re.escape(name)}\b", r)]
    return found[0] if found else ""


async def test_instructor_runs_an_arena_from_the_panel(service, tmp_path):
    url = service.url
    ada, bo = await signed_in(url, "ada"), await signed_in(url, "bo")
    try:
        async with kernel() as k:
            created = await k.run(
                "from jupyter_duel.tournament import Tournament, TournamentError, ServiceClient, connect, tournaments\n"
                f"connect(url={url!r}, token={token('teach', instructor=True)!r})\n"
                "t = Tournament.create('Friday arena', 'arena', duration_s=1200)\n"
                "print(t.id, t.status)\n"
                "print([s['id'] for s in tournaments()])\n")
            first_line, listed = created.splitlines()
            tid, status = first_line.split()
            assert status == "open" and tid in listed

            for player in (ada, bo):
                assert (await player.call("join_tournament", {"tournament_id": tid}))["ok"]

            await k.run("from IPython.display import display\npanel = t.widget()\ndisplay(panel)\n"
                        "projector = t.projector()\ndisplay(projector)\n")
            buttons = {name: k.find(f"jd-tournament-{name}")
                       for name in ("start", "pause", "resume", "next-round", "end")}

            def enabled() -> set[str]:
                return {name for name, cid in buttons.items() if not k.models[cid]["disabled"]}

            def status(word: str) -> str:
                """The status line's text when it has ``word``, else ''."""
                line = text(k.state("jd-tournament-status")["value"])
                return line if word in line else ""

            # Open, with both players in the table (they joined through Socket.IO).
            await k.until(lambda: "ada" in text(k.state("jd-tournament-standings")["value"])
                          and "bo" in text(k.state("jd-tournament-standings")["value"]), what="both entrants listed")
            assert enabled() == {"start", "end"}
            assert "open" in text(k.state("jd-tournament-status")["value"])

            # A button the service refuses now (a frontend may send a click to a disabled button): the code shows.
            k.click(buttons["resume"])
            await k.until(lambda: "tournament_state" in k.state("jd-tournament-error")["value"],
                          what="the refusal's code in the error line")

            # Start: the arena pairs the two free players at once.
            k.click(buttons["start"])
            match_a, match_b = await ada.expect("match_found", 15), await bo.expect("match_found", 15)
            assert match_a["battle_id"] == match_b["battle_id"] and match_a.get("tournament_id") == tid
            bid = match_a["battle_id"]
            # The status line is the last part of a view the panel updates: the rest is shown when it is.
            status_text = await k.until(lambda: status("running"), what="running")
            assert "min left" in status_text and enabled() == {"pause", "end"}, status_text
            await k.until(lambda: k.state("jd-tournament-error")["value"] == "", what="the error line cleared")
            await k.until(lambda: "playing" in row_of(k.state("jd-tournament-pairings")["value"], "ada"),
                          what="the game listed as playing")

            # The game: bo's attempt fails some tests, ada solves it; both final solutions are kept.
            challenge = LIBRARY.get(match_a["challenge"]["id"])
            wrong = f"def {challenge.function}(*args):\n    return None  # bo's attempt\n"
            assert (await bo.call("sync_code", {"battle_id": bid, "seq": 1, "text": wrong}))["ok"]
            bo_result = await judged(bo, bid, wrong)
            assert bo_result["verdict"] != "AC"
            progress = f"{bo_result['passed']}/{bo_result['total']}"
            await k.until(lambda: progress in row_of(k.state("jd-tournament-pairings")["value"], "bo"),
                          what="bo's tests passed in the games table")
            assert (await ada.call("sync_code", {"battle_id": bid, "seq": 1, "text": challenge.reference}))["ok"]
            assert (await judged(ada, bid, challenge.reference))["verdict"] == "AC"
            assert (await ada.expect("battle_complete", 30))["winner"] == "ada"

            # The standings follow, in the panel and on the projector: ada first with an arena win (2 points).
            def ada_leads(html: str) -> bool:
                return bool(rows(html)) and rows(html)[0].startswith("1 ada 2 1 1 0 0")

            await k.until(lambda: ada_leads(k.state("jd-tournament-standings")["value"]), what="ada leads")
            await k.until(lambda: ada_leads(k.state("jd-tournament-projector")["value"]),
                          what="ada leads on the projector")
            assert row_of(k.state("jd-tournament-standings")["value"], "bo").startswith("2 bo 0 1 0 0 1")
            await k.until(lambda: any("ada won" in r for r in rows(k.state("jd-tournament-pairings")["value"])),
                          what="the finished game and its result in the games table")

            # Both free again: paired again at once. Pause, resume, then end: no new pairing, the game plays on.
            rematch = await ada.expect("match_found", 15)
            await bo.expect("match_found", 15)
            k.click(buttons["pause"])
            await k.until(lambda: status("paused"), what="paused")
            assert enabled() == {"resume", "end"}
            k.click(buttons["resume"])
            await k.until(lambda: status("running"), what="running again")
            assert enabled() == {"pause", "end"}

            # The front end closes the projector: it stops following the tournament.
            projector_id = k.find("jd-projector")
            k.close_comm(projector_id)
            await k.run("import time\nfor _ in range(400):\n    if not projector.following: break\n"
                        "    time.sleep(0.1)\n", timeout=60)
            assert (await k.run("print(projector.following, panel.following)")).split() == ["False", "True"]

            # End: no new game, the running one plays on; the End button now aborts it, and that finishes it.
            k.click(buttons["end"])
            await k.until(lambda: status("ending"), what="ending")
            assert k.state("jd-tournament-end")["description"] == "Abort games" and enabled() == {"pause", "end"}
            assert "playing" in row_of(k.state("jd-tournament-pairings")["value"], "ada")
            k.click(buttons["end"])
            aborted = await ada.expect("battle_complete", 15)
            assert aborted["battle_id"] == rematch["battle_id"] and aborted["reason"] == "aborted"
            await k.until(lambda: status("finished"), what="finished once the last game is over")
            assert enabled() == set()
            assert (await k.run("print(t.state['status'], len(t.standings))")).split() == ["finished", "2"]

            # Exports written by the kernel, as the service makes them.
            csv_path, nb_path = tmp_path / "friday.csv", tmp_path / "friday.ipynb"
            await k.run(f"t.export_csv({str(csv_path)!r})\nt.export_notebook({str(nb_path)!r})\n")
            table = list(csv.reader(io.StringIO(csv_path.read_text())))
            cells = [cell for row in table[1:] for cell in row]
            assert len(table) >= 3 and "ada" in cells and "bo" in cells, table
            notebook = nbformat.read(str(nb_path), as_version=4)
            nbformat.validate(notebook)
            sources = "\n".join(cell.source for cell in notebook.cells)
            assert challenge.reference in sources and wrong in sources

            # The panel's thread ends with the tournament: it follows nothing that can change.
            await k.run("import time\nfor _ in range(400):\n    if not panel.following: break\n"
                        "    time.sleep(0.1)\n")
            assert (await k.run("print(panel.following)")).strip() == "False"
    finally:
        await ada.close()
        await bo.close()


async def test_api_refuses_a_non_instructor_with_the_service_code(service, tmp_path):
    url = service.url
    export = tmp_path / "not-yours.csv"
    async with kernel() as k:
        out = await k.run(
            "import threading\n"
            "from jupyter_duel.tournament import Tournament, TournamentError, connect, tournaments\n"
            f"student = connect({url!r}, {token('stu')!r})\n"
            f"teacher = connect({url!r}, {token('teach', instructor=True)!r})\n"
            "t = Tournament.create('Swiss', 'swiss', rounds=3, client=teacher)\n"
            "mine = Tournament.get(t.id, client=student)\n"
            "for attempt in (lambda: Tournament.create('Mine', 'arena', duration_s=60, client=student),\n"
            "                mine.start, mine.end, lambda: mine.export_csv(%r)):\n"
            "    try:\n"
            "        attempt()\n"
            "    except TournamentError as exc:\n"
            "        print(exc.status, exc.code, '|', exc)\n"
            "for attempt in (lambda: Tournament.create('Bad', 'arena', client=teacher),\n"
            "                lambda: Tournament.get('no-such-tournament', client=teacher), t.next_round):\n"
            "    try:\n"
            "        attempt()\n"
            "    except TournamentError as exc:\n"
            "        print(exc.status, exc.code)\n"
            "print(mine.state['status'], [x['status'] for x in tournaments(student)])\n"
            # The long-poll: unchanged after its time when nothing happens; answered by a change when one does.
            "v = t.view['version']\n"
            "print(t.wait(v, 0.5)['version'] == v)\n"
            "threading.Timer(0.5, t.end).start()\n"
            "changed = mine.wait(v, 30)\n"
            "print(changed['version'] > v, changed['status'])\n" % str(export))
    lines = out.splitlines()
    assert len(lines) == 10, out
    for line in lines[:4]:
        status, code, message = line.split(" ", 2)
        assert (status, code) == ("403", "not_instructor") and len(message) > 3, line
    assert not export.exists()
    assert lines[4] == "400 invalid_payload"  # an arena needs its duration
    assert lines[5] == "404 unknown_tournament"
    assert lines[6] == "409 tournament_state"  # not started
    assert lines[7] == "open ['open']"  # nothing the student tried changed it
    assert lines[8:] == ["True", "True finished"]


async def test_the_kernels_own_jupyter_server_user_is_the_instructor(tmp_path):
    """In a kernel of a Jupyter server, ``connect()`` needs nothing: the server's embedded service, whose user (the
    one running the kernel) is its instructor."""
    jupyter = JupyterProcess(tmp_path, "server").start()
    try:
        async with ServerKernel(jupyter) as k:
            out = await k.execute(
                "from jupyter_duel.tournament import Tournament, tournaments\n"
                "t = Tournament.create('Lab swiss', 'swiss', rounds=2)\n"
                "print(t.status, [x['id'] for x in tournaments()] == [t.id], Tournament.get(t.id).view['name'])\n")
            assert not out["errors"], out
            assert out["stdout"].split() == ["open", "True", "Lab", "swiss"]
    finally:
        jupyter.stop()


async def test_next_round_of_a_paused_swiss_from_the_panel(service):
    """A Swiss paused by the instructor is not paired on by itself: once the round is over, Next round is enabled
    and pairs it."""
    url = service.url
    ada, bo = await signed_in(url, "ada"), await signed_in(url, "bo")
    try:
        async with kernel() as k:
            tid = (await k.run(
                "from jupyter_duel.tournament import Tournament, connect\n"
                "from IPython.display import display\n"
                f"connect({url!r}, {token('teach', instructor=True)!r})\n"
                "t = Tournament.create('Swiss', 'swiss', rounds=2)\n"
                "print(t.id)\n")).strip()
            for player in (ada, bo):
                assert (await player.call("join_tournament", {"tournament_id": tid}))["ok"]
            await k.run("t.start()\nold = t.widget()\ndisplay(old)\n")
            old_panel = k.find("jd-tournament-panel")
            # The cell run again: the new panel replaces the old one, which stops following and closes.
            await k.run("panel = Tournament.get(t.id).widget()\ndisplay(panel)\n")
            await k.until(lambda: old_panel in k.closed, what="the old panel closed")
            assert (await k.run("old._thread.join(40)\nprint(old.following, panel.following)")).split() == [
                "False", "True"]
            buttons = {name: k.find(f"jd-tournament-{name}") for name in ("pause", "next-round", "end")}

            def status(word: str) -> str:
                line = text(k.state("jd-tournament-status")["value"])
                return line if word in line else ""

            first = await ada.expect("match_found", 15)
            await bo.expect("match_found", 15)
            assert "round 1 of 2" in await k.until(lambda: status("running"), what="round 1")
            assert k.models[buttons["next-round"]]["disabled"]  # round 1 is being played

            k.click(buttons["pause"])
            await k.until(lambda: status("paused"), what="paused")
            assert k.models[buttons["next-round"]]["disabled"]
            assert (await bo.call("forfeit", {"battle_id": first["battle_id"]}))["ok"]
            await k.until(lambda: status("paused") and "playing" not in status("paused"), what="round 1 over")
            assert not k.models[buttons["next-round"]]["disabled"]
            assert rows(k.state("jd-tournament-standings")["value"])[0].startswith("1 ada 1 1 1 0 0")
            assert ada.pending("match_found") == 0  # paused: nobody paired by the service

            k.click(buttons["next-round"])
            second = await ada.expect("match_found", 15)
            assert second["tournament_id"] == tid and second["battle_id"] != first["battle_id"]
            assert "round 2 of 2" in await k.until(lambda: status("round 2"), what="round 2")
            assert k.models[buttons["next-round"]]["disabled"]  # the last round
            await k.until(lambda: any(r.startswith("2 ada") and "playing" in r
                                      for r in rows(k.state("jd-tournament-pairings")["value"])),
                          what="round 2's game in the games table")
            assert all(r.startswith("2 ") for r in rows(k.state("jd-tournament-pairings")["value"]))  # this round's

            k.click(buttons["end"])
            await k.until(lambda: status("ending"), what="ending")
            k.click(buttons["end"])  # now "Abort games"
            await k.until(lambda: status("finished"), what="finished")
    finally:
        await ada.close()
        await bo.close()
