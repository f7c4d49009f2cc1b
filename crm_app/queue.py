"""Redis connection and the RQ queues, named by latency."""

from __future__ import annotations

import functools
import socket

from redis import Redis
from rq import Queue
from rq.defaults import DEFAULT_WORKER_TTL
from rq.job import Job
from rq.serializers import JSONSerializer

from crm_app.config import get_settings

QUEUE_HIGH = "high"  # WhatsApp in and out
QUEUE_BOT = "bot"  # bot turns and their AI calls
QUEUE_DEFAULT = "default"  # short periodic work: sweeps, SLA and alert evaluation, mail, webhook relay
QUEUE_BULK = "bulk"  # long work: exports, backups, data-subject bundles, retention
ALL_QUEUES = (QUEUE_HIGH, QUEUE_BOT, QUEUE_DEFAULT, QUEUE_BULK)


# What RQ 3.0 gives its own connection: a worker blocks in BLPOP for `worker_ttl - 15` seconds (405 with
# the default ttl) and wants a socket timeout 10 s above that (rq.worker.BaseWorker.connection_timeout).
RQ_SOCKET_TIMEOUT = max(1, DEFAULT_WORKER_TTL - 15) + 10


def keepalive_options(idle: int) -> dict[int, int]:
    """TCP keepalive after `idle` seconds of silence, 3 probes; unacknowledged data gets the same budget."""
    interval, count = max(1, idle // 3), 3
    wanted = {"TCP_KEEPIDLE": idle, "TCP_KEEPINTVL": interval, "TCP_KEEPCNT": count,
              "TCP_USER_TIMEOUT": (idle + interval * count) * 1000}
    return {getattr(socket, name): value for name, value in wanted.items() if hasattr(socket, name)}


def redis_options() -> dict:
    """Timeouts, keepalives and health checks for every Redis client of ours, sync or async.

    A command waits at most `redis_socket_timeout`; a connection idle for `redis_health_check_seconds` is
    PINGed before it is used again, so one that died while idle is replaced instead of failing a request.
    A client that blocks on purpose (RQ's BLPOP, the real-time listener) must read with a longer timeout.
    """
    settings = get_settings()
    return {"socket_timeout": settings.redis_socket_timeout, "socket_connect_timeout": settings.redis_connect_timeout,
            "socket_keepalive": True, "socket_keepalive_options": keepalive_options(settings.tcp_keepalive_seconds),
            "health_check_interval": settings.redis_health_check_seconds}


class WorkerRedis(Redis):
    """RQ's own connection in worker processes (`rq worker --connection-class crm_app.queue.WorkerRedis`).

    It starts with the socket timeout RQ wants above its BLPOP. RQ raises a lower timeout itself, but only in
    the pool's settings, when the worker is built: a connection opened before (the CLI's suspension check
    opens one) keeps the lower one, and an idle BLPOP on it would time out. Today that connection happens to
    become the worker's pub/sub connection, which reads with its own timeout; nothing in RQ promises it.
    """

    @classmethod
    def from_url(cls, url: str, **kwargs) -> WorkerRedis:
        """`Redis.from_url` with `redis_options()` and RQ's socket timeout."""
        return super().from_url(url, **{**redis_options(), "socket_timeout": RQ_SOCKET_TIMEOUT, **kwargs})


@functools.lru_cache(maxsize=1)
def get_redis() -> Redis:
    """The process-wide Redis client for queues, tickets and events."""
    return Redis.from_url(get_settings().effective_redis_url, **redis_options())


@functools.lru_cache(maxsize=16)
def get_queue(name: str) -> Queue:
    """An RQ queue with the JSON serializer (pickle is unsafe).

    One instance per name and process: a Queue remembers the server's version, which a fresh one asks
    Redis for (INFO) on its first enqueue.
    """
    return Queue(name, connection=get_redis(), serializer=JSONSerializer)


class JSONJob(Job):
    """A job that (de)serializes with JSON unless told otherwise (rq-scheduler)."""

    def __init__(self, *args, serializer=None, **kwargs):
        super().__init__(*args, serializer=serializer or JSONSerializer, **kwargs)


class JSONQueue(Queue):
    """A queue of JSONJob, for rq-scheduler, which passes no serializer."""

    job_class = JSONJob

    def __init__(self, *args, serializer=None, **kwargs):
        super().__init__(*args, serializer=serializer or JSONSerializer, **kwargs)


def enqueue_commands(name: str, func: str, *args, **options) -> list[tuple]:
    """The Redis commands RQ would send to enqueue `func(*args)` on queue `name`, without sending them.

    RQ builds them (job hash, status, queue push) on a pipeline; we keep that pipeline's command stack,
    so an async client can replay exactly what `Queue.enqueue` writes. Nothing touches Redis here except,
    once per process, the server version RQ records on each job.
    """
    queue = get_queue(name)
    with queue.connection.pipeline() as pipe:
        queue.enqueue(func, *args, pipeline=pipe, **options)
        return [(command, kwargs) for command, kwargs in pipe.command_stack]


_async_clients: dict[int, object] = {}


def get_async_redis():
    """A redis.asyncio client for the running event loop (one per loop: a client is bound to its loop)."""
    import asyncio

    from redis.asyncio import Redis as AsyncRedis

    loop = asyncio.get_running_loop()
    client = _async_clients.get(id(loop))
    if client is None or client._loop is not loop:
        client = AsyncRedis.from_url(get_settings().effective_redis_url, **redis_options())
        client._loop = loop  # remembered to tell a recycled id() from the same loop
        _async_clients[id(loop)] = client
    return client


async def enqueue_async(name: str, func: str, *args, **options) -> None:
    """`Queue.enqueue` without blocking the event loop: RQ's own commands, sent in one MULTI/EXEC."""
    commands = enqueue_commands(name, func, *args, **options)
    async with get_async_redis().pipeline(transaction=True) as pipe:
        for command, kwargs in commands:
            pipe.execute_command(*command, **kwargs)
        await pipe.execute()
