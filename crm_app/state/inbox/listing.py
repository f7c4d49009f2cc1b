"""The conversation list: tabs, counts, search, filters, sort and keyset pages."""

from __future__ import annotations

import urllib.parse
from typing import Any

import reflex as rx

from crm_app.domain.inbox import parse_period
from crm_app.errors import NotFound
from crm_app.i18n import translate
from crm_app.services import call, inbox
from crm_app.services.analytics import clickthrough as analytics
from crm_app.services.core.actors import Actor
from crm_app.state.burst import shared
from crm_app.state.errors import toast_errors
from crm_app.state.inbox import view
from crm_app.state.inbox.base import READERS, SUPERVISORS, InboxState, now

PAGE_SIZE = 40


class InboxListState(InboxState):
    """What the list of one tab shows."""

    tab: str = "mine"
    counts: dict[str, int] = {}
    query: str = ""
    filter_team: str = ""
    filter_label: str = ""
    filter_status: str = ""
    filter_inbox: str = ""
    filter_sla: str = ""  # "at_risk": only deadlines missed or in the last 20 % of their window
    # An analytics selection (a chart's bar or cell): only those conversations, until it is cleared.
    selection_ids: list[int] = []
    selection_active: bool = False  # a selection is shown, even an empty one (a chart's cell of 0)
    # A period kept in the URL (`since`, `until`, `on`, `weekday`, `hour`): local days of the tenant.
    period_since: str = ""
    period_until: str = ""
    period_on: str = "opened"
    period_weekday: str = ""
    period_hour: str = ""
    list_total: int = 0
    sort: str = "recent"
    rows: list[dict[str, str]] = []
    next_cursor: str = ""
    list_loading: bool = True

    @rx.var(cache=True)
    def selection_count(self) -> int:
        """How many conversations the analytics selection holds (0: none)."""
        return len(self.selection_ids)

    @rx.var(cache=True)
    def filters_active(self) -> bool:
        """Whether a filter or a sort other than "recent" shapes the list (the filter button lights up)."""
        return bool(self.filter_team or self.filter_label or self.filter_status or self.filter_inbox
                    or self.filter_sla or self.period_since or self.sort != "recent")

    @rx.var(cache=True)
    def period_text(self) -> str:
        """The period filter in words: "04/11/2026 – 05/11/2026 · abertas · Ter · 14h" ("" when none)."""
        if not self.period_since:
            return ""
        parts = ["/".join(reversed(self.period_since.split("-")))]
        if self.period_until and self.period_until != self.period_since:
            parts[0] += " – " + "/".join(reversed(self.period_until.split("-")))
        parts.append(translate(self.lang, f"inbox.period.on.{self.period_on}"))
        if self.period_weekday:
            parts.append(translate(self.lang, f"analytics.weekday.{self.period_weekday}"))
        if self.period_hour:
            parts.append(translate(self.lang, "inbox.period.hour").format(hour=self.period_hour))
        return " · ".join(parts)

    @rx.var(cache=True)
    def total_text(self) -> str:
        """How many conversations the narrowed list holds, in words."""
        return translate(self.lang, "inbox.period.count").format(count=self.list_total)

    def _filters(self) -> dict[str, Any]:
        def as_int(value: str) -> int | None:
            return int(value) if value.isdigit() else None

        return {"query": self.query.strip() or None, "team_id": as_int(self.filter_team),
                "label_id": as_int(self.filter_label), "status": self.filter_status or None,
                "inbox_id": as_int(self.filter_inbox), "sort": self.sort, "at_risk": self.filter_sla == "at_risk",
                "conversation_ids": list(self.selection_ids) if self.selection_active else None,
                "period": parse_period(self.period_since, self.period_until, self.period_on, self.period_weekday,
                                       self.period_hour)}

    def _load_list(self, actor: Actor, *, append: bool = False) -> None:
        if self.tab not in inbox.TABS or (self.tab == "all" and actor.role not in (*SUPERVISORS, "executive")):
            self.tab = "mine"  # the value also comes back from the browser's storage
        if self.tab == "mine" and actor.role == "executive":
            self.tab = "all"  # nothing is an executive's own: they read the whole tenant
        cursor = self.next_cursor if append and self.next_cursor else None
        filters = self._filters()
        tab, lang = self.tab, self.lang

        def read_page():
            page = call(inbox.list_conversations, actor=actor, tab=tab, cursor=cursor, limit=PAGE_SIZE, **filters)
            moment = now()
            rows = [view.conversation_row(r, moment, actor.timezone, lang) for r in page.rows]
            return rows, page.next_cursor, page.total

        # Tabs refreshed by the same burst share this read when they would get the same page: the key
        # names all it depends on, the user only for the tabs that are per user.
        per_user = actor.user_id if tab in ("mine", "closed") else None
        key = ("list", actor.tenant_id, actor.role in SUPERVISORS, per_user, tab, cursor,
               tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in filters.items())), actor.timezone,
               lang, actor.user_id if self.selection_active else None)
        shared_rows, next_cursor, total = shared(key, read_page)
        if total is not None:
            self.list_total = int(total)
        fresh = [dict(r) for r in shared_rows]  # each tab gets its own copies
        if append:
            known = {r["id"] for r in self.rows}
            self.rows = self.rows + [r for r in fresh if r["id"] not in known]
        else:
            keep = len(self.rows) if len(self.rows) > PAGE_SIZE else 0
            self.rows = fresh if not keep else self._refresh_long_list(fresh)
        self.next_cursor = next_cursor or ""
        summary = shared(("counts", actor.tenant_id, actor.user_id, actor.role),
                         lambda: call(inbox.summarize, actor=actor))
        self.counts, self.unread_total = dict(summary.counts), summary.unread_total
        self.list_loading = False

    def _refresh_long_list(self, fresh: list[dict[str, str]]) -> list[dict[str, str]]:
        """After "carregar mais", a live update keeps the extra rows: fresh first page, then the rest."""
        known = {r["id"] for r in fresh}
        return fresh + [r for r in self.rows[PAGE_SIZE:] if r["id"] not in known]

    def _relist(self) -> None:
        actor = self._require(*READERS)
        self.next_cursor = ""
        self.rows = []
        self._load_list(actor)

    @rx.event
    @toast_errors
    def set_tab(self, tab: str):
        """Show one tab of the list."""
        if tab not in inbox.TABS:
            return
        self.tab, self.list_loading = tab, True
        self._relist()

    @rx.event
    @toast_errors
    def set_query(self, value: str):
        """Server-side search (the input debounces)."""
        self.query = value[:100]
        self._relist()

    @rx.event
    @toast_errors
    def set_filter(self, name: str, value: str):
        """One of team / label / status / inbox / sla ("at_risk"); "all" clears it."""
        value = "" if value == "all" else value
        if name in ("team", "label", "status", "inbox"):
            setattr(self, f"filter_{name}", value)
        elif name == "sla":
            self.filter_sla = "at_risk" if value == "at_risk" else ""
        self._relist()

    def _take_selection(self, actor: Actor) -> None:
        """The URL's filters: an analytics selection (`?selection=…`, the ids behind a chart's bar or cell) and
        a period (`since`, `until`, `on`, `weekday`, `hour`); an unreadable period is dropped, not an error."""
        params = self.router.page.params
        token = str(params.get("selection") or "")
        try:
            self.selection_ids = analytics.load_selection(actor=actor, token=token) if token else []
            self.selection_active = bool(token)
        except NotFound:  # an old link: the whole tab, not an empty inbox
            self.selection_ids, self.selection_active = [], False
        values = [str(params.get(name) or "")[:10] for name in ("since", "until", "on", "weekday", "hour")]
        try:
            parse_period(*values)
        except ValueError:
            values = ["", "", "opened", "", ""]
        (self.period_since, self.period_until, self.period_on, self.period_weekday,
         self.period_hour) = values[0], values[1], values[2] or "opened", values[3], values[4]

    def _url(self) -> str:
        """/inbox with the period filter, so a reload or a shared link shows the same list."""
        query = {k: v for k, v in (("since", self.period_since), ("until", self.period_until),
                                   ("on", self.period_on if self.period_since else ""),
                                   ("weekday", self.period_weekday), ("hour", self.period_hour)) if v}
        return "/inbox" + ("?" + urllib.parse.urlencode(query) if query else "")

    def _keep_url(self):
        return rx.call_script(f"window.history.replaceState(null, '', {self._url()!r})")

    @rx.event
    @toast_errors
    def clear_selection(self):
        """Back to the whole tab: the chart's ids and its period are dropped."""
        self._drop_selection()
        self._relist()
        return self._keep_url()

    def _drop_selection(self) -> None:
        """No analytics selection and no period."""
        self.selection_ids, self.selection_active = [], False
        self.period_since = self.period_until = self.period_weekday = self.period_hour = ""
        self.period_on = "opened"

    @rx.event
    @toast_errors
    def set_period(self, name: str, value: str):
        """The filter's "from" or "to" day (opened then); an empty "from" drops the period."""
        value = value[:10]
        if name == "since":
            self.period_since = value
            self.period_until = self.period_until if value and self.period_until >= value else value
        elif name == "until":
            self.period_until = value if value >= self.period_since else self.period_since
        try:
            parse_period(self.period_since, self.period_until, self.period_on, self.period_weekday, self.period_hour)
        except ValueError:
            self.period_since = self.period_until = ""
            return rx.toast.error(translate(self.lang, "inbox.period.bad"))
        self._relist()
        return self._keep_url()

    @rx.event
    @toast_errors
    def clear_filters(self):
        """Drop every filter and the search."""
        self.filter_team = self.filter_label = self.filter_status = self.filter_inbox = self.query = ""
        self.filter_sla = ""
        self.sort = "recent"
        self._drop_selection()
        self._relist()
        return self._keep_url()

    @rx.event
    @toast_errors
    def set_sort(self, value: str | list[str]):
        """recent, window (closing soonest first), due (SLA deadline soonest first) or priority."""
        value = value[0] if isinstance(value, list) and value else value
        self.sort = value if value in inbox.SORTS else "recent"
        self._relist()

    @rx.event
    @toast_errors
    def load_more(self):
        """Keyset pagination: the next page of the list."""
        if self.next_cursor:
            self._load_list(self._require(*READERS), append=True)
