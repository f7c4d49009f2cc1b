"""A Reflex tab over a real websocket, for attack tests: Socket.IO v5 / Engine.IO v4 on `/_event`, as state.js
speaks it, with whatever client token and cookies the test chooses (someone else's token, no cookie, ...).

It records every update the server sends (deltas and frontend events), in order, so a test can assert what
reached the client. python-socketio's async client needs aiohttp (not installed), so this speaks websocket
through wsproto on an asyncio stream, as bench/realtime.py does.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import reflex as rx

NS_CONNECT, NS_EVENT = "40/_event,", "42/_event,"
ROOT = rx.State.get_full_name()


def handler_name(state_cls: type[rx.State], handler: str) -> str:
    """The full event name of `state_cls.handler`, as the frontend sends it."""
    return f"{state_cls.get_full_name()}.{handler}"


class ReflexSocket:
    """One tab: a client token, the cookies of its websocket handshake, and everything the server sent it."""

    def __init__(self, base: str, *, token: str | None = None, cookies: dict[str, str] | None = None,
                 origin: str | None = None) -> None:
        self.base, self.token = base, token or str(uuid.uuid4())
        self.cookies = dict(cookies or {})
        self.origin = base if origin is None else origin
        self.updates: list[dict[str, Any]] = []
        self._conn = self._writer = self._reader = None
        self._changed: asyncio.Event | None = None
        self._opened: asyncio.Future | None = None
        self._namespace: asyncio.Future | None = None
        self._parts: list[str] = []
        self._pongs = asyncio.Event()
        self.errors: list[str] = []

    # ---- connection ------------------------------------------------------------------------------------------

    async def connect(self, path: str = "/") -> ReflexSocket:
        """Open the websocket and send the boot event (hydrate and on_load of `path`) in the CONNECT packet."""
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import Request

        loop = asyncio.get_running_loop()
        self._opened, self._namespace, self._changed = loop.create_future(), loop.create_future(), asyncio.Event()
        host, port = self.base.split("//", 1)[1].split(":")
        stream, self._writer = await asyncio.open_connection(host, int(port))
        self._conn = WSConnection(ConnectionType.CLIENT)
        headers = [(b"origin", self.origin.encode())] if self.origin else []
        if self.cookies:
            headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()).encode()))
        self._writer.write(self._conn.send(Request(
            host=f"{host}:{port}", target=f"/_event/?EIO=4&transport=websocket&token={self.token}",
            extra_headers=headers)))
        self._reader = loop.create_task(self._read(stream))
        await asyncio.wait_for(self._opened, 30)
        self._send(NS_CONNECT + json.dumps({"event": event(f"{ROOT}.hydrate_and_load", path=path)}))
        await asyncio.wait_for(self._namespace, 30)
        return self

    async def close(self) -> None:
        from wsproto.events import CloseConnection

        if self._writer is None:
            return
        try:
            self._writer.write(self._conn.send(CloseConnection(code=1000)))
            await self._writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        self._reader.cancel()
        self._writer.close()
        self._writer = None

    async def __aenter__(self) -> ReflexSocket:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---- events ----------------------------------------------------------------------------------------------

    async def emit(self, name: str, payload: dict | None = None, *, path: str = "/") -> None:
        """Send one event, as state.js does."""
        self._send(NS_EVENT + json.dumps(["event", event(name, payload, path=path)]))
        await self._writer.drain()

    async def wait_for(self, predicate, timeout: float = 30.0, *, start: int = 0) -> dict[str, Any]:
        """The first update from index `start` on that satisfies `predicate`; waits for it until `timeout`."""
        async def found() -> dict[str, Any]:
            seen = start
            while True:
                for update in self.updates[seen:]:
                    if predicate(update):
                        return update
                seen = len(self.updates)
                if self.errors:
                    raise ConnectionError(self.errors[-1])
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(found(), timeout)

    async def settle(self, marker: str, values: tuple = (True, False), rounds: int = 2) -> None:
        """Wait until the server has processed what was sent: `marker` is a handler that always changes one var
        (called with `values` in turn); a tab's events run one after another, and rounds repeat until one brings
        nothing but the marker's own update (so events chained by earlier ones have run too)."""
        name, var = marker.rsplit(".", 1)[0], marker.rsplit(".", 1)[1].removeprefix("set_")
        for i in range(rounds + 3):
            before = len(self.updates)
            value = values[i % len(values)]
            await self.emit(marker, {"value": value})
            await self.wait_for(lambda u, v=value: _sets(u, name, var, v), start=before)
            if i + 1 >= rounds and len(self.updates) == before + 1:
                return

    async def ping(self, timeout: float = 10.0) -> None:
        """A Socket.IO ping and its pong: whatever the server wrote to this socket before the pong was read."""
        self._pongs.clear()
        self._send(NS_EVENT + json.dumps(["ping"]))
        await self._writer.drain()
        await asyncio.wait_for(self._pongs.wait(), timeout)

    def text(self) -> str:
        """Everything the server sent this tab, as one string (search it for markers)."""
        return json.dumps(self.updates, default=str)

    def scripts(self) -> list[str]:
        """The JavaScript of every `rx.call_script` the server asked this tab to run."""
        return [e.get("payload", {}).get("javascript_code", "") for u in self.updates for e in u.get("events") or []
                if e.get("name") == "_call_script"]

    # ---- wire ------------------------------------------------------------------------------------------------

    def _send(self, text: str) -> None:
        from wsproto.events import TextMessage

        self._writer.write(self._conn.send(TextMessage(data=text)))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, TextMessage

        try:
            while True:
                data = await stream.read(262144)
                self._conn.receive_data(data or None)
                for ws_event in self._conn.events():
                    if isinstance(ws_event, TextMessage):
                        self._parts.append(ws_event.data)
                        if ws_event.message_finished:
                            text, self._parts = "".join(self._parts), []
                            self._on_packet(text)
                    elif isinstance(ws_event, Ping):
                        self._writer.write(self._conn.send(ws_event.response()))
                    elif isinstance(ws_event, (RejectConnection, CloseConnection)):
                        raise ConnectionError(f"websocket {type(ws_event).__name__}")
                    elif not isinstance(ws_event, AcceptConnection):
                        continue
                if not data:
                    raise ConnectionError("the server closed the connection")
        except ConnectionError as exc:
            self._fail(repr(exc))

    def _fail(self, reason: str) -> None:
        self.errors.append(reason)
        for future in (self._opened, self._namespace):
            if future is not None and not future.done():
                future.set_exception(ConnectionError(reason))
        if self._changed is not None:
            self._changed.set()

    def _on_packet(self, text: str) -> None:
        if text == "2":  # Engine.IO ping
            self._send("3")
        elif text.startswith(NS_EVENT):
            name, *args = json.loads(text[len(NS_EVENT):])
            if name == "event" and args and isinstance(args[0], dict):
                self.updates.append(args[0])
                self._changed.set()
            elif name == "ping":  # the server's answer to our ping ("pong")
                self._pongs.set()
        elif text.startswith("0") and not self._opened.done():
            self._opened.set_result(text)
        elif text.startswith(NS_CONNECT) and not self._namespace.done():
            self._namespace.set_result(text)
        elif text.startswith(("44", "41", "1")):
            self._fail(text[:200])


def event(name: str, payload: dict | None = None, *, path: str = "/") -> dict[str, Any]:
    """One event as the frontend sends it, with the router data of the page at `path` (query string included)."""
    pathname, _, search = path.partition("?")
    router = {"pathname": pathname, "asPath": path}
    if search:
        router["query"] = dict(pair.split("=", 1) for pair in search.split("&") if "=" in pair)
    return {"name": name, "payload": payload or {}, "router_data": router}


def _sets(update: dict, state: str, var: str, value: Any) -> bool:
    return (update.get("delta") or {}).get(state, {}).get(f"{var}_rx_state_") == value


def ticket_in(script: str) -> str | None:
    """The login ticket a script hands to `/api/auth/exchange` (POSTed in JSON, or in the URL as it once was)."""
    found = re.search(r'(?:"ticket": "|ticket=)([A-Za-z0-9_\-]+)', script)
    return found.group(1) if found and "/api/auth/exchange" in script else None
