"""A deliberately slow OpenAI-compatible server: it reads a chat completion request, then stalls or trickles.

The sandbox's fake OpenAI sleeps before answering (`mode: slow`), which a read timeout already catches. This one
also plays the servers per-operation timeouts never catch: the answer's headers or body sent a byte at a time.
It speaks just enough HTTP/1.1 (one request per connection) and can be stopped at once, whatever it is doing.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

COMPLETION = json.dumps({
    "id": "chatcmpl-slow", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": '{"answer": "tarde", "confidence": 0.9, '
                                                                       '"sources": []}'},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
MODES = ("stall", "trickle_body", "trickle_headers")


class SlowAI:
    """The server's state: what it plays, when each request arrived, and the stop switch."""

    def __init__(self, mode: str, *, stall_seconds: float = 20.0, byte_every: float = 0.2) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self.mode, self.stall_seconds, self.byte_every = mode, stall_seconds, byte_every
        self.requests: list[float] = []  # monotonic arrival times
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._clients: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/v1"

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._clients.append(conn)
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        for sock in (self._listener, *self._clients):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _answer(self, conn: socket.socket) -> None:
        try:
            _read_request(conn)
            self.requests.append(time.monotonic())
            if self.mode == "stall":
                self.stopped.wait(self.stall_seconds)
                self._send(conn, _response(COMPLETION))
            elif self.mode == "trickle_body":
                head, body = _response(COMPLETION * 50).split(b"\r\n\r\n", 1)
                self._send(conn, head + b"\r\n\r\n")
                self._trickle(conn, body)
            else:
                self._trickle(conn, _response(COMPLETION))
        except OSError:
            pass

    def _send(self, conn: socket.socket, data: bytes) -> None:
        if not self.stopped.is_set():
            conn.sendall(data)

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if self.stopped.wait(self.byte_every):
                return
            conn.sendall(data[i:i + 1])


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise OSError("closed")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += conn.recv(65536)


def _response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


@contextmanager
def slow_ai(mode: str, **options) -> Iterator[SlowAI]:
    """Serve `SlowAI(mode)` in a daemon thread; stop it (every connection dropped) on the way out."""
    server = SlowAI(mode, **options)
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        yield server
    finally:
        server.stop()
