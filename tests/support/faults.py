"""Fault injection for resilience tests: the real-time listener's Redis connection, and a TCP proxy.

`kill_listener` drops only this test run's listener (its name and db), never other runs' subscribers on
the same Redis server. `FaultProxy` sits between the app and a server and passes, refuses or blackholes.
"""

from __future__ import annotations

import asyncio
import threading

from crm_app.services.core.realtime import LISTENER_NAME


def listener_connections(redis) -> list[str]:
    """Client ids of the real-time listeners subscribed on this client's db (CLIENT LIST)."""
    db = str(redis.connection_pool.connection_kwargs.get("db", 0))
    return [c["id"] for c in redis.client_list(_type="pubsub") if c["name"] == LISTENER_NAME and c["db"] == db]


def kill_listener(redis) -> list[str]:
    """`CLIENT KILL TYPE pubsub` on this db's real-time listeners (by id); returns the ids killed."""
    killed = []
    for client_id in listener_connections(redis):
        if redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "ID", client_id):
            killed.append(client_id)
    return killed


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in its own thread: `pass`, `refuse` or `blackhole` traffic to a target.

    - pass: bytes flow both ways.
    - refuse: the port is closed (ECONNREFUSED) and every open connection is reset, as when a server dies.
    - blackhole: connections are accepted and kept, but nothing flows either way and nothing is answered,
      as when a network drops packets; bytes held meanwhile flow on once the mode is `pass` again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._server: asyncio.AbstractServer | None = None
        self._flowing: asyncio.Event | None = None
        self._transports: set[asyncio.BaseTransport] = set()

    def start(self) -> int:
        """Listen on a free port; returns it."""
        self._thread.start()
        self._call(self._start())
        return self.port

    def set_mode(self, mode: str) -> None:
        """Switch to `pass`, `refuse` or `blackhole` (takes effect before this returns)."""
        if mode not in ("pass", "refuse", "blackhole"):
            raise ValueError(f"unknown proxy mode {mode!r}")
        self._call(self._set_mode(mode))

    def close(self) -> None:
        """Reset every connection, stop listening and stop the thread."""
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _set_mode(self, mode: str) -> None:
        previous, self.mode = self.mode, mode
        if mode == "refuse":
            if self._server is not None:
                self._server.close()
                self._server = None
            for transport in list(self._transports):
                transport.abort()
            self._transports.clear()
        elif previous == "refuse":
            await self._listen()
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()

    async def _shutdown(self) -> None:
        await self._set_mode("refuse")
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self._transports.add(client_writer.transport)
        try:
            await self._flowing.wait()  # blackhole: accepted, and nothing more
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._transports.add(upstream_writer.transport)
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._transports.discard(writer.transport)
            writer.transport.abort()
