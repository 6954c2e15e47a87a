"""``DuelClient``: a duel played from a notebook with ipywidgets, where the JupyterLab panel is not (Notebook 7,
VS Code, any widget front end).

The client is the user's own kernel: it connects to the service with python-socketio over the same protocol as the
panel (``docs/protocol.md``), as the user :mod:`jupyter_duel.connection` finds and proves. Everything runs as tasks
on the kernel's asyncio loop (ipykernel 7 runs one), so the kernel stays free for other cells: a button's click
only schedules a task. Every refusal and mistake is shown in the status line, never as a traceback.

One battle at a time: queue (pool, ranked), the statement and samples, the code box (synced to the service as
deltas, as the panel's editor), the opponent's progress as the battle's mirror shows it (live code, an outline, or
nothing), run samples, submit, forfeit, and the result with both codes and the rating changes. On a reconnect the
client registers again and resumes its battle with the resume token.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time

import ipywidgets as widgets
from traitlets import Float, Unicode

from .connection import ConnectionSetupError, ServiceConnection, connect

log = logging.getLogger("jupyter_duel.widget")

POOLS = ("any", "easy", "medium", "hard")
#: Longest opponent outline drawn, in characters per line (an outline tells length, never text).
SHAPE_WIDTH = 60

_CSS = """<style>
.jd-code textarea, .jd-opponent-code textarea { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 13px); }
.jd-status .jd-error { color: #b3261e; }
.jd-results table, .jd-challenge table { border-collapse: collapse; }
.jd-results td, .jd-results th, .jd-challenge td, .jd-challenge th { padding: 0 0.6em; text-align: left; }
.jd-shape { font-family: monospace; line-height: 1.1; white-space: pre; color: #888; }
</style>"""


def text_delta(old: str, new: str) -> list[dict]:
    """The ``sync_code`` delta from ``old`` to ``new``: keep the common start, replace the middle."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]:
        end += 1
    ops: list[dict] = []
    if start:
        ops.append({"retain": start})
    if len(old) - start - end:
        ops.append({"delete": len(old) - start - end})
    if len(new) - start - end:
        ops.append({"insert": new[start : len(new) - end]})
    return ops


def _markdown(text: str) -> str:
    import mistune

    return mistune.create_markdown(escape=True)(text)


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _minutes(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def _pre(code: str) -> str:
    return f"<pre>{_esc(code)}</pre>"


class DuelClient(widgets.VBox):
    """A duel client in a notebook: ``from jupyter_duel import DuelClient; DuelClient()``.

    ``url``/``token``/``name`` go to :func:`jupyter_duel.connection.connect` (nothing: this kernel's Jupyter
    server, or ``JUPYTER_DUEL_SERVICE_URL``); ``connection`` gives one already made."""

    sync_interval_s = Float(0.25, help="Seconds the code box waits after an edit before syncing it (edits in that "
                            "time go together).")
    clock_interval_s = Float(1.0, help="Seconds between two updates of the battle's clock.")
    call_timeout_s = Float(30.0, help="Seconds to wait for the service to answer an event.")
    #: ``connecting``, ``idle``, ``queued``, ``battle``, ``over``, or ``offline`` (no service).
    phase = Unicode("connecting")

    def __init__(self, url: str | None = None, token: str | None = None, *, name: str | None = None,
                 connection: ServiceConnection | None = None, pool: str = "any", ranked: bool = True, **kwargs):
        self._build(pool, ranked)
        super().__init__(children=self._children(), **kwargs)
        self.add_class("jupyter-duel")
        self._tasks: set[asyncio.Task] = set()
        self._sio = None
        self.user: dict | None = None
        self.battle: dict | None = None  # match_found / battle_state of the running (or last) battle
        self.result: dict | None = None  # battle_complete
        self._resume_token: str | None = None
        self._seq = 0
        self._synced = ""  # the code as the service has it
        self._opponent_text = ""
        self._opponent_seq = 0
        self._flushing: asyncio.Task | None = None
        self._ticker: asyncio.Task | None = None
        self._setting_code = False
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = asyncio.get_event_loop_policy().get_event_loop()
        try:
            self.connection = connection or connect(url, token, name=name)
        except ConnectionSetupError as exc:
            self.connection = None
            self.phase = "offline"
            self._say(f"Cannot reach the duel service ({exc.code}): {exc}", error=True)
        else:
            self._say("Connecting to the duel service…")
            self._spawn(self._start())
        self._refresh_controls()

    # -- the view ---------------------------------------------------------------------------------------------

    def _build(self, pool: str, ranked: bool) -> None:
        def cls(widget, name):
            widget.add_class("jd-" + name)
            return widget

        self.css = widgets.HTML(_CSS)
        self.status = cls(widgets.HTML(), "status")
        self.who = cls(widgets.HTML(), "who")
        self.pool = cls(widgets.Dropdown(options=POOLS, value=pool if pool in POOLS else "any",
                                         description="Pool"), "pool")
        self.ranked = cls(widgets.Checkbox(value=ranked, description="Ranked", indent=False), "ranked")
        self.queue_button = cls(widgets.Button(description="Find an opponent", button_style="primary",
                                               icon="search"), "queue")
        self.leave_button = cls(widgets.Button(description="Leave the queue"), "leave")
        self.bot_button = cls(widgets.Button(description="Practice against the bot", icon="android"), "bot")
        self.challenge = cls(widgets.HTML(), "challenge")
        self.clock = cls(widgets.HTML(), "clock")
        self.code = cls(widgets.Textarea(placeholder="Your solution", continuous_update=True,
                                         layout=widgets.Layout(width="100%", height="18em")), "code")
        self.run_button = cls(widgets.Button(description="Run samples", icon="play"), "run")
        self.submit_button = cls(widgets.Button(description="Submit", button_style="success", icon="check"),
                                 "submit")
        self.forfeit_button = cls(widgets.Button(description="Forfeit", button_style="danger", icon="flag"),
                                  "forfeit")
        self.results = cls(widgets.HTML(), "results")
        self.opponent = cls(widgets.HTML(), "opponent")
        self.opponent_code = cls(widgets.Textarea(disabled=True, layout=widgets.Layout(width="100%",
                                                                                        height="18em")),
                                 "opponent-code")
        self.opponent_shape = cls(widgets.HTML(), "opponent-shape")
        self.outcome = cls(widgets.HTML(), "outcome")

        self.queue_button.on_click(lambda _: self._action(self.find_opponent))
        self.leave_button.on_click(lambda _: self._action(self.leave_queue))
        self.bot_button.on_click(lambda _: self._action(self.play_bot))
        self.run_button.on_click(lambda _: self._action(self.run_samples))
        self.submit_button.on_click(lambda _: self._action(self.submit))
        self.forfeit_button.on_click(lambda _: self._action(self.forfeit))
        self.code.observe(self._on_code, names="value")

    def _children(self) -> list:
        queue = widgets.HBox([self.pool, self.ranked, self.queue_button, self.leave_button, self.bot_button])
        mine = widgets.VBox([self.code, widgets.HBox([self.run_button, self.submit_button, self.forfeit_button]),
                             self.results], layout=widgets.Layout(width="50%"))
        theirs = widgets.VBox([self.opponent, self.opponent_code, self.opponent_shape],
                              layout=widgets.Layout(width="50%"))
        return [self.css, self.status, self.who, queue, self.challenge, self.clock, widgets.HBox([mine, theirs]),
                self.outcome]

    def _say(self, message: str, *, error: bool = False) -> None:
        text = _esc(message)
        self.status.value = f'<span class="jd-error">⚠ {text}</span>' if error else text

    def _refresh_controls(self) -> None:
        phase = self.phase
        online = phase not in ("connecting", "offline")
        self.queue_button.disabled = not online or phase in ("queued", "battle")
        self.pool.disabled = self.ranked.disabled = self.queue_button.disabled
        self.leave_button.layout.display = "" if phase == "queued" else "none"
        self.bot_button.layout.display = "none"
        playing = phase == "battle"
        for button in (self.run_button, self.submit_button, self.forfeit_button):
            button.disabled = not playing
        self.code.disabled = phase == "offline"

    # -- tasks on the kernel's loop -------------------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        def start():
            task = self._loop.create_task(self._guarded(coro))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            start()
        else:  # a callback from another thread: hand the task to the kernel's loop
            self._loop.call_soon_threadsafe(start)

    async def _guarded(self, coro):
        try:
            return await coro
        except asyncio.CancelledError:
            raise
        except ConnectionSetupError as exc:
            self._say(f"The duel service refused this kernel ({exc.code}): {exc}", error=True)
        except Exception as exc:  # shown, not raised: nobody would see a traceback from a background task
            log.exception("jupyter-duel widget")
            self._say(f"Something went wrong: {type(exc).__name__}: {exc}", error=True)

    def _action(self, method) -> None:
        self._spawn(method())

    # -- connection -----------------------------------------------------------------------------------------------

    async def _start(self) -> None:
        import socketio

        sio = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=10)
        self._sio = sio
        for event in ("registered", "queue_update", "match_found", "battle_state", "opponent_code",
                      "opponent_shape", "opponent_status", "test_result", "submission_result", "battle_complete",
                      "battle_elsewhere", "error"):
            sio.on(event, getattr(self, "_on_" + event))
        sio.on("connect", lambda: self._spawn(self._register()))
        sio.on("disconnect", self._on_disconnect)
        try:
            await sio.connect(wait_timeout=self.call_timeout_s, **self.connection.socketio_connect_kwargs())
        except Exception as exc:
            self.phase = "offline"
            self._refresh_controls()
            self._say(f"Cannot connect to the duel service at {self.connection.base_url}: {exc}", error=True)

    def _on_disconnect(self, *args) -> None:
        if self.phase != "offline":
            self._say("Connection lost: reconnecting…", error=True)

    async def _register(self) -> None:
        payload = await self.connection.register_payload_async()
        ack = await self._call("register_user", payload)
        if ack is None:
            return
        if not ack.get("ok"):
            self.phase = "offline"
            self._refresh_controls()

    async def _call(self, event: str, payload: dict) -> dict | None:
        """Emit and wait for the ack; a refusal is shown and returned (``ok: false``), None when unanswered."""
        if self._sio is None:
            self._say("Not connected to the duel service.", error=True)
            return None
        try:
            ack = await self._sio.call(event, payload, timeout=self.call_timeout_s)
        except Exception as exc:  # socketio.exceptions.TimeoutError, BadNamespaceError (not connected)
            self._say(f"The duel service did not answer {event} (not connected?): {type(exc).__name__}",
                      error=True)
            return None
        if isinstance(ack, dict) and ack.get("ok") is False:
            error = ack.get("error") or {}
            self._say(f"{error.get('message', 'refused')} ({error.get('code', 'error')})", error=True)
        return ack

    def close(self) -> None:
        """Disconnect and close the widget."""
        if self._sio is not None:
            sio, self._sio = self._sio, None
            self._spawn(sio.disconnect())
        for task in (self._ticker, self._flushing):
            if task is not None:
                task.cancel()
        super().close()

    # -- actions ------------------------------------------------------------------------------------------------------

    def _need_battle(self) -> bool:
        if self.phase != "battle" or not self.battle:
            self._say("No battle is running: find an opponent first.", error=True)
            return False
        return True

    async def find_opponent(self) -> None:
        """Queue in the chosen pool (ranked or casual)."""
        if self.phase == "battle":
            self._say("A battle is running: finish it first.", error=True)
            return
        ack = await self._call("join_queue", {"pool": self.pool.value, "ranked": bool(self.ranked.value)})
        if ack and ack.get("ok"):
            self.phase = "queued"
            self._refresh_controls()

    async def leave_queue(self) -> None:
        ack = await self._call("leave_queue", {})
        if ack and ack.get("ok"):
            self.phase = "idle"
            self._refresh_controls()

    async def play_bot(self) -> None:
        await self._call("play_bot", {"pool": self.pool.value})

    async def run_samples(self) -> None:
        """Run the code on the visible samples (does not count)."""
        if self._need_battle():
            await self._sync_now()
            if await self._ok("run_samples", {"battle_id": self.battle["battle_id"], "code": self.code.value}):
                self._say("Running the samples…")

    async def submit(self) -> None:
        """Judge the code on every test."""
        if self._need_battle():
            await self._sync_now()
            if await self._ok("submit_code", {"battle_id": self.battle["battle_id"], "code": self.code.value}):
                self._say("Submitted: judging…")

    async def forfeit(self) -> None:
        if self._need_battle():
            await self._ok("forfeit", {"battle_id": self.battle["battle_id"]})

    async def _ok(self, event: str, payload: dict) -> bool:
        ack = await self._call(event, payload)
        return bool(ack and ack.get("ok"))

    # -- the code box: synced as deltas ---------------------------------------------------------------------------

    def _on_code(self, change) -> None:
        if self._setting_code or self.phase != "battle":
            return
        if self._flushing is None or self._flushing.done():
            self._spawn(self._flush_later())

    async def _flush_later(self) -> None:
        self._flushing = asyncio.current_task()
        await asyncio.sleep(self.sync_interval_s)
        await self._sync_now()

    async def _sync_now(self) -> None:
        """Send what the service lacks of the code box (a delta; the full text when it is out of sync)."""
        while self.battle and self.phase == "battle" and self.code.value != self._synced:
            text = self.code.value
            payload = {"battle_id": self.battle["battle_id"], "seq": self._seq + 1,
                       "delta": text_delta(self._synced, text)}
            ack = await self._call("sync_code", payload)
            if ack is None:
                return
            if not ack.get("ok") and (ack.get("error") or {}).get("code") == "out_of_sync":
                payload = {"battle_id": self.battle["battle_id"], "seq": self._seq + 1, "text": text}
                ack = await self._call("sync_code", payload)
            if not (ack and ack.get("ok")):
                return
            self._seq, self._synced = payload["seq"], text

    def _set_code(self, text: str) -> None:
        self._setting_code = True
        try:
            self.code.value = text
        finally:
            self._setting_code = False

    # -- events ---------------------------------------------------------------------------------------------------

    async def _on_registered(self, data: dict) -> None:
        self.user = data["user"]
        self.connection.remember(data)
        self.who.value = (f"Playing as <b>{_esc(self.user['display_name'])}</b>"
                          f"{' (guest)' if self.user['guest'] else ''} · rating {self.user['rating']:.0f}")
        if data.get("battle_id"):
            token = self._resume_token if (self.battle or {}).get("battle_id") == data["battle_id"] else None
            if data.get("battle_elsewhere") and token is None:
                self.phase = "idle"
                self._say("Your battle is open in another window.")
            else:
                await self._call("resume", {"resume_token": token or data["resume_token"]})
        else:
            if self.phase in ("connecting", "battle", "queued"):
                self.phase = "idle"
            self._say("Connected. Choose a pool and find an opponent.")
        self._refresh_controls()

    def _on_queue_update(self, data: dict) -> None:
        if data["status"] == "waiting":
            self.phase = "queued"
            ranked = "ranked" if data["ranked"] else "casual"
            self._say(f"Waiting for an opponent in the {data['pool']} pool ({ranked}, mirror {data['mirror']}): "
                      f"place {data['position']} of {data['size']}, {data['waited_s']:.0f} s.")
            self._refresh_controls()
            self.bot_button.layout.display = "" if data["bot_available"] else "none"
        elif data["status"] == "left":
            self.phase = "idle"
            self._say("You left the queue.")
            self._refresh_controls()

    def _on_match_found(self, data: dict) -> None:
        self._open_battle(data, code=data["challenge"]["starter_code"], seq=0, opponent_text="", opponent_seq=0)
        self.results.value = ""
        opp = data["opponent"]
        self._say(f"Matched with {opp['display_name']}! " + self._mirror_sentence())

    def _on_battle_state(self, data: dict) -> None:
        mine = self.code.value if (self.battle or {}).get("battle_id") == data["battle_id"] else ""
        self._open_battle(data, code=data["your_code"], seq=data["your_seq"], opponent_text=data["opponent_code"],
                          opponent_seq=data["opponent_seq"])
        if mine and mine != data["your_code"]:
            # Edits made while offline: the service lacks them, so they are sent (the box keeps them).
            self._set_code(mine)
            self._spawn(self._sync_now())
        if data.get("opponent_shape"):
            self._on_opponent_shape(data["opponent_shape"])
        self._show_opponent(connected=data["opponent_connected"], submissions=data["opponent_submissions"],
                            best=data["opponent_best_passed"])
        rows = "".join(self._result_row(t) for t in data["your_tests"])
        runs = "".join(self._submission_line(s) for s in data["your_submissions"])
        self.results.value = f"<table>{rows}</table>{runs}"
        self._say("Back in your battle.")

    def _open_battle(self, data: dict, *, code: str, seq: int, opponent_text: str, opponent_seq: int) -> None:
        self.battle = data
        self.result = None
        self._resume_token = data["resume_token"]
        self._seq, self._synced = seq, code
        self._set_code(code)
        self._opponent_text, self._opponent_seq = opponent_text, opponent_seq
        self.opponent_code.value = opponent_text
        self.opponent_shape.value = ""
        self._clock_offset = time.time() - data["server_time"]
        self.phase = "battle"
        self.outcome.value = ""
        mode = data["mirror"]["mode"]
        self.opponent_code.layout.display = "" if mode in ("live", "delayed") else "none"
        self.opponent_shape.layout.display = "" if mode == "shape" else "none"
        self._show_opponent(connected=True, submissions=0, best=0)
        self._refresh_controls()
        self.challenge.value = self._challenge_html(data)
        if self._ticker is None or self._ticker.done():
            self._spawn(self._tick())

    def _mirror_sentence(self) -> str:
        mirror = self.battle["mirror"]
        return {"live": "You see each other's code as it is typed.",
                "delayed": f"You see each other's code {mirror['delay_s']:.0f} s late.",
                "shape": "You see the outline of each other's code, never its text.",
                "off": "You do not see each other's code."}.get(mirror["mode"], "")

    def _challenge_html(self, data: dict) -> str:
        ch = data["challenge"]
        samples = "".join(f"<tr><td><code>{_esc(s['call'])}</code></td><td>→</td>"
                          f"<td><code>{_esc(s['expected'])}</code></td></tr>" for s in ch["samples"])
        kind = "ranked" if data["ranked"] else "casual"
        return (f"<h3>{_esc(ch['title'])}</h3><p><i>{_esc(ch['difficulty'])}</i> · {kind} · "
                f"{_minutes(data['time_limit_s'])} · {ch['hidden_count']} hidden tests</p>"
                f"{_markdown(ch['statement'])}<p><code>{_esc(ch['signature'])}</code></p>"
                f"<p><b>Samples</b></p><table>{samples}</table>")

    def _show_opponent(self, *, connected: bool, submissions: int, best: int, grace_s=None) -> None:
        opp = self.battle["opponent"]
        mark = " (bot)" if opp["bot"] else " (guest)" if opp["guest"] else ""
        state = "connected" if connected else (
            f"disconnected: {grace_s:.0f} s to come back" if grace_s is not None else "disconnected")
        self.opponent.value = (f"<b>{_esc(opp['display_name'])}</b>{mark} · {opp['rating']:.0f} · {state} · "
                               f"{submissions} submissions, best {best} tests passed")

    async def _tick(self) -> None:
        self._ticker = asyncio.current_task()
        while self.phase == "battle" and self.battle:
            now = time.time() - self._clock_offset
            start, deadline = self.battle["started_at"], self.battle["deadline"]
            if now < start:
                self.clock.value = f"Starts in {start - now:.0f} s"
            else:
                left = max(0, deadline - now)
                self.clock.value = f"⏱ {_minutes(left)} left"
            await asyncio.sleep(self.clock_interval_s)

    def _on_opponent_code(self, data: dict) -> None:
        if not self.battle or data["battle_id"] != self.battle["battle_id"]:
            return
        from jupyter_duel_server.protocol import apply_delta

        if data["text"] is not None:
            self._opponent_text = data["text"]
        elif data["delta"] is not None:
            try:
                self._opponent_text = apply_delta(self._opponent_text, data["delta"])
            except ValueError:
                return  # out of step: the next full text sets it right
        self._opponent_seq = data["seq"]
        self.opponent_code.value = self._opponent_text

    def _on_opponent_shape(self, data: dict) -> None:
        if not self.battle or data["battle_id"] != self.battle["battle_id"]:
            return
        lines = [" " * min(indent, SHAPE_WIDTH) + "▇" * min(length, SHAPE_WIDTH) for indent, length in
                 data["lines"]]
        self.opponent_shape.value = (f'<div class="jd-shape">{_esc(chr(10).join(lines))}</div>'
                                     f"<small>{data['chars']} characters, {len(data['lines'])} lines</small>")

    def _on_opponent_status(self, data: dict) -> None:
        if self.battle and data["battle_id"] == self.battle["battle_id"]:
            self._show_opponent(connected=data["connected"], submissions=data["submissions"],
                                best=data["best_passed"], grace_s=data["grace_s"])

    def _mine(self, data: dict) -> bool:
        return bool(self.user) and data["player"] == self.user["name"]

    @staticmethod
    def _result_row(t: dict) -> str:
        mark = "✓" if t["passed"] else "✗"
        cells = [f"{mark} {_esc(t['kind'])} {t['index'] + 1}/{t['total']}", _esc(t["verdict"]),
                 f"{t['time_ms']:.0f} ms"]
        detail = t.get("detail")
        if detail:
            cells.append(f"<code>{_esc(detail['call'])}</code> expected <code>{_esc(detail['expected'])}</code>"
                         + (f", got <code>{_esc(detail['got'])}</code>" if detail["got"] is not None else ""))
            if detail.get("error"):
                cells.append(_pre(detail["error"]))
            if detail.get("output"):
                cells.append(_pre(detail["output"]))
        return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    def _submission_line(self, s: dict) -> str:
        what = "Samples" if s["samples_only"] else "Submission"
        line = f"<p><b>{what}: {_esc(s['verdict'])}</b>, {s['passed']}/{s['total']} tests passed</p>"
        return line + (_pre(s["message"]) if s.get("message") else "")

    def _on_test_result(self, data: dict) -> None:
        if not self._mine(data) or not self.battle or data["battle_id"] != self.battle["battle_id"]:
            return
        if data["index"] == 0:
            self.results.value = ""
        rows = self.results.value.removeprefix("<table>").removesuffix("</table>")
        self.results.value = f"<table>{rows}{self._result_row(data)}</table>"

    def _on_submission_result(self, data: dict) -> None:
        if not self.battle or data["battle_id"] != self.battle["battle_id"]:
            return
        if self._mine(data):
            self.results.value += self._submission_line(data)
            self._say(f"{'Samples' if data['samples_only'] else 'Submission'}: {data['verdict']}, "
                      f"{data['passed']}/{data['total']} passed.")

    def _on_battle_complete(self, data: dict) -> None:
        if not self.battle or data["battle_id"] != self.battle["battle_id"]:
            return
        self.result = data
        self.phase = "over"
        self._refresh_controls()
        me = self.user["name"] if self.user else None
        names = {p["name"]: p["display_name"] for p in (self.battle["you"], self.battle["opponent"])}
        if data["winner"] is None:
            headline = "Draw" if data["reason"] != "aborted" else "Battle aborted"
        else:
            headline = "You won!" if data["winner"] == me else f"{names.get(data['winner'], data['winner'])} won"
        reason = {"solved": "solved", "forfeit": "by forfeit", "time_limit": "time is up",
                  "disconnect": "by disconnection", "aborted": "aborted"}.get(data["reason"], data["reason"])
        ratings = "".join(
            f"<li>{_esc(names.get(r['name'], r['name']))}: {r['before']:.0f} → {r['after']:.0f} "
            f"({r['after'] - r['before']:+.0f})</li>" for r in data["ratings"])
        codes = "".join(f"<p><b>{_esc(names.get(c['name'], c['name']))}</b></p>{_pre(c['code'])}"
                        for c in data["codes"])
        note = f"<p>{_esc(data['note'])}</p>" if data.get("note") else ""
        unrated = "" if data["ranked"] else "<p>Casual battle: ratings do not change.</p>"
        self.outcome.value = (f"<h3>{_esc(headline)} ({_esc(reason)})</h3>{note}{unrated}"
                              f"<ul>{ratings}</ul>{codes}")
        self.clock.value = ""
        self._say(f"{headline}. Find another opponent when you are ready.")

    def _on_battle_elsewhere(self, data: dict) -> None:
        if data["open_elsewhere"]:
            self.phase = "idle"
            self._refresh_controls()
            self._say("Your battle is played in another window now.")

    def _on_error(self, data: dict) -> None:
        if data.get("event") is None:  # a refused frame; refused events are shown from their acks
            self._say(f"{data['message']} ({data['code']})", error=True)
