"""A real kernel of a real Jupyter server, driven as a front end drives it: its websocket channels.

The test is the front end: it sends ``execute_request`` and ``comm_msg`` messages and reads everything the kernel
publishes on IOPub (streams, errors, the widgets' ``comm_open``/``comm_msg`` model state).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp


def _message(msg_type: str, content: dict, channel: str = "shell", session: str = "") -> dict:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "test", "session": session,
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "version": "5.4"},
        "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": [],
    }


class ServerKernel:
    """``async with ServerKernel(jupyter) as kernel``: a new kernel of ``jupyter`` (helpers.JupyterProcess),
    shut down on the way out."""

    def __init__(self, jupyter, kernel_name: str = "python3"):
        self.jupyter = jupyter
        self.kernel_name = kernel_name
        self.session = uuid.uuid4().hex
        self.kernel_id = ""
        self.messages: list[dict] = []  # every IOPub message, in order
        self._replies: dict[str, asyncio.Future] = {}
        self._arrived = asyncio.Event()

    async def __aenter__(self) -> "ServerKernel":
        self.http = aiohttp.ClientSession(headers={"Authorization": f"token {self.jupyter.token}"})
        async with self.http.post(self.jupyter.url("api/kernels"), json={"name": self.kernel_name}) as response:
            assert response.status == 201, await response.text()
            self.kernel_id = (await response.json())["id"]
        url = self.jupyter.url(f"api/kernels/{self.kernel_id}/channels", session_id=self.session)
        self.ws = await self.http.ws_connect(url.replace("http://", "ws://"), max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.execute("pass", timeout=120)  # the kernel is up and answering
        return self

    async def __aexit__(self, *exc):
        self._reader.cancel()
        await self.ws.close()
        async with self.http.delete(self.jupyter.url(f"api/kernels/{self.kernel_id}")):
            pass
        await self.http.close()

    async def _read(self):
        async for frame in self.ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            msg = json.loads(frame.data)
            if msg.get("channel") == "iopub":
                self.messages.append(msg)
                self._arrived.set()
            elif msg.get("channel") == "shell":
                future = self._replies.pop(msg["parent_header"].get("msg_id"), None)
                if future and not future.done():
                    future.set_result(msg)

    async def send(self, msg_type: str, content: dict) -> str:
        msg = _message(msg_type, content, session=self.session)
        await self.ws.send_str(json.dumps(msg))
        return msg["header"]["msg_id"]

    async def execute(self, code: str, timeout: float = 60) -> dict:
        """Run ``code``; wait for its reply and for the kernel to go idle. Returns ``{"reply", "stdout",
        "stderr", "errors", "results"}`` of this execution."""
        msg = _message("execute_request", {"code": code, "silent": False, "store_history": False,
                                           "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                       session=self.session)
        msg_id = msg["header"]["msg_id"]
        self._replies[msg_id] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps(msg))
        reply = await asyncio.wait_for(self._replies[msg_id], timeout)
        await self.wait_for(lambda m: m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                            and m["content"]["execution_state"] == "idle", timeout)
        mine = [m for m in self.messages if m["parent_header"].get("msg_id") == msg_id]
        return {
            "reply": reply["content"],
            "stdout": "".join(m["content"]["text"] for m in mine
                              if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"),
            "stderr": "".join(m["content"]["text"] for m in mine
                              if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"),
            "errors": [m["content"] for m in mine if m["msg_type"] == "error"],
            "results": [m["content"] for m in mine if m["msg_type"] in ("execute_result", "display_data")],
        }

    async def wait_for(self, predicate, timeout: float = 30, start: int = 0) -> dict:
        """The first IOPub message (from index ``start`` on) for which ``predicate`` holds, waiting for it."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = start
        while True:
            for msg in self.messages[seen:]:
                if predicate(msg):
                    return msg
            seen = max(seen, len(self.messages))
            self._arrived.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("no such IOPub message")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass


class WidgetFrontend:
    """The test as a widget front end of ``kernel``: the models the kernel opens on IOPub (``comm_open``, then
    ``comm_msg`` updates) and the messages a front end sends (``update`` for a value, ``custom`` for a click)."""

    TARGET = "jupyter.widget"

    def __init__(self, kernel: ServerKernel):
        self.kernel = kernel

    def models(self) -> dict[str, dict]:
        """comm_id -> the model's state now, from every IOPub message so far."""
        state: dict[str, dict] = {}
        for msg in self.kernel.messages:
            content = msg["content"]
            if msg["msg_type"] == "comm_open" and content.get("target_name") == self.TARGET:
                state[content["comm_id"]] = dict(content["data"]["state"])
            elif msg["msg_type"] == "comm_msg" and content["comm_id"] in state:
                data = content["data"]
                if data.get("method") in ("update", "echo_update"):
                    state[content["comm_id"]].update(data["state"])
            elif msg["msg_type"] == "comm_close":
                state.pop(content["comm_id"], None)
        return state

    def find(self, dom_class: str) -> str:
        """The comm id of the (newest) model carrying ``dom_class``."""
        found = [cid for cid, s in self.models().items() if dom_class in s.get("_dom_classes", ())]
        assert found, f"no widget model with class {dom_class}"
        return found[-1]

    def value(self, dom_class: str, key: str = "value"):
        return self.models()[self.find(dom_class)].get(key)

    def layout(self, dom_class: str) -> dict:
        """The state of the widget's Layout model."""
        models = self.models()
        return models[models[self.find(dom_class)]["layout"].removeprefix("IPY_MODEL_")]

    async def until(self, dom_class: str, predicate, key: str = "value", timeout: float = 30):
        """Wait until the model's ``key`` satisfies ``predicate``; returns it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            models = self.models()
            found = [cid for cid, s in models.items() if dom_class in s.get("_dom_classes", ())]
            if found:
                value = models[found[-1]].get(key)
                if predicate(value):
                    return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{dom_class}.{key} never matched; last: {value if found else None!r}")
            start = len(self.kernel.messages)
            try:
                await self.kernel.wait_for(lambda m: m["msg_type"] == "comm_msg", timeout=1, start=start)
            except TimeoutError:
                pass

    async def comm_msg(self, comm_id: str, data: dict) -> None:
        await self.kernel.send("comm_msg", {"comm_id": comm_id, "data": data})

    async def set(self, dom_class: str, **state) -> None:
        """The user changed a value (``update``, as ipywidgets' front end sends it)."""
        await self.comm_msg(self.find(dom_class), {"method": "update", "state": state, "buffer_paths": []})

    async def click(self, dom_class: str) -> None:
        await self.comm_msg(self.find(dom_class), {"method": "custom", "content": {"event": "click"}})
