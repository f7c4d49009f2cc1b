"""Real-time inbox and inbox at scale: webhook → tab update for N tabs, and the inbox in Chromium on 10k/1M.

    .venv/bin/python bench/realtime.py [--tabs 10,50,200] [--rounds 20] [--conversations 10000]
                                       [--messages 1000000] [--browser-repeat 5] [--skip-fanout] [--skip-browser]

It seeds a fresh PostgreSQL database (on TEST_DATABASE_URL's server) with bench/inbox_data.py: the demo tenant
with 10,000 conversations and 1,000,000 messages. Next to it, a small second tenant ("Bench RT": one inbox, one
supervisor) holds the fan-out tabs, so that their list re-queries stay small while the database is big.
Then it starts the whole product the way `make run` does (`python -m crm_app run`: Reflex in prod mode with
2 granian web workers and the Redis state manager, 2 hot SimpleWorkers, one worker each for `bot`, `default`
and `bulk`, the scheduler, the sandbox) on Redis db 8 (Reflex's state on db 7) and builds the frontend into
/tmp/web_bench.

Part 1, fan-out. N websocket clients speak Reflex's protocol (Socket.IO namespace /_event) as state.js does: connect to
`/_event?token=…` with the session cookie and the `hydrate_and_load` boot event for /inbox (so
`InboxLiveState.load` registers the tab for pushes), then `set_tab("all")`. Each round sends one signed
WhatsApp webhook with a unique text, and the clock runs per tab from just before the POST to the first state
delta whose rows show that text. Baselines from the same run and the same tabs:
  - publish → delta: a bare `crm_app.services.core.realtime.publish("conversation.updated")` to the first delta
    carrying the new `last_seq` (listener + modify_state + list re-query + socket, no webhook, no RQ);
  - socket round trip: socket.io `ping` → `pong` (transport only, no state).

Part 2, the inbox at scale in Chromium (Playwright, /usr/bin/chromium), as Ana (attendant, ~2,500 of the
10,000 conversations are hers): login click → first list row visible; click a row → its messages visible;
type a contact name in the search → every row shown matches. Each repeat uses a new browser context. The
baselines: loading /api/health in the page, and rendering the login page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
REFLEX_REDIS_DB = "7"
WEB_WORKDIR = "/tmp/web_bench"
DATA_DIR = "/tmp/crm_bench_rt_data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

RT_PHONE_NUMBER_ID = "190000000000077"
RT_WABA_ID = "290000000000077"
RT_APP_SECRET = "bench-rt-app-secret"
RT_EMAIL = "rt-supervisor@bench.local"
ROUND_TIMEOUT_S = 15.0
STATE = "reflex___state____state"
COOKIE = "crm_session"
NS_CONNECT, NS_EVENT = "40/_event,", "42/_event,"  # Reflex's Socket.IO namespace is /_event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def line(name: str, values: list[float], extra: str = "") -> str:
    if not values:
        return f"  {name:<44} no samples {extra}"
    return (f"  {name:<44} p50 {pct(values, 50):7.1f} ms  p95 {pct(values, 95):7.1f} ms  "
            f"p99 {pct(values, 99):7.1f} ms  max {max(values):7.1f} ms  n={len(values)} {extra}")


# ---- setup ---------------------------------------------------------------------------------------------------

def seed_rt_tenant(max_tabs: int) -> tuple[int, list[str]]:
    """The small fan-out tenant: inbox, one supervisor and `max_tabs` sessions. Returns (tenant id, tokens)."""
    from crm_app.config import get_settings
    from crm_app.db import session_scope
    from crm_app.models import User
    from crm_app.services import access
    from crm_app.services.channel import numbers
    from crm_app.services.demo import sandbox_graph_url

    with session_scope() as s:
        tenant, _ = access.ensure_tenant(s, name="Bench RT", slug="bench-rt")
        numbers.ensure_inbox(s, actor=None, tenant_id=tenant.id, name="Bench RT", phone_number_id=RT_PHONE_NUMBER_ID,
                             waba_id=RT_WABA_ID, display_number="+55 11 4000-0077",
                             access_token=get_settings().demo_wa_access_token.get_secret_value(),
                             app_secret=RT_APP_SECRET, verify_token="v", graph_base_url=sandbox_graph_url())
        access.ensure_user(s, actor=None, tenant_id=tenant.id, email=RT_EMAIL, name="RT Supervisor",
                           role="supervisor", password=uuid.uuid4().hex)
        tenant_id = tenant.id
    tokens = []
    with session_scope() as s:
        from sqlmodel import select

        user = s.exec(select(User).where(User.email == RT_EMAIL)).one()
        for _ in range(max_tabs):
            tokens.append(access.open_session(s, user=user, ip="127.0.0.1", user_agent="bench/realtime.py"))
    return tenant_id, tokens


def start_stack(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "crm_app", "run"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        if "CRM is running at" in log.read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    stop_stack(proc)
    raise SystemExit(f"the stack did not start; see {log}:\n{log.read_text(errors='replace')[-3000:]}")


def stop_stack(proc: subprocess.Popen) -> None:
    """SIGTERM the launcher (it stops its role groups), then kill whatever survived, by pid."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:
        p.kill()
    if alive:
        print(f"killed {len(alive)} processes that outlived the launcher", flush=True)


