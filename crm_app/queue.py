"""Redis connection and the RQ queues, named by latency."""

from __future__ import annotations

import functools

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from crm_app.config import get_settings

QUEUE_HIGH = "high"
QUEUE_DEFAULT = "default"
QUEUE_LOW = "low"
ALL_QUEUES = (QUEUE_HIGH, QUEUE_DEFAULT, QUEUE_LOW)


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
