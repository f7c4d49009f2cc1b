"""Redis connection and the RQ queues, named by latency."""

from __future__ import annotations

import functools

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from crm_app.config import get_settings

QUEUE_HIGH = "high"  # WhatsApp in and out
QUEUE_BOT = "bot"  # bot turns and their AI calls
QUEUE_DEFAULT = "default"  # short periodic work: sweeps, SLA and alert evaluation, mail, webhook relay
QUEUE_BULK = "bulk"  # long work: exports, backups, data-subject bundles, retention
ALL_QUEUES = (QUEUE_HIGH, QUEUE_BOT, QUEUE_DEFAULT, QUEUE_BULK)


@functools.lru_cache(maxsize=1)
def get_redis() -> Redis:
    """The process-wide Redis client for queues, tickets and events."""
    return Redis.from_url(get_settings().effective_redis_url, socket_timeout=5, socket_connect_timeout=2)


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
        client = AsyncRedis.from_url(get_settings().effective_redis_url, socket_timeout=5, socket_connect_timeout=2)
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
