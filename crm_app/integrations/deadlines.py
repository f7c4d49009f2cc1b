"""A hard total deadline for one blocking HTTP call through httpx.

httpx's timeouts are per operation: connect, each write, each read. A server that sends a byte every few
seconds (headers or body) never lets a read time out, so one call can last as long as the server likes.
`Deadline` bounds the whole call instead: it follows the sockets the call opens (httpcore's `trace`
extension reports each connection and TLS upgrade), and when the time is up a timer shuts them down. A
blocked read then returns at once, in whatever thread it waits, the call fails, and the caller asks
`expired` to tell a deadline from any other failure. Nothing is left running behind the caller.

The one part it cannot cut short is the name lookup before connecting (the operating system's resolver,
bounded by its own timeouts); a connection that would start after the deadline is refused instead.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpcore
import httpx

_OPENED = ("connection.connect_tcp.complete", "connection.start_tls.complete")
_OPENING = "connection.connect_tcp.started"


class Deadline:
    """Shut down every socket of the calls it watches once `seconds` have passed since `__enter__`.

    Use: `with Deadline(10) as deadline:` around the call, with `deadline.watch` as the httpx client's
    "request" event hook; after a failure, `deadline.expired` says whether the deadline caused it.
    """

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("a deadline needs a positive number of seconds")
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def watch(self, request: httpx.Request) -> None:
        """The httpx "request" event hook: follow the connections this request opens."""
        request.extensions = {**request.extensions, "trace": self._trace}

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == _OPENING and self.expired:
            raise httpcore.ConnectTimeout("the call's deadline passed")
        if event not in _OPENED:
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Wake whoever reads or writes `sock`: they see the connection end (closing is left to its owner)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed, or never connected
