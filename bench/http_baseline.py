"""Our health and readiness routes against a bare ASGI endpoint, on the same server, in one run.

    .venv/bin/python bench/http_baseline.py [--requests 2000] [--concurrency 20]

Uses the configured DATABASE_URL / REDIS_URL (readiness touches both). Absolute
numbers on shared machines are noise; read the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from crm_app.api.routes import create_api  # noqa: E402


async def bare(scope, receive, send):
    """The baseline: the least an ASGI endpoint can do."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"status":"ok"}'})


def build_app():
    """One server: `/bare` goes straight to the baseline, the rest to our routes."""
    api = create_api()

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/bare":
            return await bare(scope, receive, send)
        return await api(scope, receive, send)

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def hammer(url: str, requests: int, concurrency: int) -> tuple[list[float], float, dict[int, int]]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    async with httpx.AsyncClient(timeout=10) as client:
        async def worker():
            while not queue.empty():
                queue.get_nowait()
                start = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - start) * 1000)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return latencies, requests / elapsed, statuses


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def serve(port: int) -> None:
    """Run the server in its own process, so the client does not share its GIL."""
    uvicorn.run(build_app(), host="127.0.0.1", port=port, log_level="warning")


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/bare", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_until_up(port)
        print(f"{args.requests} requests per endpoint, concurrency {args.concurrency}, one uvicorn process")
        print(f"{'endpoint':<14}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}  statuses")
        for name, path in (("bare ASGI", "/bare"), ("/api/health", "/api/health"), ("/api/ready", "/api/ready")):
            lat, rps, statuses = asyncio.run(hammer(f"http://127.0.0.1:{port}{path}", args.requests,
                                                    args.concurrency))
            print(f"{name:<14}{rps:>10.0f}{pct(lat, 50):>10.2f}{pct(lat, 95):>10.2f}{pct(lat, 99):>10.2f}"
                  f"  {statuses}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
