"""/settings/bot: admins edit each inbox's flow (map + form), validate, publish and try the draft.

The flow being edited lives in a backend-only var (`_flow`); everything the page shows is derived from it
by `_refresh()` into plain rows of strings, so the browser never needs to understand the flow JSON.
Every handler that touches the database goes through `services.bot`, which checks role and tenant again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from typing import Any

import reflex as rx

from components import flow_layout as fl
from crm_app.domain import flows
from crm_app.domain.timefmt import format_local
from crm_app.errors import ValidationError
from crm_app.services import bot, channel, routing, transaction
from crm_app.state.session import SessionState

ROLE = "admin"
NODE_TYPES = ("message", "menu", "collect", "condition", "set", "ai", "handoff", "close")
TYPE_COLORS = {"message": "blue", "menu": "teal", "collect": "cyan", "condition": "amber", "set": "gray",
               "ai": "violet", "handoff": "orange", "close": "red"}
NEW = "__new__"
NONE = "__none__"
TARGET_FIELDS = ("next", "on_fail", "else")
INT_FIELDS = ("max_retries",)
_ID_OK = re.compile(r"^[a-z0-9_]{1,40}$")
_PROBLEM_ORDER = ("unreachable", "loop_without_exit", "bad_regex", "bad_node", "missing_target")
# The validator's details (English, for logs) and the catalogue keys that say them to the admin.
_DETAILS = (
    (r"the text is empty", "editor.detail.text_empty"),
    (r"unknown node type", "editor.detail.unknown_type"),
    (r"the id must be .*", "editor.detail.bad_id"),
    (r"the menu has no options", "editor.detail.no_options"),
    (r"an option has no label", "editor.detail.option_label"),
    (r"two options have the same label", "editor.detail.same_label"),
    (r"reply buttons allow at most (\d+) options", "editor.detail.buttons_max"),
    (r"a list allows at most (\d+) options", "editor.detail.list_max"),
    (r"option labels must have at most (\d+) characters", "editor.detail.label_max"),
    (r"choose the attribute that keeps the answer", "editor.detail.collect_attribute"),
    (r"rule (\d+): the value is empty", "editor.detail.rule_value"),
    (r"rule (\d+): choose an attribute and a test", "editor.detail.rule_attribute"),
    (r"rule (\d+): unknown kind .*", "editor.detail.rule_kind"),
    (r"set an attribute or a label", "editor.detail.set_empty"),
    (r"a keyword trigger has no keyword", "editor.detail.trigger_empty"),
    (r"settings\.(\w+) must be between (\d+) and (\d+)", "editor.detail.setting_range"),
)


@dataclasses.dataclass
class SimChoice:
    """A button or list row the tester can click."""

    id: str = ""
    label: str = ""


@dataclasses.dataclass
class SimRow:
    """One line of the test chat: a bot bubble (maybe with choices), the tester's bubble, or an event."""

    side: str = "bot"
    text: str = ""
    choices: list[SimChoice] = dataclasses.field(default_factory=list)
    footer: str = ""


def _blank(kind: str) -> dict[str, Any]:
    """A new node of `kind` with every field the form shows, so the form never meets a missing key."""
    base: dict[str, dict[str, Any]] = {
        "message": {"text": "", "next": ""},
        "menu": {"text": "", "style": "text", "button_label": "", "options": [], "retry_text": "",
                 "max_retries": 2, "on_fail": ""},
        "collect": {"text": "", "kind": "text", "attribute": "", "retry_text": "", "max_retries": 2, "next": "",
                    "on_fail": ""},
        "condition": {"rules": [], "else": ""},
        "set": {"attribute": "", "value": "", "label": "", "next": ""},
        "ai": {"text": "", "next": "", "on_fail": ""},
        "handoff": {"team_id": None, "text": "", "reason": "menu"},
        "close": {"text": ""},
    }
    return {"type": kind, **copy.deepcopy(base[kind])}


def _clean(node: dict[str, Any]) -> dict[str, Any]:
    """Empty optional targets leave the JSON instead of pointing at ""."""
    out = {k: v for k, v in node.items() if not (k in TARGET_FIELDS and not v)}
    for option in out.get("options") or []:
        if not option.get("next"):
            option.pop("next", None)
    return out


