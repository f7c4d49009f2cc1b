"""/settings/bot: admins edit each inbox's flow (map + form), validate, publish and try the draft.

The flow being edited lives in a backend-only var (`_flow`); everything the page shows is derived from it
by `_refresh()` into plain rows of strings (`domain.flows.editor_rows`), so the browser never needs to
understand the flow JSON. Edits are `domain.flows.editing` operations on `_flow`; every handler that touches
the database goes through `services.bot`, which checks role and tenant again.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import reflex as rx

from crm_app.domain import flows
from crm_app.domain.flows import editing, editor_rows, layout
from crm_app.domain.flows.editor_rows import SimRow
from crm_app.domain.timefmt import format_local
from crm_app.errors import CRMError, ValidationError
from crm_app.services import bot, call
from crm_app.state.errors import crm_error_text, toast_errors
from crm_app.state.session import SessionState

ROLE = "admin"
NODE_TYPES = flows.NODE_TYPES
NEW = editing.NEW_TARGET
NONE = editing.NO_TARGET


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

    @rx.event
    @toast_errors
    def load(self):
        """on_load: the tenant's inboxes and teams, then the first inbox's flow."""
        choices = call(bot.editor_choices, actor=self._require(ROLE))
        self.inbox_options = [{"id": str(i.id), "name": f"{i.name} · {i.display_number}"} for i in choices.inboxes]
        self.team_options = [{"id": str(t.id), "name": t.name} for t in choices.teams]
        if self.inbox_id not in {row["id"] for row in self.inbox_options}:
            self.inbox_id = self.inbox_options[0]["id"] if self.inbox_options else ""
        self.loaded = True
        return self._load_flow()

    @rx.event
    @toast_errors
    def pick_inbox(self, inbox_id: str):
        """Switch inbox; unsaved edits of the previous one are dropped (the button warns by its badge)."""
        if inbox_id in {row["id"] for row in self.inbox_options}:
            self.inbox_id = inbox_id
            return self._load_flow()
        return None

    def _load_flow(self):
        self._flow, self.versions, self.sel_id, self.show_problems = {}, [], "", False
        self.published_version = self.published_at = self.draft_info = ""
        self._refresh()  # a failed load shows an empty editor, never the previous inbox's flow
        if not self.inbox_id:
            return None
        actor = self._require(ROLE)
        self._apply_view(call(bot.get_flow_editor, actor=actor, inbox_id=int(self.inbox_id)), actor.timezone)
        self.dirty = False
        self.sel_id = self._flow.get("start") if self._flow.get("start") in self._nodes() else ""
        self._sim_transcript = []
        self._refresh()
        return self._run_sim()

    def _apply_view(self, editor: bot.FlowEditorView, timezone: str) -> None:
        self._flow = editing.normalise_flow(copy.deepcopy(editor.flow.draft or flows.empty_flow()))
        published = editor.flow.published_version or 0
        self.published_version = str(published) if published else ""
        updated = editor.flow.draft_updated_at
        self.draft_info = format_local(updated, timezone) if updated else ""
        self.versions = editor_rows.version_rows(editor.versions, timezone)
        self.published_at = next((v["at"] for v in self.versions if v["version"] == self.published_version), "")

    def _nodes(self) -> dict[str, dict[str, Any]]:
        return self._flow.setdefault("nodes", {})

    def _prefixes(self) -> dict[str, str]:
        """New node ids start with a word of the admin's language ("mensagem_1")."""
        return {kind: self.t.get(f"editor.idprefix.{kind}", kind) for kind in NODE_TYPES}

    def _refresh(self) -> None:
        """Recompute every shown row from `_flow` (problems, map, choices, form, settings)."""
        self._nodes()  # an empty draft is an empty map, not a flow without nodes
        self.problems = editor_rows.problem_rows(editor_rows.sorted_problems(self._flow), self.t)
        self._refresh_map()
        self.node_choices = editor_rows.node_choices(self._flow, self.t)
        if self.sel_id in self._nodes():
            self.sel, self.sel_options, self.sel_rules = editor_rows.selected_form(self._flow, self.sel_id,
                                                                                  self._csv_raw)
            self.sel_problems = self._shown_problems().get(self.sel_id, [])
        else:
            self.sel_id, self.sel, self.sel_options, self.sel_rules, self.sel_problems = "", {}, [], [], []
        self.cfg, self.trigger_rows = editor_rows.settings_form(self._flow, self._csv_raw)

    def _shown_problems(self) -> dict[str, list[str]]:
        return editor_rows.problems_by_node(self.problems) if self.show_problems else {}

    def _refresh_map(self) -> None:
        view = editor_rows.map_view(self._flow, self.t, self.team_options, self.sel_id, self._shown_problems())
        self.map_cards, self.map_edges, self.map_width, self.map_height = (view.cards, view.edges, view.width,
                                                                           view.height)

    def _changed(self) -> None:
        """After any edit: mark unsaved and recompute. The test chat is replayed only when the tester acts
        (typing in a field must not run the flow, whose AI steps call the tenant's model)."""
        self.dirty = True
        self.sim_stale = bool(self.sim_rows)
        self._refresh()

    def _select(self, node_id: str | None) -> None:
        if node_id:
            self.sel_id = self.rename_to = node_id
            self._changed()

    @rx.event
    @toast_errors
    def select_node(self, node_id: str):
        if node_id in self._nodes():
            self.sel_id, self.rename_to, self.rename_error = node_id, node_id, ""
            self._refresh()

    @rx.event
    @toast_errors
    def add_node(self, kind: str):
        """A new, unlinked node of `kind`; link it from another node's target dropdown."""
        self._select(editing.add_node(self._flow, kind, self._prefixes()))

    @rx.event
    @toast_errors
    def duplicate_node(self):
        self._select(editing.duplicate_node(self._flow, self.sel_id, self._prefixes()))

    @rx.event
    @toast_errors
    def set_start(self):
        if editing.set_start(self._flow, self.sel_id):
            self._changed()

    @rx.event
    @toast_errors
    def change_type(self, kind: str):
        """Turn the selected node into another type, keeping its text."""
        if editing.change_type(self._flow, self.sel_id, kind):
            self._changed()

    @rx.event
    @toast_errors
    def set_field(self, field: str, value: str):
        """One scalar field of the selected node ("+ novo nó" in a target creates a message node)."""
        if editing.set_node_field(self._flow, self.sel_id, field, value, self._prefixes()):
            self._changed()

    @rx.event
    def set_rename(self, value: str):
        self.rename_to, self.rename_error = value, ""

    @rx.event
    @toast_errors
    def rename_node(self):
        """Give the selected node another id, updating every link, trigger and the start to it."""
        try:
            new = editing.rename_node(self._flow, self.sel_id, self.rename_to)
        except editing.InvalidNodeId as exc:
            self.rename_error = self.t[f"editor.rename.{exc.reason}"]
            return
        if new:
            self.sel_id = new
            self._changed()

    @rx.event
    @toast_errors
    def add_option(self):
        if editing.add_option(self._flow, self.sel_id):
            self._changed()

    @rx.event
    @toast_errors
    def set_option(self, index: int, field: str, value: str):
        if editing.set_option(self._flow, self.sel_id, index, field, value, self._prefixes()):
            if field == "keywords":
                self._csv_raw[f"{self.sel_id}:{index}"] = value
            self._changed()

    @rx.event
    @toast_errors
    def remove_option(self, index: int):
        if editing.remove_row(self._flow, self.sel_id, "options", index):
            self._changed()

    @rx.event
    @toast_errors
    def add_rule(self):
        if editing.add_rule(self._flow, self.sel_id):
            self._changed()

    @rx.event
    @toast_errors
    def set_rule(self, index: int, field: str, value: str):
        if editing.set_rule(self._flow, self.sel_id, index, field, value, self._prefixes()):
            self._changed()

    @rx.event
    @toast_errors
    def remove_rule(self, index: int):
        if editing.remove_row(self._flow, self.sel_id, "rules", index):
            self._changed()

    @rx.event
    @toast_errors
    def ask_delete(self):
        if self.sel_id in self._nodes():
            self.delete_id = self.sel_id
            self.delete_links = ", ".join(layout.incoming(self._nodes(), self.sel_id))

    @rx.event
    def set_delete_open(self, is_open: bool):
        if not is_open:
            self.delete_id = self.delete_links = ""

    @rx.event
    @toast_errors
    def confirm_delete(self):
        """Remove the node and every link into it (those become empty, and validation will say so)."""
        node_id, self.delete_id, self.delete_links = self.delete_id, "", ""
        if editing.delete_node(self._flow, node_id):
            self.sel_id = ""
            self._changed()

    @rx.event
    @toast_errors
    def set_setting(self, field: str, value: str):
        if editing.set_setting(self._flow, field, value):
            if field == "exit_keywords":
                self._csv_raw[field] = value
            self._changed()

    @rx.event
    @toast_errors
    def set_new_conversation(self, checked: bool):
        editing.set_new_conversation(self._flow, checked)
        self._changed()

    @rx.event
    @toast_errors
    def add_trigger(self):
        editing.add_trigger(self._flow)
        self._changed()

    @rx.event
    @toast_errors
    def set_trigger(self, index: int, field: str, value: str):
        if editing.set_trigger(self._flow, index, field, value, self._prefixes()):
            self._changed()

    @rx.event
    @toast_errors
    def remove_trigger(self, index: int):
        if editing.remove_trigger(self._flow, index):
            self._changed()

    def _definition(self) -> dict[str, Any]:
        """The draft as the services store it: empty targets dropped."""
        return editing.stored_flow(self._flow)

    @rx.event
    @toast_errors
    def save_draft(self):
        """Store the draft; the bot keeps running the published version."""
        call(bot.save_draft, actor=self._require(ROLE), inbox_id=int(self.inbox_id), definition=self._definition())
        self.dirty = False
        return [rx.toast.success(self.t["editor.saved"]), BotSettingsState.reload_meta]

    @rx.event
    @toast_errors
    def validate(self):
        """Show the problems next to the nodes without publishing."""
        self.show_problems = True
        self._refresh()
        if self.problems:
            return rx.toast.warning(self.t["editor.has_problems"].format(n=len(self.problems)))
        return rx.toast.success(self.t["editor.no_problems"])

    @rx.event
    @toast_errors
    def publish(self):
        """Save, then publish; the service validates again and refuses a flow with problems."""
        self.show_problems = True
        self._refresh()
        if self.problems:
            return rx.toast.error(self.t["editor.publish_blocked"].format(n=len(self.problems)))
        actor = self._require(ROLE)
        try:
            outcome = call(bot.save_and_publish, actor=actor, inbox_id=int(self.inbox_id),
                           definition=self._definition())
        except ValidationError as exc:  # the draft was refused before it was saved
            return self._refused(getattr(exc, "problems", None) or [])
        self.dirty = False
        if outcome.version is None:
            return self._refused(outcome.problems)
        return [rx.toast.success(self.t["editor.published"].format(v=outcome.version.version)),
                BotSettingsState.reload_meta]

    def _refused(self, found: list[flows.FlowProblem]):
        """The server validated the saved draft again and refused it: show its problems the same way."""
        self.problems = editor_rows.problem_rows(found, self.t)
        self._refresh_map()
        return rx.toast.error(self.t["editor.publish_blocked"].format(n=max(1, len(found))))

    @rx.event
    @toast_errors
    def reload_meta(self):
        """Versions and dates after a save or publish, keeping the editor as it is."""
        actor = self._require(ROLE)
        editor = call(bot.get_flow_editor, actor=actor, inbox_id=int(self.inbox_id))
        flow = self._flow
        self._apply_view(editor, actor.timezone)
        self._flow = flow
        self._refresh()

    @rx.event
    @toast_errors
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
    @toast_errors
    def apply_json(self):
        """Replace the draft being edited by the JSON typed (still only a draft until saved)."""
        try:
            self._flow = editing.draft_from_json(self.json_text)
        except editing.DraftShapeError:
            self.json_error = self.t["editor.json.shape"]
            return
        except ValueError as exc:
            self.json_error = self.t["editor.json.bad"].format(detail=str(exc))
            return
        self.sel_id = self._flow.get("start") or ""
        self.json_open = False
        self._changed()

    @rx.event
    def set_sim_input(self, value: str):
        self.sim_input = value

    @rx.event
    @toast_errors
    def sim_restart(self):
        self._sim_transcript, self.sim_input = [], ""
        return self._run_sim()

    @rx.event
    @toast_errors
    def sim_send(self, _form: dict | None = None):
        text = self.sim_input.strip()
        if not text or self.sim_ended:
            return None
        self._sim_transcript = [*self._sim_transcript, {"text": text}]
        self.sim_input = ""
        return self._run_sim()

    @rx.event
    @toast_errors
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
            lines = call(bot.simulate, actor=self._require(ROLE), definition=self._definition(),
                         transcript=list(self._sim_transcript))
        except CRMError as exc:  # said in the chat itself, where the tester is looking
            self.sim_rows = [SimRow(side="event", text=crm_error_text(self.lang, exc))]
            return None
        view = editor_rows.sim_view(lines, self.t, self.team_options)
        self.sim_rows, self.sim_ended, self.sim_node, self.sim_vars = view.rows, view.ended, view.node, view.variables
        return None
