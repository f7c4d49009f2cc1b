"""The inbox page kept live: its on_load, the user's presence, notifications, and real-time pushes.

Real-time events arrive through `crm_app.state.realtime` (one listener per web process) and are applied
by `push_events` under `app.modify_state`; each burst re-checks the session behind the tab's cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

import reflex as rx

from crm_app.domain.inbox import display_phone
from crm_app.errors import CRMError, PermissionDenied
from crm_app.i18n import translate
from crm_app.services import access, call, inbox, routing
from crm_app.services.core import realtime as rt_events
from crm_app.services.core.actors import Actor
from crm_app.state import leases, realtime
from crm_app.state.burst import shared
from crm_app.state.errors import toast_errors
from crm_app.state.inbox import view
from crm_app.state.inbox.base import READERS, SUPERVISORS, now
from crm_app.state.inbox.conversation import InboxConversationState

log = logging.getLogger(__name__)

LIST_KINDS = frozenset({"message.new", "message.status", "message.updated", "conversation.updated",
                        "conversation.new"})
TYPING_SHOWN_SECONDS = 4.0
SEQ_RESET_WINDOW = 1000  # an event this far behind the tab's last seq means the tenant's counter was reset


class InboxLiveState(InboxConversationState):
    """Presence, the tenant's event counter as this tab last saw it, and the pending notification."""

    presence_status: str = "online"
    last_seq: int = 0
    notify_seq: int = 0
    notify_title: str = ""
    notify_body: str = ""
    _user_id: int = 0
    _typing_stamp: float = 0.0

    @rx.event
    @toast_errors
    def load(self):
        """on_load (and again after a reconnect): register this tab for pushes and load everything."""
        try:
            actor = self._require(*READERS)
            realtime.register_tab(actor.tenant_id, self.router.session.client_token, self.router.session.session_id)
            self._user_id, self._tz = actor.user_id, actor.timezone
            self.presence_status = routing.statuses(actor.tenant_id).get(actor.user_id, self.presence_status)
            self._load_options(actor)
            self._take_selection(actor)
            self._reload_all(actor)
            if actor.role != "executive":  # executives only read: no presence, nobody routes to them
                routing.heartbeat(actor.tenant_id, actor.user_id, self.presence_status)
            self._load_viewers(actor)
        finally:
            self.list_loading = False  # a failed load shows an empty list, not a skeleton forever

    @rx.event
    def set_presence(self, status: str):
        """Disponível / Ausente."""
        self.presence_status = "away" if status == "away" else "online"
        return InboxLiveState.heartbeat

    @rx.event
    def heartbeat(self):
        """Every ~20 s from the page: I am here, and I am looking at this conversation."""
        actor = self._actor()
        if actor is None or actor.role not in ("admin", "supervisor", "attendant"):  # executives have no presence
            return
        realtime.register_tab(actor.tenant_id, self.router.session.client_token, self.router.session.session_id)
        routing.heartbeat(actor.tenant_id, actor.user_id, self.presence_status)
        if self.selected_id:
            routing.set_viewing(actor.tenant_id, self.selected_id, actor.user_id, actor.name)

    def _reload_all(self, actor: Actor, events: list[dict[str, Any]] | None = None) -> None:
        """Everything again (page load, reconnect, a gap in the seq); `events` explain a lost conversation."""
        self.last_seq = rt_events.current_seq(actor.tenant_id)  # read first: later events are applied on top
        self._load_list(actor)
        if not self.selected_id:
            return
        try:
            self._load_conversation(actor)
        except PermissionDenied:
            changes = [e for e in events or [] if e.get("conversation_id") == self.selected_id
                       and str(e.get("kind", "")).startswith("conversation.")]
            if changes:
                self._lost_access(actor, changes[-1].get("data") or {})
            else:
                self._clear_selection()
        except CRMError:
            self._clear_selection()

    def _apply_events(self, events: list[dict[str, Any]]) -> bool:
        """Bring this tab up to date after a burst of events; False when the user is gone (drop the tab).

        Durable events are folded into one reload of the list (and of the open conversation if it
        is among them); a gap in the tenant's seq reloads everything.
        """
        token = self._session_token()
        applied = False
        try:
            # One session check per browser session and burst (each event is re-checked: nothing is kept).
            actor = push_actor(token, self.router.session.client_ip or None)
            if actor is not None:
                self._apply_for(actor, events)
            applied = True
        finally:
            if not applied:
                self.last_seq = -1  # this refresh failed (the database restarting?): the next event reloads all
        return actor is not None

    def _apply_for(self, actor: Actor, events: list[dict[str, Any]]) -> None:
        self.last_seq, fresh, gap = view.fresh_events(self.last_seq, events, SEQ_RESET_WINDOW)
        durable: list[dict[str, Any]] = []
        for event in fresh:
            if event.get("kind") == realtime.RESYNC:
                gap = True  # this process's listener reconnected: notes may have been lost meanwhile
            elif event.get("kind") in LIST_KINDS:
                durable.append(event)
            else:
                self._apply_ephemeral(actor, event)
        if gap:
            before = dict(self.counts)
            self._reload_all(actor, durable)
            for event in durable:
                self._maybe_notify(actor, event["kind"], event.get("conversation_id"), before)
        elif durable:
            self._apply_durable(actor, durable)

    def _apply_ephemeral(self, actor: Actor, event: dict[str, Any]) -> None:
        kind, data = event.get("kind"), event.get("data") or {}
        if event.get("conversation_id") != self.selected_id:
            return
        if kind == "viewers":
            self.viewers = [str(v.get("name", "")) for v in data.get("viewers", [])
                            if v.get("user_id") != actor.user_id]
        elif kind == "typing" and data.get("user_id") != actor.user_id:
            self.typing_name = str(data.get("name", ""))[:60]
            self._typing_stamp = now().timestamp()

    def _apply_durable(self, actor: Actor, events: list[dict[str, Any]]) -> None:
        before = dict(self.counts)
        mine = [e for e in events if self.selected_id and e.get("conversation_id") == self.selected_id]
        self._load_list(actor)
        if mine:
            try:
                self._load_conversation(actor, keep_older=True)
            except PermissionDenied:
                changes = [e for e in mine if str(e.get("kind", "")).startswith("conversation.")]
                self._lost_access(actor, (changes[-1].get("data") or {}) if changes else {})
            except CRMError:
                self._clear_selection()
        if any(e["kind"] == "message.new" for e in mine):
            self.typing_name = ""
            self._mark_read(actor)
        notified = set()
        for event in events:
            key = (event["kind"], event.get("conversation_id"))
            if key not in notified:
                notified.add(key)
                self._maybe_notify(actor, event["kind"], event.get("conversation_id"), before)

    def _lost_access(self, actor: Actor, data: dict) -> None:
        """Another attendant took the open conversation: keep what was shown, lock the composer, name them."""
        header = dict(self.header, mine="")
        if "assignee_id" in data:  # message events carry no assignee: keep what was shown
            assignee = str(data.get("assignee_id") or "")
            names = {o["id"]: o["name"] for o in self.user_options}
            if assignee and assignee not in names and actor.role not in SUPERVISORS:
                names.update({str(u["id"]): str(u["name"]) for u in call(routing.online_users, actor=actor)})
            header.update(assignee=names.get(assignee, ""), assignee_id=assignee)
        if "bot_active" in data:
            header["bot"] = "1" if data.get("bot_active") else ""
        if "status" in data:
            header["status"] = str(data.get("status"))
        self.header = header
        self.can_reply, self.note_mode, self.reply_to = False, False, {}
        self.blocked_reason = "inbox.blocked.other_assignee"

    def _maybe_notify(self, actor: Actor, kind: str, conversation_id: int | None, before: dict) -> None:
        """A sound and a browser notification for my conversations and new unassigned ones."""
        if kind == "conversation.new" or self.counts.get("unassigned", 0) > before.get("unassigned", 0):
            self._notify(translate(self.lang, "inbox.notify.unassigned"), "")
            return
        if kind != "message.new" or not conversation_id:
            return
        # Read once for every tab of the burst; shown only to its assignee, who may see it. Gone meanwhile: nothing.
        row = shared(("row", actor.tenant_id, conversation_id), lambda: call(
            inbox.find_conversation_row, conversation_id, tenant_id=actor.tenant_id))
        if row is not None and row.assignee_id == actor.user_id and row.unread_count:
            self._notify(row.contact_name or display_phone(row.contact_phone), row.preview or "")

    def _notify(self, title: str, body: str) -> None:
        self.notify_seq += 1
        self.notify_title, self.notify_body = title[:80], body[:140]

    def _expire_typing(self, stamp: float) -> None:
        if self._typing_stamp == stamp:
            self.typing_name = ""