# ---- part 1: fan-out over Reflex's websocket -------------------------------------------------------------------

def webhook_body(i: int, text: str) -> bytes:
    wa_id = f"5511988{i % 5:06d}"
    body = {"object": "whatsapp_business_account", "entry": [{"id": RT_WABA_ID, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "551140000077", "phone_number_id": RT_PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": f"Cliente RT {i % 5}"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": f"wamid.rt.{uuid.uuid4().hex}", "timestamp": str(int(time.time())),
                          "type": "text", "text": {"body": text}}]}}]}]}
    return json.dumps(body, ensure_ascii=True).encode()


class Tab:
    """One attendant tab: a minimal Socket.IO v5 / Engine.IO v4 client over one websocket, as state.js uses it.

    python-socketio's AsyncClient needs aiohttp, which the project does not install, and simple-websocket's
    client leaves frames that arrive with the handshake unread; so this speaks websocket through wsproto
    (which python-engineio brings) on an asyncio stream, and timestamps each frame when its bytes are read.
    """

    def __init__(self, base: str, session_token: str, inbox_state: str):
        self.base, self.cookie, self.inbox_state = base, session_token, inbox_state
        self.token = str(uuid.uuid4())
        self.conn = None
        self.writer: asyncio.StreamWriter | None = None
        self.reader: asyncio.Task | None = None
        self.connected = False
        self.expect = None  # (predicate, started, future)
        self.errors: list[str] = []
        self.pong: asyncio.Future | None = None
        self.opened: asyncio.Future | None = None  # the Engine.IO open packet
        self.namespace: asyncio.Future | None = None  # the Socket.IO CONNECT answer
        self._parts: list[str] = []

    def _event(self, handler: str, payload: dict | None = None, path: str = "/inbox/") -> dict:
        return {"name": handler, "payload": payload or {}, "router_data": {"pathname": path, "asPath": path}}

    def _send_text(self, text: str) -> None:
        from wsproto.events import TextMessage

        self.writer.write(self.conn.send(TextMessage(data=text)))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        from wsproto.events import AcceptConnection, CloseConnection, Ping, RejectConnection, TextMessage

        try:
            while True:
                data = await stream.read(262144)
                arrived = time.perf_counter()
                self.conn.receive_data(data or None)
                for event in self.conn.events():
                    if isinstance(event, TextMessage):
                        self._parts.append(event.data)
                        if event.message_finished:
                            text, self._parts = "".join(self._parts), []
                            self._on_packet(text, arrived)
                    elif isinstance(event, Ping):
                        self.writer.write(self.conn.send(event.response()))
                    elif isinstance(event, AcceptConnection):
                        self.connected = True
                    elif isinstance(event, (RejectConnection, CloseConnection)):
                        raise ConnectionError(f"websocket {type(event).__name__}: {getattr(event, 'code', '')}")
                if not data:
                    raise ConnectionError("server closed the TCP connection")
        except Exception as exc:  # noqa: BLE001 - recorded, and every waiter is failed with it
            self.errors.append(repr(exc))
            for future in (self.opened, self.namespace, self.pong, self.expect and self.expect[2]):
                if future is not None and not future.done():
                    future.set_exception(ConnectionError(repr(exc)))
        finally:
            self.connected = False

    def _on_packet(self, text: str, arrived: float) -> None:
        if text == "2":  # Engine.IO ping from the server
            self._send_text("3")
        elif text.startswith(NS_EVENT):
            name, *args = json.loads(text[len(NS_EVENT):])
            if name == "event" and args:
                self._on_event(args[0], arrived)
            elif name == "ping" and self.pong is not None and not self.pong.done():
                self.pong.set_result(arrived)
        elif text.startswith("0") and not self.opened.done():
            self.opened.set_result(text)
        elif text.startswith(NS_CONNECT) and not self.namespace.done():
            self.namespace.set_result(text)
        elif text.startswith(("44", "41", "1")):  # connect error, disconnect, Engine.IO close
            self.errors.append(text[:200])
            if not self.namespace.done():
                self.namespace.set_exception(ConnectionError(text[:200]))

    def _on_event(self, update, arrived: float) -> None:
        expect = self.expect
        if expect is None or expect[2].done():
            return
        delta = update.get("delta") if isinstance(update, dict) else None
        if delta and expect[0](delta):
            expect[2].set_result((arrived - expect[1]) * 1000)

    async def emit(self, name: str, *args) -> None:
        self._send_text(NS_EVENT + json.dumps([name, *args]))
        await self.writer.drain()

    async def open(self) -> None:
        """Connect with the boot event for /inbox, then show the 'all' tab; returns once it is shown."""
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import Request

        loop = asyncio.get_running_loop()
        loaded, shown = loop.create_future(), loop.create_future()
        self.opened, self.namespace = loop.create_future(), loop.create_future()
        self.expect = (lambda d: "rows_rx_state_" in d.get(self.inbox_state, {}), time.perf_counter(), loaded)
        host, port = self.base.split("//", 1)[1].split(":")
        stream, self.writer = await asyncio.open_connection(host, int(port))
        self.conn = WSConnection(ConnectionType.CLIENT)
        self.writer.write(self.conn.send(Request(
            host=f"{host}:{port}", target=f"/_event/?EIO=4&transport=websocket&token={self.token}",
            extra_headers=[(b"cookie", f"{COOKIE}={self.cookie}".encode()), (b"origin", self.base.encode())])))
        self.reader = loop.create_task(self._read(stream))
        await asyncio.wait_for(self.opened, 60)
        # The boot event rides in the CONNECT packet, as state.js sends it.
        self._send_text(NS_CONNECT + json.dumps({"event": self._event(f"{STATE}.hydrate_and_load")}))
        await asyncio.wait_for(self.namespace, 60)
        await asyncio.wait_for(loaded, 120)  # on_load ran: the tab is registered for pushes
        self.expect = (lambda d: d.get(self.inbox_state, {}).get("tab_rx_state_") == "all", time.perf_counter(),
                       shown)
        await self.emit("event", self._event(f"{self.inbox_state}.set_tab", {"tab": "all"}))
        await asyncio.wait_for(shown, 120)
        self.expect = None

    def arm(self, predicate, started: float) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.expect = (predicate, started, future)
        return future

    async def ping(self) -> float:
        self.pong = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        await self.emit("ping")
        arrived = await asyncio.wait_for(self.pong, ROUND_TIMEOUT_S)
        return (arrived - started) * 1000

    async def close(self) -> None:
        from wsproto.events import CloseConnection

        try:
            if self.connected:
                self.writer.write(self.conn.send(CloseConnection(code=1000)))
                await self.writer.drain()
            if self.reader is not None:
                self.reader.cancel()
            if self.writer is not None:
                self.writer.close()
        except Exception:  # noqa: BLE001 - closing at the end must not hide the figures
            pass


