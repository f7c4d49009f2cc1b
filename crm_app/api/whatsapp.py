"""`/api/whatsapp/webhook`: Meta's verification handshake and event POSTs."""

from __future__ import annotations

import hmac
import logging

import anyio
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from crm_app.services import channel
from crm_app.services.channel import ingest

log = logging.getLogger(__name__)
# At most two stores at a time per process: with Starlette's 40 threads, GIL hand-offs cost more than the
# parallelism gives (bench/RESULTS.md: 245 -> ~400 acks/s at concurrency 32 on 2 cores).
_LIMITER = anyio.CapacityLimiter(2)


async def verify_webhook(request: Request) -> Response:
    """GET: echo `hub.challenge` when `hub.verify_token` is one of our inboxes' tokens."""
    params = request.query_params
    token, challenge = params.get("hub.verify_token", ""), params.get("hub.challenge", "")
    if params.get("hub.mode") != "subscribe" or not token or not challenge:
        return PlainTextResponse("bad verification request", status_code=400)
    try:
        tokens = await run_in_threadpool(channel.all_verify_tokens)
    except DBAPIError:
        return PlainTextResponse("database unavailable", status_code=503)
    if not any(hmac.compare_digest(token, known) for known in tokens):
        return PlainTextResponse("verify token does not match", status_code=403)
    return PlainTextResponse(challenge)


async def receive_webhook(request: Request) -> Response:
    """POST: verify the signature over the raw bytes, store, then answer 200."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > ingest.MAX_BODY_BYTES:
        return JSONResponse({"error": "payload larger than 3 MB"}, status_code=413)
    raw = await request.body()
    signature = request.headers.get("x-hub-signature-256")
    try:
        outcome = await ingest.receive_webhook_async(raw, signature)
        if outcome is None:  # not the common case: the full path decides, in a thread
            outcome = await anyio.to_thread.run_sync(ingest.receive_webhook, raw, signature, limiter=_LIMITER)
    except (DBAPIError, ingest.DatabaseUnavailable) as exc:
        log.error("webhook not stored, database unavailable: %s", type(exc).__name__)
        return JSONResponse({"error": "database unavailable, retry later"}, status_code=503)
    if outcome.status != 200:
        return JSONResponse({"error": outcome.message}, status_code=outcome.status)
    return JSONResponse({"status": "ok", "duplicate": outcome.duplicate})