# Sessions checked for pushes in this process: token hash -> (checked at, session id, actor). A live session is
# trusted for PUSH_SESSION_TTL seconds, so a burst that reaches 50 tabs costs no 50 session queries. A revoked
# session is announced by the services (`realtime.on_revoked`) and forgotten at once, so its pushes stop within
# the announcement's trip; the TTL only bounds what is not announced (an idle timeout running out).
PUSH_SESSION_TTL = 10.0
_push_sessions: dict[tuple[str, str | None], tuple[float, int, Actor]] = {}
_revocations = [0]  # announcements heard; a check that overlapped one is used once, never cached


def push_actor(token: str | None, ip: str | None) -> Actor | None:
    """The actor behind a tab's session cookie for a push, trusted for PUSH_SESSION_TTL seconds once checked."""
    if not token:
        return None
    key = (hashlib.sha256(token.encode()).hexdigest(), ip)
    known = _push_sessions.get(key)
    if known is not None and time.monotonic() - known[0] < PUSH_SESSION_TTL:
        return known[2]
    heard = _revocations[0]
    peeked = shared(("session",) + key, lambda: access.peek_session(token, ip=ip))
    if peeked is None:
        _push_sessions.pop(key, None)
        return None
    if heard == _revocations[0]:  # it may have read the row just before a revocation committed
        if len(_push_sessions) > 10_000:
            _push_sessions.clear()
        _push_sessions[key] = (time.monotonic(), *peeked)
    return peeked[1]


