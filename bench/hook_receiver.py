"""A minimal webhook receiver for bench/webhooks.py: HTTP/1.1 keep-alive on bare asyncio streams, nothing else.

    .venv/bin/python bench/hook_receiver.py PORT [--fail NAME:COUNT]

The sandbox's receiver (Starlette under granian, which also keeps and verifies each request) answered a bare
pooled client at about 76 requests/s on this machine: it, not the relay, was the benchmark's ceiling. This one
only notes who got what and when:
- `POST /hooks/NAME`: answers 200 (or 500 to NAME's first COUNT requests, `--fail`), keeps
  `[name, arrival time, status, webhook-id]`;
- `GET /requests`: everything kept, as JSON `{"requests": [...]}`; `DELETE /requests`: forget it.
Not a general HTTP server: no chunked bodies, no pipelining beyond what keep-alive needs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

KEPT: list[list] = []
FAIL: dict[str, int] = {}


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 500: "Internal Server Error", 404: "Not Found"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n\r\n").encode() + body


def _answer(method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    if path.startswith("/hooks/") and method == "POST":
        name = path[len("/hooks/"):]
        status = 200
        if FAIL.get(name, 0) > 0:
            FAIL[name] -= 1
            status = 500
        KEPT.append([name, time.time(), status, headers.get("webhook-id")])
        return status, b'{"ok":true}'
    if path == "/requests" and method == "GET":
        return 200, json.dumps({"requests": KEPT}).encode()
    if path == "/requests" and method == "DELETE":
        KEPT.clear()
        return 200, b'{"cleared":true}'
    return 404, b"{}"


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            path = target.split("?", 1)[0]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    key, value = line.split(":", 1)
                    headers[key.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            status, body = _answer(method, path, headers)
            writer.write(_response(status, body))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--fail", action="append", default=[], help="NAME:COUNT: answer 500 to the first COUNT")
    args = parser.parse_args()
    for item in args.fail:
        name, count = item.split(":")
        FAIL[name] = int(count)
    asyncio.run(main(args.port))