def _has_text(marker: str):
    return lambda delta: marker in json.dumps(delta)


def _has_seq(inbox_state: str, seq: int):
    def check(delta: dict) -> bool:
        value = delta.get(inbox_state, {}).get("last_seq_rx_state_")
        return isinstance(value, int) and value >= seq
    return check


async def _collect(tabs: list[Tab], futures: list[asyncio.Future], out: list[float]) -> int:
    """Wait for every tab's future; returns how many timed out."""
    if not futures:
        return 0
    done, pending = await asyncio.wait(futures, timeout=ROUND_TIMEOUT_S)
    for f in done:
        out.append(f.result())
    for f in pending:
        f.cancel()
    for tab in tabs:
        tab.expect = None
    return len(pending)


def reload_cost(session_token: str, repeat: int = 30) -> list[float]:
    """What one tab's reload costs in this process, one at a time: resolve the cookie, list 'all', tab counts."""
    from crm_app.services import access, inbox, transaction

    out = []
    for i in range(repeat + 1):
        started = time.perf_counter()
        actor = access.resolve_actor(session_token)
        with transaction() as session:
            inbox.list_conversations(session, actor=actor, tab="all", limit=40)
            inbox.tab_counts(session, actor=actor)
        if i:
            out.append((time.perf_counter() - started) * 1000)
    return out