def forget_revoked(session_ids: list[int]) -> None:
    """The services revoked these sessions: stop trusting them for pushes now (called by the listener)."""
    _revocations[0] += 1
    revoked = set(session_ids)
    for key, (_, session_id, _) in list(_push_sessions.items()):  # one copy: pushes may add keys from threads
        if session_id in revoked:
            _push_sessions.pop(key, None)


realtime.on_revoked(forget_revoked)


async def push_events(app: Any, token: str, events: list[dict[str, Any]]) -> bool:
    """Apply a burst of real-time events to one tab (called by the listener); False drops the tab."""
    started = time.perf_counter()
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxLiveState)) as root:
        state = await root.get_state(InboxLiveState)
        if not state.user_role:
            return False  # a fresh, never-loaded state: the tab's own state is gone
        alive = await asyncio.to_thread(state._apply_events, events)
        stamp = state._typing_stamp if any(e.get("kind") == "typing" for e in events) else None
    log.debug("pushed %d event(s) to a tab in %.1f ms", len(events), (time.perf_counter() - started) * 1000)
    if alive and stamp:
        asyncio.get_running_loop().create_task(_clear_typing_later(app, token, stamp))
    return alive


async def _clear_typing_later(app: Any, token: str, stamp: float) -> None:
    await asyncio.sleep(TYPING_SHOWN_SECONDS)
    async with app.modify_state(rx.BaseStateToken(ident=token, cls=InboxLiveState)) as root:
        state = await root.get_state(InboxLiveState)
        state._expire_typing(stamp)


async def listen(app: Any) -> None:
    """The lifespan task of each web process."""
    leases.spread_lease_expiry(app.state_manager)
    await realtime.listen(app, push_events)
