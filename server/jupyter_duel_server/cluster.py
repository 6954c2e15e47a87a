"""Several service processes (workers) on one database, joined by Redis (docs/decisions/0015-several-workers.md).

Each worker is a whole service with an id (``DuelService.worker_id``) and an address of its own
(``DuelService.worker_url``). What crosses processes goes through Redis:

- Socket.IO emits to a player or a connection (python-socketio's ``AsyncRedisManager``; the service's ``emit``
  keeps an emit to a connection of this process local). The mirror (``relay``) never crosses: a battle and the
  connections that play it live on one worker.
- Leases: ``<prefix>:lease:<worker>`` lives while its worker beats (``DuelService.worker_lease_s``). A worker
  that finds its lease gone stops at once (its battles may be carried on by another worker by then).
- Battle ownership: ``<prefix>:owner`` maps each running battle to its worker, ``<prefix>:playing`` each of its
  players to it. A worker carries on a battle (``claim``) only if it owns it already or its owner's lease is
  gone, in one Lua script: never two workers for one battle.
- Requests between workers (``call``, answered; ``cast``, not): one pub/sub channel per worker. The lobby (queue,
  challenges, presence, the class view) lives on one worker, ``DuelService.lobby_worker``: the others forward
  lobby events and presence to it, and it opens each battle on a worker of one of its players.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import TYPE_CHECKING, Awaitable, Callable

import redis.asyncio as aioredis
import socketio

from .protocol import ServiceError

if TYPE_CHECKING:
    from .service import DuelService

# Claim battles: each one unowned, owned by this worker, or owned by a worker whose lease is gone.
_CLAIM = """
local out = {}
for i = 2, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if (not owner) or owner == ARGV[1] or redis.call('EXISTS', KEYS[2] .. owner) == 0 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[1])
    table.insert(out, ARGV[i])
  end
end
return out
"""

# Extend the lease only while it is still this process's.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


def redis_pool(url: str, max_connections: int) -> aioredis.Redis:
    """A client whose pool holds at most ``max_connections`` and makes a caller wait for a free one (redis-py's
    default pool raises instead, and python-socketio then drops the emit)."""
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=20)
    return aioredis.Redis(connection_pool=pool)


class RedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis client manager on a pool of ``max_connections`` that waits when all are busy."""

    def __init__(self, url: str, max_connections: int, channel: str, **kwargs):
        super().__init__(url, channel=channel, **kwargs)
        self.max_connections = max_connections

    def _redis_connect(self):
        self.redis = redis_pool(self.redis_url, self.max_connections)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


