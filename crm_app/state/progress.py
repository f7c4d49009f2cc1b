"""A live progress bar without the real-time listener: a background event re-reads the rows while a job runs.

Used by the pages whose jobs run on the `bulk` queue (privacy requests, exports). Each page's state keeps a
`watching` flag and a `_reload()` that returns whether anything still runs; Reflex pushes each refresh over the
tab's websocket.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crm_app.errors import CRMError


async def watch_while_running(state: Any, *, rounds: int, seconds: float) -> None:
    """Call `state._reload()` every `seconds` until nothing runs, at most `rounds` times; one watcher per tab."""
    async with state:
        if state.watching:
            return
        state.watching = True
    try:
        for _ in range(rounds):
            await asyncio.sleep(seconds)
            async with state:
                try:
                    running = state._reload()
                except CRMError:  # logged out or the role changed: stop watching, the page guard decides
                    running = False
            if not running:
                break
    finally:
        async with state:
            state.watching = False
