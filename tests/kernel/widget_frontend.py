"""A real IPython kernel driven over ZMQ by jupyter_client, and a minimal ipywidgets front end: it reads the widget
models' state from IOPub (``comm_open``, ``comm_msg`` updates) and acts as a browser would, by sending real
``comm_msg`` (a button's click) and ``comm_close`` messages on the shell channel."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time

from jupyter_client.manager import AsyncKernelManager


class KernelFront:
    def __init__(self, km: AsyncKernelManager):
        self.km = km
        self.kc = km.client()
        self.models: dict[str, dict] = {}  # comm id -> the widget model's state, as a front end holds it
        self.closed: set[str] = set()  # comms the kernel closed
        self.outputs: dict[str, list[str]] = {}  # execute request id -> its stdout/stderr and errors
        self.idle: set[str] = set()  # requests the kernel has finished (all their output is on IOPub before)
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None

    async def start(self) -> "KernelFront":
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self._reader = asyncio.create_task(self._read_iopub())
        return self

    async def stop(self) -> None:
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        self.kc.stop_channels()

    async def _read_iopub(self) -> None:
        while True:
            msg = await self.kc.get_iopub_msg()
            kind, content = msg["header"]["msg_type"], msg["content"]
            parent = msg.get("parent_header", {}).get("msg_id")
            if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
                self.models[content["comm_id"]] = dict(content["data"]["state"])
            elif kind == "comm_msg" and content["comm_id"] in self.models:
                data = content["data"]
                if data.get("method") in ("update", "echo_update"):
                    self.models[content["comm_id"]].update(data.get("state", {}))
            elif kind == "comm_close":
                self.closed.add(content["comm_id"])
            elif kind == "stream" and parent in self.outputs:
                self.outputs[parent].append(content["text"])
            elif kind == "error" and parent in self.outputs:
                self.outputs[parent].append("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                self.idle.add(parent)
            self._changed.set()

    async def run(self, code: str, timeout: float = 60) -> str:
        """Execute ``code``; its printed output. An exception in the kernel fails the test with its traceback."""
        msg_id = self.kc.execute(code)
        self.outputs[msg_id] = []
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        await self.until(lambda: msg_id in self.idle, timeout, "the kernel to finish the request")
        self.idle.discard(msg_id)
        text = "".join(self.outputs.pop(msg_id))
        assert reply["content"]["status"] == "ok", text
        return text

    async def until(self, condition, timeout: float = 30, what: str = ""):
        """Wait until ``condition()`` holds (re-checked whenever IOPub brings something); return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                shown = {s.get("_dom_classes", ())[0]: s.get("value") for s in self.models.values()
                         if s.get("_model_name") == "HTMLModel" and s.get("_dom_classes")}
                raise AssertionError(f"timed out waiting for {what or condition}; the HTML shown: {shown}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))

    def find(self, dom_class: str) -> str:
        """The comm id of the open widget model with ``dom_class`` among its ``_dom_classes``."""
        found = [cid for cid, state in self.models.items()
                 if dom_class in (state.get("_dom_classes") or ()) and cid not in self.closed]
        assert len(found) == 1, (dom_class, found)
        return found[0]

    def state(self, dom_class: str) -> dict:
        return self.models[self.find(dom_class)]

    def click(self, comm_id: str) -> None:
        """What a browser sends when a Button view is clicked."""
        self._send("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})

    def close_comm(self, comm_id: str) -> None:
        """What a browser sends when it closes a widget model."""
        self._send("comm_close", {"comm_id": comm_id, "data": {}})

    def _send(self, kind: str, content: dict) -> None:
        msg = self.kc.session.msg(kind, content)
        self.kc.shell_channel.send(msg)


@contextlib.asynccontextmanager
async def kernel():
    """A real ``python3`` kernel of this interpreter (so with the packages the tests use), in this environment."""
    km = AsyncKernelManager(kernel_name="python3")
    km.kernel_spec.argv[0] = sys.executable  # this interpreter, whatever the kernelspec on the path says
    await km.start_kernel(env=dict(os.environ))
    front = KernelFront(km)
    try:
        await front.start()
        yield front
    finally:
        await front.stop()
        await km.shutdown_kernel(now=True)