class BotSettingsState(SessionState):
    """Editor of one inbox's flow draft, its versions, and the test chat."""

    loaded: bool = False
    inbox_options: list[dict[str, str]] = []
    inbox_id: str = ""
    team_options: list[dict[str, str]] = []
    _flow: dict[str, Any] = {}
    # What the admin typed in comma-separated fields, so "a," keeps its comma while typing.
    _csv_raw: dict[str, str] = {}
    dirty: bool = False
    draft_info: str = ""
    published_version: str = ""
    published_at: str = ""
    versions: list[dict[str, str]] = []
    # The map.
    map_cards: list[dict[str, str]] = []
    map_edges: list[dict[str, str]] = []
    map_width: str = "400px"
    map_height: str = "140px"
    node_choices: list[dict[str, str]] = []
    # The selected node, flattened for the form.
    sel_id: str = ""
    sel: dict[str, str] = {}
    sel_options: list[dict[str, str]] = []
    sel_rules: list[dict[str, str]] = []
    sel_problems: list[str] = []
    rename_to: str = ""
    rename_error: str = ""
    # Flow settings.
    cfg: dict[str, str] = {}
    trigger_rows: list[dict[str, str]] = []
    # Validation.
    problems: list[dict[str, str]] = []
    show_problems: bool = False
    # Delete confirmation.
    delete_id: str = ""
    delete_links: str = ""
    # Advanced JSON.
    json_open: bool = False
    json_text: str = ""
    json_error: str = ""
    # Test chat.
    _sim_transcript: list[dict[str, str]] = []
    sim_rows: list[SimRow] = []
    sim_node: str = ""
    sim_vars: list[dict[str, str]] = []
    sim_ended: str = ""
    sim_input: str = ""
    sim_stale: bool = False

    @rx.var(cache=True)
    def delete_open(self) -> bool:
        return self.delete_id != ""

    @rx.var(cache=True)
    def problem_count(self) -> int:
        return len(self.problems)

    # ---------------------------------------------------------------- loading

    @rx.event
    def load(self):
        """on_load: the tenant's inboxes and teams, then the first inbox's flow."""
        try:
            actor = self._require(ROLE)
            with transaction() as session:
                inbox_list = channel.list_inboxes(session, actor=actor)
                team_list = routing.list_teams(session, actor=actor)
        except Exception as exc:
            return rx.toast.error(self._error_text(exc))
        self.inbox_options = [{"id": str(i.id), "name": f"{i.name} · {i.display_number}"} for i in inbox_list]
        self.team_options = [{"id": str(t.id), "name": t.name} for t in team_list]
        known = {row["id"] for row in self.inbox_options}
        if self.inbox_id not in known:
            self.inbox_id = self.inbox_options[0]["id"] if self.inbox_options else ""
        self.loaded = True
        return self._load_flow()

    @rx.event
    def pick_inbox(self, inbox_id: str):
        """Switch inbox; unsaved edits of the previous one are dropped (the button warns by its badge)."""
        if inbox_id in {row["id"] for row in self.inbox_options}:
            self.inbox_id = inbox_id
            return self._load_flow()
        return None

    def _load_flow(self):
        self._flow, self.versions, self.sel_id, self.show_problems = {}, [], "", False
        self.published_version = self.published_at = self.draft_info = ""
        if not self.inbox_id:
            self._refresh()
            return None
        try:
            actor = self._require(ROLE)
            with transaction() as session:
                view = bot.get_flow(session, actor=actor, inbox_id=int(self.inbox_id))
                version_list = bot.list_versions(session, actor=actor, inbox_id=int(self.inbox_id))
        except Exception as exc:
            self._refresh()
            return rx.toast.error(self._error_text(exc))
        self._apply_view(view, version_list, actor.timezone)
        self.dirty = False
        self.sel_id = self._flow.get("start") if self._flow.get("start") in self._nodes() else ""
        self._sim_transcript = []
        self._refresh()
        return self._run_sim()

    def _apply_view(self, view: Any, version_list: list[Any], timezone: str) -> None:
        draft = _attr(view, "draft", "definition") or flows.empty_flow()
        self._flow = _normalise(copy.deepcopy(draft))
        published = _attr(view, "published_version") or 0
        self.published_version = str(published) if published else ""
        updated = _attr(view, "draft_updated_at", "updated_at")
        self.draft_info = format_local(updated, timezone) if updated else ""
        self.versions = []
        for version in version_list:
            when = _attr(version, "published_at")
            self.versions.append({"version": str(_attr(version, "version")),
                                  "at": format_local(when, timezone) if when else "",
                                  "by": str(_attr(version, "published_by", "published_by_name") or "")})
        self.versions.sort(key=lambda row: -int(row["version"] or 0))
        self.published_at = next((v["at"] for v in self.versions if v["version"] == self.published_version), "")

    # ------------------------------------------------------------- derivation

    def _nodes(self) -> dict[str, dict[str, Any]]:
        return self._flow.setdefault("nodes", {})

    def _refresh(self) -> None:
        """Recompute every shown row from `_flow` (map, choices, form, settings, problems)."""
        nodes = self._nodes()
        self._refresh_problems()
        by_node = self._problems_by_node()
        self._refresh_map(nodes, by_node)
        self.node_choices = [{"value": node_id, "label": f"{node_id} · {self.t['editor.type.' + n['type']]}"}
                             for node_id, n in nodes.items()]
        self._refresh_selected(nodes, by_node)
        self._refresh_settings()

    def _problems_by_node(self) -> dict[str, list[str]]:
        """Each node's problems, the one that explains most first (a card has room for one)."""
        by_node: dict[str, list[str]] = {}
        for row in sorted(self.problems, key=lambda r: _PROBLEM_ORDER.index(r["code"])
                          if r["code"] in _PROBLEM_ORDER else len(_PROBLEM_ORDER)):
            by_node.setdefault(row["node"], []).append(row["text"])
        return by_node

    def _refresh_problems(self) -> None:
        try:
            found = flows.validate_flow(self._flow)
        except Exception:  # a half-edited flow must never break the page
            found = []
        rank = {code: i for i, code in enumerate(_PROBLEM_ORDER)}
        found = sorted(found, key=lambda p: (p.node_id or "", rank.get(p.code, len(rank))))
        self.problems = [{"node": p.node_id or "", "code": p.code, "text": self._problem_text(p)} for p in found]

    def _problem_text(self, problem: Any) -> str:
        """The validator's code and detail as a plain sentence in the admin's language."""
        template = self.t.get(f"editor.problem.{problem.code}") or self.t["editor.problem.other"]
        detail = str(problem.detail or "")
        if problem.code == "missing_target":
            detail = self._link_name(detail)
        elif problem.code in ("bad_node", "other"):
            detail = self._detail_text(detail)
        return template.format(node=problem.node_id or "", detail=detail)

    def _link_name(self, field: str) -> str:
        """ "options[1].next" -> "opção 2", "on_fail" -> "se falhar"…"""
        found = re.fullmatch(r"(options|rules)\[(\d+)\]\.next", field)
        if found:
            return self.t[f"editor.linkname.{found.group(1)}"].format(n=int(found.group(2)) + 1)
        trigger = re.fullmatch(r"trigger '(.*)'", field)
        if trigger:
            return self.t["editor.linkname.trigger"].format(word=trigger.group(1))
        return self.t.get(f"editor.linkname.{field}", field)

    def _detail_text(self, detail: str) -> str:
        for pattern, key in _DETAILS:
            found = re.fullmatch(pattern, detail)
            if found:
                return self.t[key].format(*found.groups())
        return detail

    def _refresh_map(self, nodes: dict[str, dict[str, Any]], by_node: dict[str, list[str]]) -> None:
        placed, width, height = fl.place(self._flow)
        spots = {p.node_id: p for p in placed}
        start = self._flow.get("start")
        show = self.show_problems
        self.map_cards = [{
            "id": p.node_id, "type": nodes[p.node_id].get("type", ""),
            "type_label": self.t.get("editor.type." + str(nodes[p.node_id].get("type")), "?"),
            "color": TYPE_COLORS.get(str(nodes[p.node_id].get("type")), "gray"),
            "summary": self._summary(nodes[p.node_id]), "left": f"{p.x}px", "top": f"{p.y}px",
            "selected": "1" if p.node_id == self.sel_id else "",
            "start": "1" if p.node_id == start else "",
            "problem": (by_node.get(p.node_id) or [""])[0] if show else "",
        } for p in placed]
        edges = []
        loops = False
        for source, node in nodes.items():
            for link in fl.links(node):
                if link.target not in spots:
                    continue
                d, lx, ly = fl.edge_path(spots[source], spots[link.target])
                loops = loops or spots[link.target].x <= spots[source].x
                label = self.t.get(link.label, link.label) if link.key else link.label
                edges.append({"d": d, "lx": str(lx), "ly": str(ly), "label": label[:24]})
        self.map_edges = edges
        self.map_width = f"{width}px"
        self.map_height = f"{height + (fl.GAP_Y + 24 if loops else 0)}px"

    def _summary(self, node: dict[str, Any]) -> str:
        kind = node.get("type")
        if kind == "menu":
            text = str(node.get("text") or "")
            return text or self.t["editor.summary.options"].format(n=len(node.get("options") or []))
        if kind == "condition":
            return self.t["editor.summary.rules"].format(n=len(node.get("rules") or []))
        if kind == "set":
            return f"{node.get('attribute') or ''} = {node.get('value') or ''} {node.get('label') or ''}".strip()
        if kind == "handoff":
            team = next((t["name"] for t in self.team_options if t["id"] == str(node.get("team_id"))), "")
            return team or self.t["editor.team.none"]
        return str(node.get("text") or "")[:90]

    def _refresh_selected(self, nodes: dict[str, dict[str, Any]], by_node: dict[str, list[str]]) -> None:
        node = nodes.get(self.sel_id)
        if node is None:
            self.sel_id, self.sel, self.sel_options, self.sel_rules, self.sel_problems = "", {}, [], [], []
            return
        scalars = {k: v for k, v in node.items() if k not in ("options", "rules")}
        self.sel = {k: self._form_value(k, v) for k, v in scalars.items()}
        self.sel["is_start"] = "1" if self._flow.get("start") == self.sel_id else ""
        self.sel_options = [{"id": str(o.get("id") or ""), "label": str(o.get("label") or ""),
                             "keywords": self._csv_view(f"{self.sel_id}:{i}", o.get("keywords") or []),
                             "next": str(o.get("next") or "")} for i, o in enumerate(node.get("options") or [])]
        self.sel_rules = [{"kind": str(r.get("kind") or "keyword"), "value": str(r.get("value") or ""),
                           "attribute": str(r.get("attribute") or ""), "op": str(r.get("op") or "eq"),
                           "team_id": str(r.get("team_id") or NONE), "next": str(r.get("next") or "")}
                          for r in node.get("rules") or []]
        self.sel_problems = by_node.get(self.sel_id, []) if self.show_problems else []

    @staticmethod
    def _form_value(key: str, value: Any) -> str:
        if key == "team_id":
            return str(value) if value else NONE
        return "" if value is None else str(value)

    def _refresh_settings(self) -> None:
        triggers = self._flow.setdefault("triggers", {})
        settings = self._flow.setdefault("settings", {})
        self.cfg = {
            "new_conversation": "1" if triggers.get("new_conversation", True) else "",
            "exit_keywords": self._csv_view("exit_keywords", settings.get("exit_keywords") or []),
            "inactivity_minutes": str(settings.get("inactivity_minutes") or ""),
            "inactivity_text": str(settings.get("inactivity_text") or ""),
            "debounce_seconds": str(settings.get("debounce_seconds") if settings.get("debounce_seconds") is not None
                                    else ""),
            "max_retries": str(settings.get("max_retries") if settings.get("max_retries") is not None else ""),
            "fallback_text": str(settings.get("fallback_text") or ""),
            "handoff_team_id": str(settings.get("handoff_team_id") or NONE),
            "out_of_hours_text": str(settings.get("out_of_hours_text") or ""),
        }
        self.trigger_rows = [{"keyword": str(k.get("keyword") or ""), "node": str(k.get("node") or "")}
                             for k in triggers.get("keywords") or []]

    def _csv_view(self, key: str, items: list[str]) -> str:
        raw = self._csv_raw.get(key)
        return raw if raw is not None and _csv(raw) == list(items) else ", ".join(items)

    def _changed(self) -> None:
        """After any edit: mark unsaved and recompute. The test chat is replayed only when the tester acts
        (typing in a field must not run the flow, whose AI steps call the tenant's model)."""
        self.dirty = True
        self.sim_stale = bool(self.sim_rows)
        self._refresh()

    # ------------------------------------------------------------- node edits

    @rx.event
    def select_node(self, node_id: str):
        if node_id in self._nodes():
            self.sel_id, self.rename_to, self.rename_error = node_id, node_id, ""
            self._refresh()

    def _new_id(self, kind: str) -> str:
        prefix = self.t.get(f"editor.idprefix.{kind}", kind)
        n = 1
        while f"{prefix}_{n}" in self._nodes():
            n += 1
        return f"{prefix}_{n}"

    def _add(self, kind: str) -> str:
        node_id = self._new_id(kind)
        self._nodes()[node_id] = _blank(kind)
        if not self._flow.get("start"):
            self._flow["start"] = node_id
        return node_id

    @rx.event
    def add_node(self, kind: str):
        """A new, unlinked node of `kind`; link it from another node's target dropdown."""
        if kind not in NODE_TYPES:
            return None
        self.sel_id = self.rename_to = self._add(kind)
        return self._changed()

    @rx.event
    def duplicate_node(self):
        node = self._nodes().get(self.sel_id)
        if node is None:
            return None
        node_id = self._new_id(str(node.get("type")))
        self._nodes()[node_id] = copy.deepcopy(node)
        self.sel_id = self.rename_to = node_id
        return self._changed()

    @rx.event
    def set_start(self):
        if self.sel_id in self._nodes():
            self._flow["start"] = self.sel_id
            return self._changed()
        return None

    @rx.event
    def change_type(self, kind: str):
        """Turn the selected node into another type, keeping its text."""
        node = self._nodes().get(self.sel_id)
        if node is None or kind not in NODE_TYPES or node.get("type") == kind:
            return None
        fresh = _blank(kind)
        if "text" in fresh and node.get("text"):
            fresh["text"] = node["text"]
        self._nodes()[self.sel_id] = fresh
        return self._changed()

    def _target(self, value: str) -> str:
        """A dropdown value as a node id: "+ novo nó" creates a message node right away."""
        if value == NEW:
            return self._add("message")
        return "" if value == NONE else value

    @rx.event
    def set_field(self, field: str, value: str):
        """One scalar field of the selected node."""
        node = self._nodes().get(self.sel_id)
        if node is None:
            return None
        if field in TARGET_FIELDS:
            node[field] = self._target(value)
        elif field in INT_FIELDS:
            node[field] = int(value) if value.strip().isdigit() else None
        elif field == "team_id":
            node[field] = int(value) if value.isdigit() else None
        elif field in ("text", "style", "button_label", "retry_text", "kind", "attribute", "value", "label",
                       "reason"):
            node[field] = value
        else:
            return None
        return self._changed()

    @rx.event
    def set_rename(self, value: str):
        self.rename_to, self.rename_error = value, ""

    @rx.event
    def rename_node(self):
        """Give the selected node another id, updating every link, trigger and the start to it."""
        new, old = self.rename_to.strip().lower(), self.sel_id
        if new == old or old not in self._nodes():
            return None
        if not _ID_OK.match(new):
            self.rename_error = self.t["editor.rename.bad"]
            return None
        if new in self._nodes():
            self.rename_error = self.t["editor.rename.taken"]
            return None
        nodes = self._nodes()
        self._flow["nodes"] = {(new if k == old else k): v for k, v in nodes.items()}
        _retarget(self._flow, old, new)
        self.sel_id = new
        return self._changed()

    # Menu options and condition rules: rows addressed by index.

    def _rows(self, key: str) -> list[dict[str, Any]] | None:
        node = self._nodes().get(self.sel_id)
        return None if node is None else node.setdefault(key, [])

    @rx.event
    def add_option(self):
        options = self._rows("options")
        if options is None:
            return None
        used = {o.get("id") for o in options}
        n = len(options) + 1
        while f"o{n}" in used:
            n += 1
        options.append({"id": f"o{n}", "label": "", "keywords": [], "next": ""})
        return self._changed()

    @rx.event
    def set_option(self, index: int, field: str, value: str):
        options = self._rows("options")
        if options is None or not 0 <= index < len(options):
            return None
        if field == "keywords":
            options[index]["keywords"] = _csv(value)
            self._csv_raw[f"{self.sel_id}:{index}"] = value
        elif field == "next":
            options[index]["next"] = self._target(value)
        elif field == "label":
            options[index]["label"] = value
        return self._changed()

    @rx.event
    def remove_option(self, index: int):
        options = self._rows("options")
        if options is not None and 0 <= index < len(options):
            options.pop(index)
            return self._changed()
        return None

    @rx.event
    def add_rule(self):
        rules = self._rows("rules")
        if rules is None:
            return None
        rules.append({"kind": "keyword", "value": "", "next": ""})
        return self._changed()

    @rx.event
    def set_rule(self, index: int, field: str, value: str):
        rules = self._rows("rules")
        if rules is None or not 0 <= index < len(rules):
            return None
        rule = rules[index]
        if field == "next":
            rule["next"] = self._target(value)
        elif field == "team_id":
            rule["team_id"] = int(value) if value.isdigit() else None
        elif field == "kind":
            rules[index] = _rule_of_kind(value, rule)
        elif field in ("value", "attribute", "op"):
            rule[field] = value
        return self._changed()

    @rx.event
    def remove_rule(self, index: int):
        rules = self._rows("rules")
        if rules is not None and 0 <= index < len(rules):
            rules.pop(index)
            return self._changed()
        return None

    # Deleting a node.

    @rx.event
    def ask_delete(self):
        if self.sel_id in self._nodes():
            self.delete_id = self.sel_id
            self.delete_links = ", ".join(fl.incoming(self._nodes(), self.sel_id))

    @rx.event
    def set_delete_open(self, is_open: bool):
        if not is_open:
            self.delete_id = self.delete_links = ""

    @rx.event
    def confirm_delete(self):
        """Remove the node and every link into it (those become empty, and validation will say so)."""
        node_id, self.delete_id, self.delete_links = self.delete_id, "", ""
        if node_id not in self._nodes():
            return None
        del self._nodes()[node_id]
        _retarget(self._flow, node_id, "")
        if self._flow.get("start") == node_id:
            self._flow["start"] = next(iter(self._nodes()), "")
        self._flow.get("layout", {}).pop(node_id, None)
        self.sel_id = ""
        return self._changed()

    # ---------------------------------------------------------- flow settings

    @rx.event
    def set_setting(self, field: str, value: str):
        settings = self._flow.setdefault("settings", {})
        if field == "exit_keywords":
            settings[field] = _csv(value)
            self._csv_raw[field] = value
        elif field in ("inactivity_minutes", "debounce_seconds", "max_retries"):
            settings[field] = int(value) if value.strip().isdigit() else None
        elif field == "handoff_team_id":
            settings[field] = int(value) if value.isdigit() else None
        elif field in ("inactivity_text", "fallback_text", "out_of_hours_text"):
            settings[field] = value or None if field == "out_of_hours_text" else value
        else:
            return None
        return self._changed()

    @rx.event
    def set_new_conversation(self, checked: bool):
        self._flow.setdefault("triggers", {})["new_conversation"] = bool(checked)
        return self._changed()

    @rx.event
    def add_trigger(self):
        keywords = self._flow.setdefault("triggers", {}).setdefault("keywords", [])
        keywords.append({"keyword": "", "node": self._flow.get("start") or ""})
        return self._changed()

    @rx.event
    def set_trigger(self, index: int, field: str, value: str):
        keywords = self._flow.setdefault("triggers", {}).setdefault("keywords", [])
        if 0 <= index < len(keywords) and field in ("keyword", "node"):
            keywords[index][field] = self._target(value) if field == "node" else value
            return self._changed()
        return None

    @rx.event
    def remove_trigger(self, index: int):
        keywords = self._flow.setdefault("triggers", {}).setdefault("keywords", [])
        if 0 <= index < len(keywords):
            keywords.pop(index)
            return self._changed()
        return None

    # ------------------------------------------------------ save and publish

    def _definition(self) -> dict[str, Any]:
        """The draft as the services store it: empty targets dropped."""
        out = copy.deepcopy(self._flow)
        out["nodes"] = {k: _clean(v) for k, v in self._nodes().items()}
        return out

    def _save(self, actor) -> None:
        with transaction() as session:
            bot.save_draft(session, actor=actor, inbox_id=int(self.inbox_id), definition=self._definition())
        self.dirty = False

    @rx.event
    def save_draft(self):
        """Store the draft; the bot keeps running the published version."""
        try:
            actor = self._require(ROLE)
            self._save(actor)
        except Exception as exc:
            return rx.toast.error(self._error_text(exc))
        return [rx.toast.success(self.t["editor.saved"]), BotSettingsState.reload_meta]

    @rx.event
    def validate(self):
        """Show the problems next to the nodes without publishing."""
        self.show_problems = True
        self._refresh()
        if self.problems:
            return rx.toast.warning(self.t["editor.has_problems"].format(n=len(self.problems)))
        return rx.toast.success(self.t["editor.no_problems"])

    @rx.event
    def publish(self):
        """Save, then publish; the service validates again and refuses a flow with problems."""
        self.show_problems = True
        self._refresh()
        if self.problems:
            return rx.toast.error(self.t["editor.publish_blocked"].format(n=len(self.problems)))
        try:
            actor = self._require(ROLE)
            self._save(actor)
            with transaction() as session:
                version = bot.publish(session, actor=actor, inbox_id=int(self.inbox_id))
        except ValidationError as exc:
            # The server validated the saved draft again and refused it: show its problems the same way.
            found = getattr(exc, "problems", None) or []
            self.problems = [{"node": p.node_id or "", "code": p.code, "text": self._problem_text(p)} for p in found]
            self._refresh_map(self._nodes(), self._problems_by_node())
            return rx.toast.error(self.t["editor.publish_blocked"].format(n=max(1, len(found))))
        except Exception as exc:
            return rx.toast.error(self._error_text(exc))
        number = _attr(version, "version") or version
        return [rx.toast.success(self.t["editor.published"].format(v=number)), BotSettingsState.reload_meta]

    @rx.event
    def reload_meta(self):
        """Versions and dates after a save or publish, keeping the editor as it is."""
        try:
            actor = self._require(ROLE)
            with transaction() as session:
                view = bot.get_flow(session, actor=actor, inbox_id=int(self.inbox_id))
                version_list = bot.list_versions(session, actor=actor, inbox_id=int(self.inbox_id))
        except Exception as exc:
            return rx.toast.error(self._error_text(exc))
        flow = self._flow
        self._apply_view(view, version_list, actor.timezone)
        self._flow = flow
        self._refresh()
        return None

    # ------------------------------------------------------------ advanced JSON

    @rx.event
    def open_json(self):
        self.json_text = json.dumps(self._definition(), ensure_ascii=False, indent=2)
        self.json_error, self.json_open = "", True

    @rx.event
    def set_json_open(self, is_open: bool):
        self.json_open = is_open

    @rx.event
    def set_json_text(self, value: str):
        self.json_text, self.json_error = value, ""

    @rx.event
    def apply_json(self):
        """Replace the draft being edited by the JSON typed (still only a draft until saved)."""
        try:
            data = json.loads(self.json_text)
        except ValueError as exc:
            self.json_error = self.t["editor.json.bad"].format(detail=str(exc))
            return None
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
            self.json_error = self.t["editor.json.shape"]
            return None
        self._flow = _normalise(data)
        self.sel_id = self._flow.get("start") or ""
        self.json_open = False
        return self._changed()

    # --------------------------------------------------------------- test chat

    @rx.event
    def set_sim_input(self, value: str):
        self.sim_input = value

    @rx.event
    def sim_restart(self):
        self._sim_transcript, self.sim_input = [], ""
        return self._run_sim()

    @rx.event
    def sim_send(self, _form: dict | None = None):
        text = self.sim_input.strip()
        if not text or self.sim_ended:
            return None
        self._sim_transcript = [*self._sim_transcript, {"text": text}]
        self.sim_input = ""
        return self._run_sim()

    @rx.event
    def sim_choose(self, reply_id: str, label: str):
        if self.sim_ended:
            return None
        self._sim_transcript = [*self._sim_transcript, {"reply_id": reply_id, "text": label}]
        return self._run_sim()

    def _run_sim(self):
        """Replay the tester's inputs against the draft as it is on screen (never sends anything out)."""
        self.sim_stale = False
        if not self._nodes() or not self._flow.get("start"):
            self.sim_rows, self.sim_node, self.sim_vars, self.sim_ended = [], "", [], ""
            return None
        try:
            actor = self._require(ROLE)
            with transaction() as session:
                lines = bot.simulate(session, actor=actor, definition=self._definition(),
                                     transcript=list(self._sim_transcript))
        except Exception as exc:
            self.sim_rows = [SimRow(side="event", text=self._error_text(exc))]
            return None
        self._show_sim(lines)
        return None

    def _show_sim(self, lines: list[Any]) -> None:
        rows: list[SimRow] = []
        self.sim_ended, self.sim_node, self.sim_vars = "", "", []
        for line in lines:
            rows.extend(self._sim_row(line))
            node = _attr(line, "node_id", "node")
            if node:
                self.sim_node = str(node)
            variables = _attr(line, "variables", "attributes")
            if isinstance(variables, dict):
                self.sim_vars = [{"name": str(k), "value": str(v)} for k, v in variables.items()]
        self.sim_rows = rows

    def _sim_row(self, line: Any) -> list[SimRow]:
        kind = str(_attr(line, "kind", "type") or "")
        text = str(_attr(line, "text") or "")
        if kind in ("customer", "user", "in"):
            return [SimRow(side="customer", text=text)]
        if kind in ("handoff",):
            team = _attr(line, "team_name") or next(
                (t["name"] for t in self.team_options if t["id"] == str(_attr(line, "team_id"))), "")
            self.sim_ended = "handoff"
            reason = str(_attr(line, "reason") or "")
            event = self.t["editor.sim.handoff"].format(team=team or self.t["editor.team.none"],
                                                        reason=self.t.get(f"editor.reason.{reason}", reason))
            return ([SimRow(side="bot", text=text)] if text else []) + [SimRow(side="event", text=event)]
        if kind in ("close", "closed"):
            self.sim_ended = "close"
            return ([SimRow(side="bot", text=text)] if text else []) + [
                SimRow(side="event", text=self.t["editor.sim.closed"])]
        if kind in ("set_attribute", "attribute"):
            return [SimRow(side="event", text=self.t["editor.sim.attribute"].format(
                name=_attr(line, "name", "attribute") or "", value=_attr(line, "value") or ""))]
        if kind in ("label", "add_label"):
            return [SimRow(side="event", text=self.t["editor.sim.label"].format(
                label=_attr(line, "label", "value") or text))]
        if kind in ("event", "info", "ai", "error"):
            return [SimRow(side="event", text=text)]
        choices = [SimChoice(id=str(_attr(c, "id") or ""), label=str(_attr(c, "label", "title") or ""))
                   for c in _attr(line, "choices", "buttons", "options") or []]
        footer = str(_attr(line, "button_label") or "")
        return [SimRow(side="bot", text=text, choices=choices, footer=footer)] if text or choices else []