async def fanout(base: str, tenant_id: int, sessions: list[str], sizes: list[int], rounds: int) -> list[str]:
    import httpx

    from crm_app.domain.whatsapp import sign
    from crm_app.services.core import realtime as rt
    from crm_app.state.inbox import InboxListState, InboxLiveState

    # the list (rows, tab, set_tab) and the live section (last_seq) are substates of the inbox's state
    list_state, live_state = InboxListState.get_full_name(), InboxLiveState.get_full_name()
    report: list[str] = []
    tabs: list[Tab] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        counter = 0
        for n in sizes:
            started = time.perf_counter()
            new = [Tab(base, sessions[i], list_state) for i in range(len(tabs), n)]
            opened = await asyncio.gather(*(t.open() for t in new), return_exceptions=True)
            failed = [r for r in opened if isinstance(r, BaseException)]
            tabs += [t for t, r in zip(new, opened, strict=True) if not isinstance(r, BaseException)]
            live = [t for t in tabs if t.connected]
            print(f"\nN = {n}: {len(live)} tabs connected and showing the inbox "
                  f"({len(failed)} failed to open{': ' + repr(failed[0]) if failed else ''}; "
                  f"opening took {time.perf_counter() - started:.1f} s)", flush=True)
            hook, bare, pings = [], [], []
            round_p50: list[tuple[float, int]] = []  # (webhook → tab p50 of the round, round number)
            timeouts = {"webhook": 0, "publish": 0, "ping": 0}
            statuses: dict[int, int] = {}
            for r in range(rounds + 2):  # two warm-up rounds, not counted
                counter += 1
                marker = f"rt-{counter}-{uuid.uuid4().hex[:8]}"
                raw = webhook_body(counter, f"Mensagem {marker}")
                t0 = time.perf_counter()
                futures = [t.arm(_has_text(marker), t0) for t in live]
                response = await http.post("/api/whatsapp/webhook", content=raw, headers={
                    "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, RT_APP_SECRET)})
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                sink: list[float] = []
                missed = await _collect(live, futures, sink)
                if r >= 2:
                    hook += sink
                    timeouts["webhook"] += missed
                    if sink:
                        round_p50.append((pct(sink, 50), r - 1))
                await asyncio.sleep(0.1)

                t0 = time.perf_counter()
                seq = await asyncio.to_thread(rt.publish, tenant_id, "conversation.updated", data={"bench": counter})
                if seq is None:
                    raise SystemExit("publish failed: is Redis reachable at REDIS_URL?")
                futures = [t.arm(_has_seq(live_state, seq), t0) for t in live]
                sink = []
                missed = await _collect(live, futures, sink)
                if r >= 2:
                    bare += sink
                    timeouts["publish"] += missed
                await asyncio.sleep(0.1)

                results = await asyncio.gather(*(t.ping() for t in live), return_exceptions=True)
                if r >= 2:
                    pings += [x for x in results if isinstance(x, float)]
                    timeouts["ping"] += sum(1 for x in results if isinstance(x, BaseException))
                await asyncio.sleep(0.1)
            dropped = sum(1 for t in live if not t.connected)
            lines = [f"N = {n} tabs ({len(live)} connected, {rounds} rounds after 2 warm-up; webhook HTTP {statuses}"
                     f"; {dropped} sockets dropped during the rounds)",
                     line("webhook → tab delta showing the message", hook, f"timeouts {timeouts['webhook']}"),
                     line("baseline: publish → tab delta (same tabs)", bare, f"timeouts {timeouts['publish']}"),
                     line("baseline: socket.io ping → pong", pings, f"timeouts {timeouts['ping']}")]
            slow = sorted(round_p50, reverse=True)[:3]
            lines.append("  diagnostic: slowest rounds by their webhook → tab p50: "
                         + ", ".join(f"round {i} {v:.0f} ms" for v, i in slow)
                         + f" (median round {pct([v for v, _ in round_p50], 50):.0f} ms)" if round_p50 else "")
            if n == sizes[-1]:
                lines.append(line("diagnostic: one tab's reload, in-process, serial", reload_cost(sessions[0]),
                                  "(cookie → actor, list 'all' page, tab counts: the work each push does per tab)"))
            for text in lines:
                print(text, flush=True)
            report += lines
    await asyncio.gather(*(t.close() for t in tabs))
    return report


# ---- part 2: the inbox at scale in Chromium ------------------------------------------------------------------

def ana_names() -> list[str]:
    """Contact names of Ana's open conversations: search terms that match at least one of her rows."""
    from sqlalchemy import text

    from crm_app.db import session_scope

    with session_scope() as s:
        return [r[0] for r in s.execute(text(
            "SELECT DISTINCT k.name FROM conversations c JOIN contacts k ON k.id = c.contact_id "
            "JOIN users u ON u.id = c.assignee_id WHERE u.email = 'ana@demo.local' AND c.status <> 'closed' "
            "AND k.name IS NOT NULL ORDER BY k.name LIMIT 50"))]


def browser_part(base: str, repeat: int, password: str) -> list[str]:
    from playwright.sync_api import sync_playwright

    names = ana_names() or ["cliente"]

    figures: dict[str, list[float]] = {k: [] for k in (
        "health", "login_page", "login_list", "open_first", "open_next", "search", "search_sent")}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for i in range(repeat + 1):  # the first pass warms caches and is not counted
                sample: dict[str, float] = {}
                context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base)
                page = context.new_page()
                page.set_default_timeout(30_000)
                sent: list[float] = []
                page.on("websocket", lambda ws, sent=sent: ws.on(
                    "framesent", lambda payload: sent.append(time.perf_counter())
                    if "set_query" in str(payload) else None))
                t0 = time.perf_counter()
                page.goto("/api/health")
                page.locator("body").wait_for()
                sample["health"] = time.perf_counter() - t0
                t0 = time.perf_counter()
                page.goto("/login")
                page.wait_for_selector("#email")
                sample["login_page"] = time.perf_counter() - t0
                page.fill("#email", "ana@demo.local")
                page.fill("#password", password)
                t0 = time.perf_counter()
                page.click("#login-submit")
                rows = page.locator("#conversation-list .conv-row")
                rows.first.wait_for()
                sample["login_list"] = time.perf_counter() - t0
                for key, index in (("open_first", i % 5), ("open_next", 10 + i % 5)):
                    row = rows.nth(min(index, rows.count() - 1))
                    before = page.evaluate("() => [...document.querySelectorAll('#messages .msg-row')]"
                                           ".map(e => e.dataset.id)")
                    t0 = time.perf_counter()
                    row.click()
                    page.wait_for_function(
                        "(before) => { const rows = [...document.querySelectorAll('#messages .msg-row')];"
                        " return rows.length > 0 && rows.every(e => !before.includes(e.dataset.id)); }",
                        arg=before)
                    sample[key] = time.perf_counter() - t0
                term = names[(7 * i + 3) % len(names)].lower()
                search = page.locator("#inbox-search")
                search.click()
                sent.clear()
                t0 = time.perf_counter()
                search.fill(term)
                page.wait_for_function(
                    "(term) => { const rows = [...document.querySelectorAll('#conversation-list .conv-row')];"
                    " return rows.length > 0 && rows.every(r => r.innerText.toLowerCase().includes(term)); }",
                    arg=term)
                done = time.perf_counter()
                sample["search"] = done - t0
                if sent:
                    sample["search_sent"] = done - sent[0]
                context.close()
                if i > 0:
                    for key, value in sample.items():
                        figures[key].append(value * 1000)
        finally:
            browser.close()

    def row(name: str, key: str, target: float | None = None) -> str:
        values = figures[key]
        if not values:
            return f"  {name:<56} no samples"
        verdict = ""
        if target is not None:
            verdict = f"  target ≤ {target:.0f} ms: {'met' if pct(values, 50) <= target else 'MISSED'} (p50)"
        return (f"  {name:<56} p50 {pct(values, 50):7.0f} ms  max {max(values):7.0f} ms  n={len(values)}"
                f"{verdict}")

    return [f"Browser (Chromium, new context per repeat, {repeat} repeats after 1 warm-up; Ana, attendant)",
            row("baseline: /api/health loaded in the page", "health"),
            row("baseline: /login rendered (#email visible)", "login_page"),
            row("login click → first inbox row visible", "login_list", 1500),
            row("open a conversation → its messages visible", "open_first", 300),
            row("open another conversation → its messages visible", "open_next", 300),
            row("search typed → only matching rows (incl. the 150 ms debounce)", "search", 300),
            row("search event sent → only matching rows", "search_sent", 300)]


# ---- main --------------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tabs", default="10,50,200", help="comma-separated tab counts, ascending")
    parser.add_argument("--rounds", type=int, default=20, help="webhooks (and publishes) per tab count")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--browser-repeat", type=int, default=5)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(x) for x in args.tabs.split(",") if x.strip())
    port, sandbox_port = free_port(), free_port()
    # Before anything reads the settings (they are cached): every process of this run agrees on these.
    os.environ.update(REDIS_URL=REDIS_URL, REFLEX_REDIS_DB=REFLEX_REDIS_DB, DATA_DIR=DATA_DIR, PORT=str(port),
                      SANDBOX_PORT=str(sandbox_port), SANDBOX_SMTP_PORT=str(free_port()), HOST="127.0.0.1",
                      WEB_WORKERS="2", HOT_WORKERS="2")
    os.environ.pop("DATABASE_URL", None)
    Path(DATA_DIR).mkdir(parents=True, exist_ok=True)
    from redis import Redis

    from crm_app.config import with_redis_db

    for db in (REDIS_URL, with_redis_db(REDIS_URL, int(REFLEX_REDIS_DB))):
        Redis.from_url(db).flushdb()
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    import inbox_data
    from ingest import drop_database

    url = inbox_data.build(args.conversations, args.messages, admin_url=admin_url)  # sets DATABASE_URL
    db_name = url.rpartition("/")[2]
    proc = None
    report: list[str] = []
    try:
        tenant_id, sessions = seed_rt_tenant(max(sizes) if not args.skip_fanout else 0)
        env = dict(os.environ, DATABASE_URL=url, REFLEX_WEB_WORKDIR=WEB_WORKDIR, REFLEX_USE_NPM="1",
                   PYTHONUNBUFFERED="1")
        log = Path(f"/tmp/{db_name}_stack.log")
        started = time.perf_counter()
        proc = start_stack(env, log)
        base = f"http://127.0.0.1:{port}"
        print(f"stack up at {base} in {time.perf_counter() - started:.0f} s (log {log}); database {db_name}: "
              f"{args.conversations} conversations, {args.messages} messages; 2 web workers, 2 hot workers, "
              f"Redis {REDIS_URL} (Reflex state on db {REFLEX_REDIS_DB})", flush=True)
        load = os.getloadavg()
        report.append(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
        if not args.skip_fanout:
            report += asyncio.run(fanout(base, tenant_id, sessions, sizes, args.rounds))
        if not args.skip_browser:
            from crm_app.config import get_settings

            lines = browser_part(base, args.browser_repeat, get_settings().demo_password.get_secret_value())
            print("\n" + "\n".join(lines), flush=True)
            report += lines
        load = os.getloadavg()
        report.append(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    finally:
        if proc is not None:
            stop_stack(proc)
        drop_database(admin_url, db_name)
        for db in (REDIS_URL, with_redis_db(REDIS_URL, int(REFLEX_REDIS_DB))):
            Redis.from_url(db).flushdb()
    print("\n==== summary ====\n" + "\n".join(report), flush=True)


if __name__ == "__main__":
    main()
