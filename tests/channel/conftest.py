"""The WhatsApp channel end to end over HTTP: our API server, real workers and the sandbox playing Meta."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from crm_app.config import PROJECT_ROOT, child_environment, get_settings
from crm_app.processes import WORKER_QUEUES, role_command, role_environment
from tests.support.waiting import wait_for  # noqa: F401  (the channel tests import it from here)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


API_SERVER = "import sys, uvicorn; from crm_app.api.routes import create_api; " \
             "uvicorn.run(create_api(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"


def start_api(port: int, **env: str) -> subprocess.Popen:
    """Our HTTP routes (webhook, media) in their own process, as the web role serves them."""
    return subprocess.Popen([sys.executable, "-c", API_SERVER, str(port)], cwd=PROJECT_ROOT,
                            env=dict(os.environ, **env), start_new_session=True)


def stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


class Channel:
    """Handles on the running pieces."""

    def __init__(self, api_url: str, sandbox_url: str) -> None:
        self.api_url, self.sandbox_url = api_url, sandbox_url
        self.http = httpx.Client(base_url=sandbox_url, timeout=10)

    def sandbox(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, f"/sandbox/api{path}", **kwargs)

    def sent(self, **params) -> list[dict]:
        return self.sandbox("GET", "/sent", params=params).json()

    def customer_says(self, text_: str, wa_id: str = "5511981234567", name: str = "Maria Souza") -> dict:
        response = self.sandbox("POST", "/customer/messages", json={"from": wa_id, "name": name, "type": "text",
                                                                     "text": text_})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="package")
def channel_stack():
    """API server + sandbox + the workers of every queue, sharing the test database and Redis."""
    settings = get_settings()
    api_port, sandbox_port = free_port(), free_port()
    api_url, sandbox_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}"
    env = {"SANDBOX_PORT": str(sandbox_port), "SANDBOX_SMTP_PORT": str(free_port()),
           "SANDBOX_WEBHOOK_URL": f"{api_url}/api/whatsapp/webhook",
           "SANDBOX_RATE_LIMIT_PER_SECOND": "20"}
    procs = [
        start_api(api_port, **env),
        subprocess.Popen([sys.executable, "-m", "crm_app.sandbox"], cwd=PROJECT_ROOT, env=dict(os.environ, **env),
                         start_new_session=True),
        # The workers of every queue (high, bot, default, bulk), with the argv production runs.
        *(subprocess.Popen(role_command(role, settings), cwd=PROJECT_ROOT,
                           env=child_environment(role_environment(role, settings)), start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for role in WORKER_QUEUES),
    ]
    try:
        wait_http(f"{api_url}/api/health", procs[0])
        wait_http(f"{sandbox_url}/health", procs[1])
        yield Channel(api_url, sandbox_url)
    finally:
        stop(*procs)


@pytest.fixture
def channel(channel_stack, clean_db, db):
    """A fresh demo-like tenant whose inbox points at the sandbox, and a clean sandbox."""
    from crm_app.services.access import tenants
    from crm_app.services.channel import numbers

    settings = get_settings()
    channel_stack.sandbox("DELETE", "/state")
    tenant, _ = tenants.ensure_tenant(db, name="Pousada", slug="pousada")
    numbers.ensure_inbox(
        db, actor=None, tenant_id=tenant.id, name="Recepção", phone_number_id=settings.demo_wa_phone_number_id,
        waba_id=settings.demo_wa_waba_id, display_number=settings.demo_wa_display_number,
        access_token=settings.demo_wa_access_token.get_secret_value(),
        app_secret=settings.demo_wa_app_secret.get_secret_value(),
        verify_token=settings.demo_wa_verify_token.get_secret_value(),
        graph_base_url=f"{channel_stack.sandbox_url}/graph/v23.0")
    db.commit()
    channel_stack.tenant_id = tenant.id
    return channel_stack


def scalar(sql: str, **params):
    from crm_app.db import get_engine

    with get_engine().connect() as conn:
        return conn.execute(text(sql), params).scalar()