def _csv(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


def _attr(obj: Any, *names: str) -> Any:
    """A field of a service result, whether it is a dataclass, a row or a dict."""
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return None


def _normalise(flow: dict[str, Any]) -> dict[str, Any]:
    """Fill each node with the fields its form shows, so editing never meets a missing key."""
    nodes = flow.get("nodes") if isinstance(flow.get("nodes"), dict) else {}
    for node_id, node in list(nodes.items()):
        kind = node.get("type") if isinstance(node, dict) else None
        if kind in NODE_TYPES:
            nodes[node_id] = {**_blank(kind), **node}
    flow["nodes"] = nodes
    flow.setdefault("start", next(iter(nodes), ""))
    flow.setdefault("triggers", {"new_conversation": True, "keywords": []})
    flow.setdefault("settings", {})
    flow.setdefault("layout", {})
    return flow


def _rule_of_kind(kind: str, old: dict[str, Any]) -> dict[str, Any]:
    """A condition rule of another kind, keeping its target."""
    rule: dict[str, Any] = {"kind": kind, "next": old.get("next") or ""}
    if kind in ("keyword", "contains", "regex"):
        rule["value"] = old.get("value") or ""
    elif kind == "business_hours":
        rule["team_id"] = None
    elif kind == "attribute":
        rule.update(attribute=old.get("attribute") or "", op="eq", value=old.get("value") or "")
    else:
        return old
    return rule


def _retarget(flow: dict[str, Any], old: str, new: str) -> None:
    """Point every link, trigger and the start that named `old` at `new` ("" removes the link)."""
    if flow.get("start") == old:
        flow["start"] = new
    for node in flow.get("nodes", {}).values():
        for field in TARGET_FIELDS:
            if node.get(field) == old:
                node[field] = new
        for row in (node.get("options") or []) + (node.get("rules") or []):
            if row.get("next") == old:
                row["next"] = new
    for trigger in (flow.get("triggers") or {}).get("keywords") or []:
        if trigger.get("node") == old:
            trigger["node"] = new
    layout = flow.get("layout") or {}
    if old in layout and new:
        layout[new] = layout.pop(old)
