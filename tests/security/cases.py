"""The isolation case table: every Reflex event handler of the app, and how it is attacked.

`HANDLERS["State.handler"]` is either
- `UI(reason)`: the handler touches no tenant data (a form field, a dialog flag, a local editor buffer); or
- `Attack(steps, ...)`: run as (a) an admin of tenant A aimed at tenant B's ids and (b) each role of tenant B the page
  does not admit; after it, tenant B's rows must be unchanged and nothing of B may be in the state or the result.
  `preset` forges public vars first: the client can set those itself (setvar), so handlers must not trust them.
  `reads=True` adds a positive control: B's own admin running the same steps does see the VICTIM marker, which shows
  the ids really reach data (otherwise the attack proves nothing). `writes=True` is the same control for changes:
  after the attacks, B's own admin running the steps does change B's rows.

Args: "B:kind" is tenant B's id of that kind as a string, "iB:kind" as an int.
A handler the enumeration finds that is not in this table fails `test_every_handler_is_in_the_case_table`.
Keys with a "#variant" suffix are extra attacks on the same handler (another preset or argument).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UI:
    reason: str


@dataclass(frozen=True)
class Attack:
    steps: tuple[tuple[str, tuple], ...]
    preset: dict = field(default_factory=dict)
    reads: bool = False
    roles: frozenset[str] | None = None  # None: the roles of the state's page (STATE_ROLES)
    writes: bool = False


def call(name: str, *args, preset: dict | None = None, reads: bool = False, roles=None, writes=False) -> Attack:
    return Attack(((name, tuple(args)),), dict(preset or {}), reads, frozenset(roles) if roles else None, writes)


def chain(*steps, preset: dict | None = None, reads: bool = False, roles=None, writes=False) -> Attack:
    return Attack(tuple((s[0], tuple(s[1:])) for s in steps), dict(preset or {}), reads,
                  frozenset(roles) if roles else None, writes)


ALL = ("admin", "supervisor", "attendant")
EVERYONE = (*ALL, "dpo", "executive")  # pages every signed-in role opens (lateral roles included)
ALL_DPO = EVERYONE
READ_INBOX = (*ALL, "executive")
# Who may use each state: the roles of its page in crm_app.domain.access.PAGE_ROLES.
STATE_ROLES = {
    "SessionState": EVERYONE, "LoginState": EVERYONE, "InviteState": EVERYONE, "SsoLoginState": EVERYONE,
    "AccountState": EVERYONE, "AnalyticsState": (*ALL, "executive"),
    "ExportsState": ("admin", "supervisor", "executive"),
    # Executives open the inbox read-only: the reading states admit them, the writing ones (composer, actions)
    # do not, so every write handler is attacked by an executive too.
    "InboxState": READ_INBOX, "InboxListState": READ_INBOX, "InboxConversationState": READ_INBOX,
    "InboxComposerState": ALL, "InboxActionsState": ALL, "InboxLiveState": READ_INBOX,
    "CannedSettingsState": ("admin", "supervisor"),
    "SettingsState": ("admin",),
    "UsersSettingsState": ("admin",), "TeamsSettingsState": ("admin",), "SecuritySettingsState": ("admin",),
    "SsoSettingsState": ("admin",), "AuditLogState": ("admin", "dpo"), "BotSettingsState": ("admin",),
    "KnowledgeSettingsState": ("admin",), "PlatformTenantsState": ("admin",), "PlatformNavState": EVERYONE,
    "NumbersSettingsState": ("admin",), "GeneralSettingsState": ("admin",), "PlatformSettingsState": ("admin",),
    "EmailSettingsState": ("admin",),
    "WebhooksSettingsState": ("admin",),
    "SlaSettingsState": ("admin", "supervisor"),
    "ComplianceState": ("admin", "dpo"), "RequestsState": ("admin", "dpo"), "ConsentsState": ("admin", "dpo"),
    "RetentionState": ("admin", "dpo"), "IncidentsState": ("admin", "dpo"),
}

FIELD = "a form field setter: it only stores what the user typed in this tab"
DIALOG = "opens or closes a dialog in this tab"
EDITOR = "edits the flow draft held in this tab's memory; only save_draft/publish write, and those are attacked"
FILTER = "a list filter or view switch stored in this tab; the next load re-checks the actor"
PUBLIC = "part of a logged-out flow (login, invite, SSO start): it acts on no tenant's stored data by id"

_SETVAR = UI("Reflex's generic var setter; forged values are what `preset` simulates for every attacked handler")


def _ui(reason: str, *names: str) -> dict:
    return {n: UI(reason) for n in names}


def _confirm_ui(state: str) -> dict:
    """ConfirmMixin's handlers only hold which row this tab is confirming; the action handler is attacked."""
    return _ui(DIALOG, *(f"{state}.{h}" for h in ("ask_confirm", "ask_confirm_for", "cancel_confirm",
                                                    "set_confirm_open", "set_confirm_typed")))


