"""Every Redis client has socket timeouts, TCP keepalives and health checks; RQ's keeps room for its BLPOP."""

import socket

from rq.worker import SimpleWorker

from crm_app.config import get_settings
from crm_app.processes import WORKER_QUEUES, role_command
from crm_app.queue import RQ_SOCKET_TIMEOUT, WorkerRedis, get_async_redis, get_queue, get_redis
from crm_app.services.core.realtime import LISTENER_NAME, listener_client


def _hygienic(client, socket_timeout: float) -> None:
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == socket_timeout
    assert options["socket_connect_timeout"] == get_settings().redis_connect_timeout
    assert options["health_check_interval"] == get_settings().redis_health_check_seconds > 0
    assert options["socket_keepalive"] is True
    assert options["socket_keepalive_options"][socket.TCP_KEEPIDLE] == get_settings().tcp_keepalive_seconds


async def test_every_redis_client_has_timeouts_keepalives_and_health_checks():
    url, timeout = get_settings().effective_redis_url, get_settings().redis_socket_timeout
    # A fresh client as the app builds it: an RQ worker built in this process (the tests' burst workers) raises
    # the cached client's pool timeout to its own BLPOP's, which production's web and job code never do.
    _hygienic(get_redis.__wrapped__(), timeout)
    _hygienic(get_async_redis(), timeout)
    listener = listener_client(url)
    _hygienic(listener, timeout)  # it reads with its own, longer wait (crm_app/state/realtime.py)
    assert listener.connection_pool.connection_kwargs["client_name"] == LISTENER_NAME
    await listener.aclose()
    _hygienic(WorkerRedis.from_url(url), RQ_SOCKET_TIMEOUT)


def test_rq_workers_use_a_connection_whose_timeout_outlasts_their_blpop():
    for role in WORKER_QUEUES:
        argv = role_command(role, get_settings())
        assert argv[argv.index("--connection-class") + 1] == "crm_app.queue.WorkerRedis"
    connection = WorkerRedis.from_url(get_settings().effective_redis_url)
    worker = SimpleWorker([get_queue("default")], connection=connection)
    # RQ blocks for worker.dequeue_timeout and wants its socket timeout above that; ours already is, so no
    # connection of the worker (even one opened before RQ adjusts the pool) times out under an idle BLPOP.
    assert worker.dequeue_timeout < worker.connection_timeout <= RQ_SOCKET_TIMEOUT
    assert connection.connection_pool.connection_kwargs["socket_timeout"] == RQ_SOCKET_TIMEOUT