class Cluster:
    """This worker's lease, the battles' owners and the requests between workers."""

    def __init__(self, service: "DuelService"):
        self.service = service
        self.log = service.log
        self.me = service.worker_id
        self.prefix = service.redis_prefix
        self.redis = redis_pool(service.redis_url, service.redis_max_connections)
        self.token = secrets.token_hex(8)  # this process's lease value
        self.handlers: dict[str, Callable[..., Awaitable]] = {}
        self._replies: dict[str, asyncio.Future] = {}
        self._pubsub = None
        self._claim = self.redis.register_script(_CLAIM)
        self._renew = self.redis.register_script(_RENEW)
        self.workers_seen: set[str] = set()  # workers alive at the last beat (the lobby's view)
        self.worker_gone: Callable[[str], Awaitable] | None = None

    # ------------------------------------------------------------ keys

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def channel(self, worker: str) -> str:
        return self._key("to", worker)

    # ------------------------------------------------------------ lease

    async def start(self) -> None:
        """Take this worker's lease (waiting for a previous process's to run out: it may still be running),
        say where this worker listens, and listen to requests."""
        # Listening first: the other workers may write to this one as soon as its lease is there.
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.channel(self.me))
        lease = self._key("lease", self.me)
        ms = int(self.service.worker_lease_s * 1000)
        waited = False
        while not await self.redis.set(lease, self.token, nx=True, px=ms):
            if not waited:
                self.log.warning("jupyter-duel: worker %s: waiting for the previous process's lease to run out",
                                 self.me)
                waited = True
            await asyncio.sleep(0.2)
        await self.redis.hset(self._key("workers"), self.me, self.service.worker_url)
        self.service.spawn(self._listen())

    async def beat(self) -> bool:
        """Renew the lease. False: it had run out (this process stalled longer than the lease) and is taken
        again; the battles another worker claimed meanwhile are no longer this worker's (``owned``). A lease
        held by another process of this worker id stops this one at once."""
        ms = int(self.service.worker_lease_s * 1000)
        lease = self._key("lease", self.me)
        if await self._renew(keys=[lease], args=[self.token, ms]):
            return True
        if await self.redis.set(lease, self.token, nx=True, px=ms):
            self.log.error("jupyter-duel: worker %s: its lease had run out; taken again", self.me)
            return False
        self.log.critical("jupyter-duel: worker %s: another process holds this worker's lease: stopping", self.me)
        os._exit(3)

    async def owned(self, battle_ids: list[str]) -> set[str]:
        """Which of ``battle_ids`` this worker still owns."""
        if not battle_ids:
            return set()
        owners = await self.redis.hmget(self._key("owner"), battle_ids)
        return {b for b, o in zip(battle_ids, owners) if o is not None and o.decode() == self.me}

    async def alive_workers(self) -> set[str]:
        workers = await self.redis.hkeys(self._key("workers"))
        alive = set()
        for w in workers:
            w = w.decode()
            if await self.redis.exists(self._key("lease", w)):
                alive.add(w)
        return alive

    async def close(self) -> None:
        """Give the lease back: a clean stop has flushed everything, so another worker may carry on at once."""
        try:
            await self._renew(keys=[self._key("lease", self.me)], args=[self.token, 1])
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await self.redis.aclose()
        except Exception:
            self.log.exception("jupyter-duel: worker %s: closing the Redis connection failed", self.me)

    # ------------------------------------------------------------ battles' owners

    async def claim(self, battle_ids: list[str]) -> list[str]:
        """The battles of ``battle_ids`` this worker now owns (see the module's docstring)."""
        if not battle_ids:
            return []
        got = await self._claim(keys=[self._key("owner"), self._key("lease", "")], args=[self.me, *battle_ids])
        return [b.decode() for b in got]

    async def orphans(self) -> list[str]:
        """Running battles whose owner's lease is gone."""
        owners = await self.redis.hgetall(self._key("owner"))
        out = []
        for battle_id, owner in owners.items():
            owner = owner.decode()
            if owner != self.me and not await self.redis.exists(self._key("lease", owner)):
                out.append(battle_id.decode())
        return out

    async def own(self, battle_id: str, names: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key("owner"), battle_id, self.me)
            for name in names:
                pipe.hset(self._key("playing"), name, battle_id)
            await pipe.execute()

    async def release(self, battle_id: str, names: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("owner"), battle_id)
            for name in names:
                pipe.hdel(self._key("playing"), name)
            await pipe.execute()

    async def owner_of(self, battle_id: str) -> tuple[str | None, str | None]:
        """(worker, its address) running ``battle_id``, or (None, None)."""
        owner = await self.redis.hget(self._key("owner"), battle_id)
        if owner is None:
            return None, None
        url = await self.redis.hget(self._key("workers"), owner)
        return owner.decode(), url.decode() if url is not None else None

    async def battle_of(self, name: str) -> str | None:
        battle_id = await self.redis.hget(self._key("playing"), name)
        return battle_id.decode() if battle_id is not None else None

    async def playing(self) -> dict[str, str]:
        """Every player in a running battle -> its id."""
        return {k.decode(): v.decode() for k, v in (await self.redis.hgetall(self._key("playing"))).items()}

    # ------------------------------------------------------------ requests between workers

    async def call(self, worker: str, op: str, **kwargs):
        """Run ``op`` on ``worker`` and return its answer; its ServiceError is raised here, and a worker that
        does not answer is ``worker_unavailable``."""
        rid = secrets.token_hex(8)
        future = asyncio.get_running_loop().create_future()
        self._replies[rid] = future
        try:
            heard = await self.redis.publish(self.channel(worker), json.dumps(
                {"op": op, "kw": kwargs, "reply": rid, "from": self.me}))
            if not heard:
                raise ServiceError("worker_unavailable", f"worker {worker} is not running; try again shortly")
            try:
                answer = await asyncio.wait_for(future, self.service.rpc_timeout_s)
            except asyncio.TimeoutError:
                raise ServiceError("worker_unavailable", f"worker {worker} did not answer in time") from None
        finally:
            self._replies.pop(rid, None)
        if "error" in answer:
            raise ServiceError(*answer["error"])
        return answer.get("result")

    async def cast(self, worker: str, op: str, **kwargs) -> int:
        """Send ``op`` to ``worker`` without waiting for an answer (in order with this worker's other casts);
        how many processes heard it."""
        return await self.redis.publish(self.channel(worker), json.dumps({"op": op, "kw": kwargs, "from": self.me}))

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: listen again once it is back
                self.log.exception("jupyter-duel: worker %s: listening to Redis failed; again in 1 s", self.me)
                await asyncio.sleep(1.0)
                try:
                    self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                    await self._pubsub.subscribe(self.channel(self.me))
                except Exception:
                    pass

    async def _listen_once(self) -> None:
        async for message in self._pubsub.listen():
            try:
                msg = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            if "reply_to" in msg:
                future = self._replies.get(msg["reply_to"])
                if future is not None and not future.done():
                    future.set_result(msg)
                continue
            if "reply" in msg:  # answered requests run beside the others
                self.service.spawn(self._answer(msg))
            else:  # casts run one after the other, in the order they were sent
                try:
                    await self.handlers[msg["op"]](msg["from"], **msg["kw"])
                except Exception:
                    self.log.exception("jupyter-duel: worker %s: %s from %s failed", self.me, msg.get("op"),
                                       msg.get("from"))

    async def _answer(self, msg: dict) -> None:
        try:
            answer = {"result": await self.handlers[msg["op"]](msg["from"], **msg["kw"])}
        except ServiceError as exc:
            answer = {"error": [exc.code, str(exc), exc.retry_after]}
        except Exception:
            self.log.exception("jupyter-duel: worker %s: %s from %s failed", self.me, msg["op"], msg["from"])
            answer = {"error": ["internal", "the service failed to handle this event", None]}
        await self.redis.publish(self.channel(msg["from"]), json.dumps({**answer, "reply_to": msg["reply"]}))

    def on(self, op: str, handler: Callable[..., Awaitable]) -> None:
        """``handler(sender, **kwargs)`` answers ``op``."""
        self.handlers[op] = handler