# A settings row as the tab holds it, forged to change a setting of tenant B's (the tenant comes from the cookie).
_FORGED_SETTING = {"key": "ai.model", "kind": "text", "draft": "pwned-model", "loaded": "", "editable": "1",
                   "secret": "", "inherit": ""}
_FORGED_GLOBAL = {**_FORGED_SETTING, "key": "security.session_idle_minutes", "kind": "integer", "draft": "6"}
_SETTINGS_FIELDS = ("set_field", "set_switch", "toggle_choice", "use_default", "set_reason")

HANDLERS: dict[str, UI | Attack] = {
    # ---- shared session
    "SessionState.check_page_access": UI("the page guard: attacked route by route in test_isolation_pages.py"),
    "SessionState.set_lang": UI("the UI language cookie"),
    "SessionState.logout": UI("ends the caller's own session through /api/auth/logout (a REST route, covered there)"),
    # ---- login, invite, SSO login (logged-out flows)
    **_ui(PUBLIC, "LoginState.back_to_password", "LoginState.on_login_load", "LoginState.submit",
          "LoginState.submit_code", "InviteState.got_token", "InviteState.open_page", "InviteState.set_confirm",
          "InviteState.set_password", "InviteState.submit", "SsoLoginState.read_params", "SsoLoginState.start",
          "SsoLoginState.set_sso_open"),
    # ---- inbox: the list, the open conversation, its composer and actions, the live page
    "InboxLiveState.load": call("load", reads=False),
    "InboxLiveState.heartbeat": call("heartbeat", preset={"selected_id": "iB:conversation"}),
    "InboxLiveState.set_presence": UI("sets the caller's own presence (their own user row only; re-derived from "
                                      "cookie)"),
    "InboxListState.load_more": call("load_more"),
    **_ui(FIELD, "InboxListState.set_query"),
    **_ui(FILTER, "InboxListState.set_filter", "InboxListState.set_sort", "InboxListState.set_tab",
          "InboxListState.clear_filters", "InboxListState.clear_selection", "InboxListState.set_period"),
    # ---- analytics (the scope is the service's: A's ids get NotFound, B's figures never reach A)
    "AnalyticsState.load": call("load", reads=True),
    "AnalyticsState.load_mine": call("load_mine"),
    "AnalyticsState.set_period": call("set_period", "30d"),
    "AnalyticsState.set_filter": call("set_filter", "team", "B:team"),
    "AnalyticsState.set_filter#number": call("set_filter", "number", "B:inbox"),
    "AnalyticsState.set_filter#attendant": call("set_filter", "attendant", "B:attendant"),
    "AnalyticsState.apply_dates": call("apply_dates", preset={"period": "custom", "since": "2026-11-01",
                                                              "until": "2026-11-30", "team": "B:team"}),
    "AnalyticsState.open_day": call("open_day", [{"x": "2026-12-05", "curveNumber": 0}],
                                    preset={"team": "B:team"}),
    "AnalyticsState.open_cell": call("open_cell", [{"x": 10, "pointIndex": [1, 10]}], preset={"label": "B:team"}),
    "AnalyticsState.open_bucket": call("open_bucket", [{"x": "0-1m"}], preset={"attendant": "B:attendant"}),
    "AnalyticsState.open_timeline": call("open_timeline", "B:attendant", "x"),
    "AnalyticsState.relabel": call("relabel", preset={"analytics_loaded": True, "chart_lang": "x", "team": "B:team"}),
    "AnalyticsState.set_timeline_day": call("set_timeline_day", "2026-12-05", preset={"timeline_user": "B:attendant"}),
    "AnalyticsState.export": call("export", "conversations", "csv", preset={"team": "B:team"}),
    "AnalyticsState.export#label": call("export", "daily", "csv", preset={"label": "B:team", "number": "B:inbox"}),
    "ExportsState.load_exports": call("load_exports"),
    "ExportsState.download": call("download", "B:export"),
    "ExportsState.watch_progress": UI("a background refresh of this tab's list: each round runs _reload, the same "
                                      "checked read as load_exports, which is attacked"),
    **_ui(FIELD, "AnalyticsState.set_since", "AnalyticsState.set_until"),
    **_ui(DIALOG, "AnalyticsState.set_timeline_open"),
    "InboxConversationState.select": call("select", "iB:conversation", reads=True),
    "InboxConversationState.load_older": call("load_older", preset={"selected_id": "iB:conversation"}),
    "InboxConversationState.step": call("step", 1, preset={"selected_id": "iB:conversation"}),
    "InboxConversationState.save_contact": call("save_contact", {"name": "pwned", "email": "p@x.io"},
                                                preset={"selected_id": "iB:conversation",
                                                        "contact": {"id": "B:contact"}}, writes=True, roles=ALL),
    **_ui(FILTER, "InboxConversationState.back_to_list", "InboxConversationState.escape",
          "InboxConversationState.toggle_panel"),
    **_ui(DIALOG, "InboxConversationState.set_dialog"),
    "InboxComposerState.send": call("send", {"body": "pwned"}, preset={"selected_id": "iB:conversation"}),
    "InboxComposerState.send#note": call("send", {"body": "pwned"},
                                         preset={"selected_id": "iB:conversation", "note_mode": True}, writes=True),
    # An attendant may not take or hand over a colleague's conversation (the service's STAFF rule).
    "InboxComposerState.send#attendant": call("send", {"body": "pwned"},
                                              preset={"selected_id": "iB:admins_conversation"},
                                              roles=("admin", "supervisor")),
    "InboxComposerState.set_reply": call("set_reply", "B:message", preset={"selected_id": "iB:conversation"}),
    "InboxComposerState.use_canned": call("use_canned", "B:canned"),
    "InboxComposerState.open_canned": call("open_canned"),
    "InboxComposerState.open_templates": call("open_templates", preset={"selected_id": "iB:conversation"}),
    "InboxComposerState.pick_template": call("pick_template", "1", preset={"selected_id": "iB:conversation"}),
    "InboxComposerState.send_template": call("send_template", preset={"selected_id": "iB:conversation",
                                                                      "template_id": "1"}),
    "InboxComposerState.send_interactive": call("send_interactive", preset={
        "selected_id": "iB:conversation", "interactive_body": "pwned", "interactive_options": ["a", "b"]}),
    "InboxComposerState.typing": call("typing", preset={"selected_id": "iB:conversation"}),
    "InboxComposerState.upload": UI("reached only through Reflex's POST /_upload, which is attacked over the real "
                                    "web process: test_isolation_socket.py::test_upload_route_isolation"),
    "InboxComposerState.suggest_reply": UI("background task (needs `async with self`); calls ai.suggest_reply, "
                                           "which fetch_owned's the conversation (UNCOVERED directly)"),
    **_ui(FIELD, "InboxComposerState.set_canned_query", "InboxComposerState.set_interactive_body",
          "InboxComposerState.set_interactive_kind", "InboxComposerState.set_interactive_list_button",
          "InboxComposerState.set_interactive_option", "InboxComposerState.set_template_value",
          "InboxComposerState.add_interactive_option", "InboxComposerState.remove_interactive_option",
          "InboxComposerState.toggle_note", "InboxComposerState.clear_reply"),
    **_ui(DIALOG, "InboxComposerState.set_upload_open"),
    "InboxActionsState.take_over#attendant": call("take_over", preset={"selected_id": "iB:admins_conversation"},
                                                  roles=("admin", "supervisor")),
    "InboxActionsState.close#attendant": call("close", {"reason": "x"},
                                              preset={"selected_id": "iB:admins_conversation"},
                                              roles=("admin", "supervisor")),
    "InboxActionsState.transfer#attendant": call("transfer", {"user_id": "B:attendant"},
                                                 preset={"selected_id": "iB:admins_conversation"},
                                                 roles=("admin", "supervisor")),
    "InboxActionsState.close": call("close", {"reason": "x"}, preset={"selected_id": "iB:conversation"},
                                    writes=True),
    "InboxActionsState.reopen": call("reopen", preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.take_over": call("take_over", preset={"selected_id": "iB:conversation"}, writes=True),
    "InboxActionsState.transfer": call("transfer", {"user_id": "B:admin", "team_id": "B:team"},
                                       preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.snooze": call("snooze", {"until": "2030-01-01T10:00"},
                                     preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.add_label": call("add_label", {"label": "pwned"}, preset={"selected_id": "iB:conversation"},
                                        writes=True),
    "InboxActionsState.remove_label": call("remove_label", "x", preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.resend": call("resend", "B:message", preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.open_transfer": call("open_transfer", preset={"selected_id": "iB:conversation"}),
    "InboxActionsState.set_priority": call("set_priority", "urgent", preset={"selected_id": "iB:conversation"},
                                           writes=True),
    # An attendant (or executive, dpo) of B may not change the priority even of B's own conversation.
    "InboxActionsState.set_priority#attendant": call("set_priority", "urgent",
                                                     preset={"selected_id": "iB:conversation"},
                                                     roles=("admin", "supervisor")),
    # ---- canned responses
    "CannedSettingsState.load": call("load", reads=True),
    "CannedSettingsState.open_edit": chain(("load",), ("open_edit", "B:canned"), reads=True),
    "CannedSettingsState.confirm_delete": call("confirm_delete", preset={"confirm_id": "B:canned"}, writes=True),
    **_confirm_ui("CannedSettingsState"),
    "CannedSettingsState.save": call("save", preset={"editing_id": "B:canned", "form_code": "pwn",
                                                     "form_content": "pwned", "form_open": True}, writes=True),
    "CannedSettingsState.insert_variable": UI("inserts a {{variable}} into this tab's form"),
    "CannedSettingsState.open_new": UI("opens an empty form"),
    **_ui(FIELD, "CannedSettingsState.set_form_code", "CannedSettingsState.set_form_content"),
    **_ui(DIALOG, "CannedSettingsState.set_form_open"),
    # ---- SLA policies
    "SlaSettingsState.load": call("load", reads=True),
    "SlaSettingsState.open_edit": chain(("load",), ("open_edit", "B:sla_policy"), reads=True),
    "SlaSettingsState.confirm_delete": call("confirm_delete", preset={"confirm_id": "B:sla_policy"}, writes=True),
    **_confirm_ui("SlaSettingsState"),
    "SlaSettingsState.save": call("save", preset={"editing_id": "B:sla_policy", "form_name": "pwned",
                                                  "form_open": True}, writes=True),
    "SlaSettingsState.open_new": UI("opens an empty form"),
    **_ui(FIELD, *(f"SlaSettingsState.set_form_{f}" for f in (
        "name", "first", "next", "resolution", "business_only", "default", "enabled", "number", "team", "label",
        "attr_key", "attr_value"))),
    **_ui(DIALOG, "SlaSettingsState.set_form_open"),
    # ---- settings (inbox, api tokens, inbound replay)
    "SettingsState.load": call("load", reads=True),
    "SettingsState.open_page": call("open_page"),
    "SettingsState.confirm_revoke": call("confirm_revoke", preset={"confirm_id": "B:api_token"}, writes=True),
    **_confirm_ui("SettingsState"),
    "SettingsState.create_token": call("create_token", preset={"token_name": "pwn", "token_user_id": "B:admin",
                                                              "token_scopes": ["users:read"],
                                                              "token_form_open": True}, writes=True),
    "SettingsState.replay": call("replay", "B:dead_event", writes=True),
    **_ui(FIELD, "SettingsState.set_token_name", "SettingsState.set_token_user_id", "SettingsState.toggle_token_scope"),
    **_ui(DIALOG, "SettingsState.close_token_form", "SettingsState.open_token_form",
          "SettingsState.set_token_form_open"),
    # ---- WhatsApp numbers
    "NumbersSettingsState.load": call("load", reads=True),
    "NumbersSettingsState.verify": call("verify", "B:inbox", writes=True),
    "NumbersSettingsState.save": call("save", preset={
        "editing_id": "B:inbox", "form_active": False, "form": {
            "name": "pwned", "display_number": "+55 11 4000-0666", "phone_number_id": "100000000000666",
            "waba_id": "200000000000666", "access_token": "pwned-token", "app_secret": "", "verify_token": "",
            "graph_base_url": ""}}, writes=True),
    "NumbersSettingsState.open_edit": UI("fills the form from the rows this tab already loaded (its own tenant's, "
                                         "re-read by load); save re-checks the number's owner"),
    **_ui(FIELD, "NumbersSettingsState.set_field", "NumbersSettingsState.set_form_active"),
    **_ui(DIALOG, "NumbersSettingsState.open_new", "NumbersSettingsState.set_form_open"),
    # ---- users
    "UsersSettingsState.load": call("load", reads=True),
    "UsersSettingsState.open_page": call("open_page"),
    "UsersSettingsState.open_role": call("open_role", "B:attendant"),
    "UsersSettingsState.save_role": call("save_role", preset={"role_id": "B:attendant", "role_value": "admin"},
        writes=True),
    "UsersSettingsState.confirm_deactivate": call("confirm_deactivate", preset={
        "confirm_id": "B:attendant", "confirm_kind": "deactivate"}, writes=True),
    "UsersSettingsState.confirm_reset": call("confirm_reset", preset={"confirm_id": "B:attendant",
                                                                      "confirm_kind": "reset"}),
    **_confirm_ui("UsersSettingsState"),
    "UsersSettingsState.reactivate": call("reactivate", "B:attendant"),
    "UsersSettingsState.create_user": call("create_user", preset={
        "form_email": "pwn@example.com", "form_name": "pwn", "form_role": "admin", "form_method": "password",
        "form_password": "a-long-enough-password-77"}),
    **_ui(FIELD, "UsersSettingsState.set_form_email", "UsersSettingsState.set_form_method",
          "UsersSettingsState.set_form_name", "UsersSettingsState.set_form_password",
          "UsersSettingsState.set_form_role",
          "UsersSettingsState.set_role_value"),
    **_ui(DIALOG, "UsersSettingsState.close_link", "UsersSettingsState.open_new",
          "UsersSettingsState.set_form_open", "UsersSettingsState.set_link_open",
          "UsersSettingsState.set_role_open"),
    # ---- teams
    "TeamsSettingsState.load": call("load", reads=True),
    "TeamsSettingsState.select_team": call("select_team", "B:team", reads=True),
    "TeamsSettingsState.rename": call("rename", preset={"selected_id": "B:team", "rename_name": "pwned"}, writes=True),
    "TeamsSettingsState.confirm_delete": call("confirm_delete", preset={"selected_id": "B:team"}, writes=True),
    **_confirm_ui("TeamsSettingsState"),
    "TeamsSettingsState.add_member": call("add_member", preset={"selected_id": "B:team", "add_user_id": "B:admin"},
        writes=True),
    "TeamsSettingsState.remove_member": call("remove_member", "B:attendant", preset={"selected_id": "B:team"}),
    "TeamsSettingsState.set_capacity": call("set_capacity", "B:attendant", "99", writes=True, preset={
        "selected_id": "B:team", "member_rows": [{"user_id": "B:attendant", "capacity": "1"}]}),
    "TeamsSettingsState.save_schedule": call("save_schedule", preset={"selected_id": "B:team"}),
    "TeamsSettingsState.save_assigned_message": call("save_assigned_message", writes=True, preset={
        "selected_id": "B:team", "assigned_message": "pwned {nome}"}),
    **_ui("edits this tab's schedule draft; save_schedule writes it and is attacked",
          "TeamsSettingsState.add_holiday", "TeamsSettingsState.remove_holiday"),
    "TeamsSettingsState.create": call("create", preset={"new_name": "pwned"}, writes=True),
    "TeamsSettingsState.set_mode": call("set_mode", "least_load", preset={"selected_id": "B:team"}, writes=True),
    **_ui(FIELD, "TeamsSettingsState.set_add_user_id", "TeamsSettingsState.set_day",
          "TeamsSettingsState.set_new_holiday", "TeamsSettingsState.set_new_name", "TeamsSettingsState.set_ooh_message",
          "TeamsSettingsState.set_rename_name", "TeamsSettingsState.set_team_tz",
          "TeamsSettingsState.set_assigned_message"),
    **_ui(DIALOG, "TeamsSettingsState.open_new", "TeamsSettingsState.open_rename",
          "TeamsSettingsState.set_new_open", "TeamsSettingsState.set_rename_open"),
    # ---- e-mail settings and log
    "EmailSettingsState.load": call("load", reads=True),
    "EmailSettingsState.resend": call("resend", "B:email", writes=True),
    "EmailSettingsState.send_test": call("send_test"),
    "EmailSettingsState.use_platform": call("use_platform"),
    # The check logs in to the server first: a closed port refuses, so nothing is saved anywhere.
    "EmailSettingsState.save": call("save", preset={"host": "127.0.0.1", "port": "9", "security": "none",
                                                    "from_address": "pwn@example.com"}),
    "WebhooksSettingsState.load": call("load", reads=True),
    "WebhooksSettingsState.select": call("select", "B:webhook"),
    "WebhooksSettingsState.load#selected": call("load", preset={"selected_id": "B:webhook"}),
    "WebhooksSettingsState.send_test": call("send_test", "B:webhook", writes=True),
    "WebhooksSettingsState.rotate": call("rotate", "B:webhook", writes=True),
    "WebhooksSettingsState.set_enabled": call("set_enabled", "B:webhook", False, writes=True),
    "WebhooksSettingsState.confirm_delete": call("confirm_delete", preset={"confirm_id": "B:webhook"}, writes=True),
    "WebhooksSettingsState.resend": call("resend", "B:webhook_delivery", writes=True),
    "WebhooksSettingsState.replay": call("replay", preset={"selected_id": "B:webhook"}, writes=True),
    "WebhooksSettingsState.create": call("create", preset={"form_url": "http://127.0.0.1:9/pwn"}),
    **_confirm_ui("WebhooksSettingsState"),
    **_ui(FIELD, "WebhooksSettingsState.set_form_url", "WebhooksSettingsState.set_form_description",
          "WebhooksSettingsState.set_form_timeout", "WebhooksSettingsState.set_form_headers",
          "WebhooksSettingsState.set_form_rate", "WebhooksSettingsState.toggle_form_type",
          "WebhooksSettingsState.set_replay_hours", "WebhooksSettingsState.hide_secret"),
    **_ui(FIELD, "EmailSettingsState.set_host", "EmailSettingsState.set_port", "EmailSettingsState.set_security",
          "EmailSettingsState.set_username", "EmailSettingsState.set_password", "EmailSettingsState.set_from_address",
          "EmailSettingsState.set_from_name"),
    # ---- security policy, SSO settings, audit
    "SecuritySettingsState.load": call("load"),
    "SecuritySettingsState.save": call("save", preset={"idle_minutes": "5", "absolute_hours": "1"}, writes=True),
    **_ui(FIELD, "SecuritySettingsState.set_absolute_hours", "SecuritySettingsState.set_idle_minutes",
          "SecuritySettingsState.set_require", "SecuritySettingsState.set_any_contact"),
    "SsoSettingsState.load": call("load"),
    "SsoSettingsState.save": call("save", preset={"sso_enabled": True, "issuer": "http://127.0.0.1:9/pwn",
                                                  "client_id": "pwn"}),
    "SsoSettingsState.test_discovery": call("test_discovery", preset={"issuer": "http://127.0.0.1:9/pwn"}),
    **_ui(FIELD, "SsoSettingsState.add_mapping", "SsoSettingsState.remove_mapping", "SsoSettingsState.set_auto_create",
          "SsoSettingsState.set_client_id", "SsoSettingsState.set_default_role", "SsoSettingsState.set_groups_claim",
          "SsoSettingsState.set_issuer", "SsoSettingsState.set_mapping_group", "SsoSettingsState.set_mapping_role",
          "SsoSettingsState.set_scopes", "SsoSettingsState.set_secret_input", "SsoSettingsState.set_sso_enabled"),
    "AuditLogState.load": call("load"),
    "AuditLogState.open_page": call("open_page"),
    "AuditLogState.load_more": call("load_more", preset={"next_before_id": "999999999"}),
    **_ui(FILTER, "AuditLogState.clear_filters", "AuditLogState.set_date_from", "AuditLogState.set_date_to",
          "AuditLogState.set_filter_action", "AuditLogState.set_filter_user"),
    "AuditLogState.search": call("search", preset={"filter_id": "B:conversation"}),
    "AuditLogState.verify_chain": call("verify_chain"),
    "AuditLogState.watch_verification": UI("a background refresh of this tab's check status: each round reads "
                                           "it through verification_status, which checks the actor's role and "
                                           "tenant"),
    "AuditLogState.export_csv": call("export_csv", preset={"filter_type": "conversation"}),
    "AuditLogState.moved": UI("sends the tab to the trail's new address; the page there checks the role"),
    **_ui(FILTER, "AuditLogState.set_filter_id", "AuditLogState.set_filter_ip", "AuditLogState.set_filter_type"),
    # ---- incident register
    "IncidentsState.load": call("load", reads=True),
    "IncidentsState.notified": call("notified", "B:incident", writes=True),
    "IncidentsState.record": call("record", preset={"title": "attack", "detected_day": "2026-01-02",
                                                    "detected_time": "10:00", "categories": ["contact"],
                                                    "affected": "1"}),
    **_ui(FIELD, "IncidentsState.set_title", "IncidentsState.set_detected_day", "IncidentsState.set_detected_time",
          "IncidentsState.set_affected", "IncidentsState.set_description", "IncidentsState.set_measures",
          "IncidentsState.toggle_category"),
    **_ui(DIALOG, "IncidentsState.show_notice", "IncidentsState.close_notice"),
    # ---- bot flow editor
    "BotSettingsState.load": call("load"),
    "BotSettingsState.pick_inbox": call("pick_inbox", "B:inbox"),
    "BotSettingsState.reload_meta": call("reload_meta", preset={"inbox_id": "B:inbox"}),
    "BotSettingsState.save_draft": call("save_draft", preset={"inbox_id": "B:inbox"}, writes=True),
    "BotSettingsState.publish": call("publish", preset={"inbox_id": "B:inbox"}),
    "BotSettingsState.sim_send": call("sim_send", {"text": "oi"}, preset={"inbox_id": "B:inbox", "sim_input": "oi"}),
    "BotSettingsState.sim_choose": call("sim_choose", "o1", "x", preset={"inbox_id": "B:inbox"}),
    "BotSettingsState.sim_restart": call("sim_restart", preset={"inbox_id": "B:inbox"}),
    **_ui(EDITOR, "BotSettingsState.add_node", "BotSettingsState.add_option", "BotSettingsState.add_rule",
          "BotSettingsState.add_trigger", "BotSettingsState.apply_json", "BotSettingsState.ask_delete",
          "BotSettingsState.change_type", "BotSettingsState.confirm_delete", "BotSettingsState.duplicate_node",
          "BotSettingsState.open_json", "BotSettingsState.remove_option", "BotSettingsState.remove_rule",
          "BotSettingsState.remove_trigger", "BotSettingsState.rename_node", "BotSettingsState.select_node",
          "BotSettingsState.set_field", "BotSettingsState.set_json_text", "BotSettingsState.set_new_conversation",
          "BotSettingsState.set_option", "BotSettingsState.set_rename", "BotSettingsState.set_rule",
          "BotSettingsState.set_setting", "BotSettingsState.set_sim_input", "BotSettingsState.set_start",
          "BotSettingsState.set_trigger", "BotSettingsState.validate"),
    **_ui(DIALOG, "BotSettingsState.set_delete_open", "BotSettingsState.set_json_open"),
    # ---- knowledge / AI
    "KnowledgeSettingsState.load": call("load"),
    "KnowledgeSettingsState.open_edit": chain(("load",), ("open_edit", "B:knowledge"), reads=True),
    "KnowledgeSettingsState.confirm_delete": call("confirm_delete", preset={"confirm_id": "B:knowledge"},
                                                  writes=True),
    **_confirm_ui("KnowledgeSettingsState"),
    "KnowledgeSettingsState.save_entry": call("save_entry", preset={"editing_id": "B:knowledge", "form_title": "pwn",
                                                                    "form_content": "pwned", "form_open": True},
                                                                        writes=True),
    "KnowledgeSettingsState.save_settings": call("save_settings", {"ai_enabled": "on"}),
    "KnowledgeSettingsState.run_test": call("run_test", preset={"test_question": "secret"}),
    "KnowledgeSettingsState.toggle_clear_key": UI("a checkbox in this tab's form"),
    **_ui(FIELD, "KnowledgeSettingsState.set_ai_enabled", "KnowledgeSettingsState.set_ai_value",
          "KnowledgeSettingsState.set_form_active", "KnowledgeSettingsState.set_form_content",
          "KnowledgeSettingsState.set_form_tags", "KnowledgeSettingsState.set_form_title",
          "KnowledgeSettingsState.set_kb_query", "KnowledgeSettingsState.set_test_question"),
    **_ui(DIALOG, "KnowledgeSettingsState.open_new", "KnowledgeSettingsState.set_form_open"),
    # ---- account (own user only)
    "AccountState.load": call("load"),
    "AccountState.revoke_one": call("revoke_one", "B:session", writes=True),
    # Only the caller's own user: attacked anyway, since it writes (B's rows must stay as they were).
    "AccountState.set_email_assigned_while_away": call("set_email_assigned_while_away", True),
    **_ui("acts on the caller's own user and sessions only, re-derived from the cookie",
          "AccountState.cancel_enrolment",
          "AccountState.change_password", "AccountState.codes_saved", "AccountState.confirm_enrolment",
          "AccountState.disable_mfa", "AccountState.logout_everywhere", "AccountState.regenerate_codes",
          "AccountState.start_enrolment"),
    **_ui(DIALOG, "AccountState.set_disable_open"),
    # ---- platform operators
    "PlatformTenantsState.load": call("load"),
    "PlatformTenantsState.guard": call("guard"),
    "PlatformTenantsState.confirm_suspend": call("confirm_suspend", preset={
        "confirm_id": "B:tenant", "confirm_kind": "suspend", "confirm_expect": "x", "confirm_typed": "x"}),
    **_confirm_ui("PlatformTenantsState"),
    "PlatformTenantsState.ask_suspend": call("ask_suspend", "B:tenant"),
    "PlatformTenantsState.reactivate": call("reactivate", "B:tenant"),
    "PlatformTenantsState.create_tenant": call("create_tenant", preset={
        "t_name": "pwn", "t_slug": "pwn-iso", "t_admin_email": "pwn@example.com", "t_admin_name": "pwn"}),
    "PlatformNavState.refresh": call("refresh"),
    **_ui(FIELD, "PlatformTenantsState.set_t_admin_email",
          "PlatformTenantsState.set_t_admin_name", "PlatformTenantsState.set_t_name",
          "PlatformTenantsState.set_t_slug"),
    **_ui(DIALOG, "PlatformTenantsState.close_link", "PlatformTenantsState.open_new",
          "PlatformTenantsState.set_form_open", "PlatformTenantsState.set_link_open"),
    # ---- settings registry: the tenant's preferences and the operators' global settings and templates
    "GeneralSettingsState.load": call("load", reads=True),
    "GeneralSettingsState.save": call("save", preset={"setting_rows": [_FORGED_SETTING]}, writes=True),
    "GeneralSettingsState.revert": call("revert", preset={"confirm_id": "B:setting_change", "confirm_kind": "revert"},
                                        writes=True),
    **_confirm_ui("GeneralSettingsState"),
    **_ui(DIALOG, "GeneralSettingsState.ask_revert"),
    **_ui(FIELD, *(f"GeneralSettingsState.{h}" for h in _SETTINGS_FIELDS)),
    "PlatformSettingsState.guard": call("guard"),
    "PlatformSettingsState.load": call("load"),
    "PlatformSettingsState.save": call("save", preset={"setting_rows": [_FORGED_GLOBAL]}),
    "PlatformSettingsState.revert": call("revert", preset={"confirm_id": "B:setting_change",
                                                           "confirm_kind": "revert"}),
    "PlatformSettingsState.save_template": call("save_template", preset={
        "tpl_name": "pwn", "tpl_values": '{"ai.model": "pwned"}'}),
    "PlatformSettingsState.delete_template": call("delete_template", preset={
        "confirm_id": "1", "confirm_kind": "delete_template"}),
    "PlatformSettingsState.preview": call("preview", "1", preset={"preview_tenant": "B:tenant"}),
    "PlatformSettingsState.apply": call("apply", preset={
        "preview_template": "1", "preview_tenant": "B:tenant", "diff_rows": [{"key": "ai.model"}]}),
    **_confirm_ui("PlatformSettingsState"),
    **_ui(DIALOG, "PlatformSettingsState.ask_revert", "PlatformSettingsState.open_template",
          "PlatformSettingsState.set_editor_open", "PlatformSettingsState.ask_delete_template"),
    **_ui(FIELD, *(f"PlatformSettingsState.{h}" for h in _SETTINGS_FIELDS), "PlatformSettingsState.set_tpl_name",
          "PlatformSettingsState.set_tpl_description", "PlatformSettingsState.set_tpl_values",
          "PlatformSettingsState.set_preview_tenant"),
    # ---- compliance (admins and the DPO)
    "ComplianceState.load_overview": call("load_overview", reads=True),
    "ComplianceState.download_report": call("download_report", "B:dpo_report"),
    "RequestsState.load_requests": call("load_requests", reads=True),
    "RequestsState.create_request": call("create_request", writes=True, preset={
        "form_contact": "B:contact", "form_kind": "consent_withdrawal"}),
    "RequestsState.close_request": call("close_request", "B:privacy_request", writes=True),
    "RequestsState.download": call("download", "B:privacy_request"),
    "RequestsState.watch_progress": UI("a background refresh of this tab's list: each round runs _reload, the "
                                       "same checked read as load_requests, which is attacked"),
    **_ui(FIELD, "RequestsState.set_form_contact", "RequestsState.set_form_kind"),
    "ConsentsState.load_consents": call("load_consents"),
    "ConsentsState.look_up": call("look_up", preset={"lookup_contact": "B:contact"}, reads=True),
    "ConsentsState.record": call("record", True, preset={"lookup_contact": "B:contact"}, writes=True),
    **_ui(FIELD, "ConsentsState.set_lookup_contact", "ConsentsState.set_new_purpose"),
    "RetentionState.load_retention": call("load_retention"),
    "RetentionState.add_policy": call("add_policy", preset={"new_days": "30"}),
    "RetentionState.remove_policy": call("remove_policy", "B:retention_policy", writes=True),
    **_ui(FIELD, "RetentionState.set_new_action", "RetentionState.set_new_days"),
}
