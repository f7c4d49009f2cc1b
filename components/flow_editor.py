"""The flow editor's parts: the map, the node form, the flow settings, versions, problems and the test chat."""

from __future__ import annotations

import reflex as rx

from crm_app.domain.flows.layout import CARD_H, CARD_W
from crm_app.state.settings_bot import NEW, NODE_TYPES, NONE, BotSettingsState

S = BotSettingsState
T = S.t
TYPE_ICONS = {"message": "message-square", "menu": "list", "collect": "text-cursor-input", "consent": "shield-check",
              "condition": "git-branch", "set": "tag", "ai": "sparkles", "handoff": "headset",
              "close": "circle-check"}


def card(*children, **props) -> rx.Component:
    return rx.card(*children, width="100%", **props)


def section_title(key: str, icon: str, *extra) -> rx.Component:
    return rx.hstack(rx.icon(icon, size=16, color=rx.color("teal", 10)), rx.heading(T[key], size="3"), rx.spacer(),
                     *extra, align="center", width="100%", margin_bottom="8px")


def label(key: str, html_for: str = "") -> rx.Component:
    return rx.text(T[key], as_="label", size="1", weight="medium", color_scheme="gray", html_for=html_for or None)


def _type_icon(kind: rx.Var, size: int = 14) -> rx.Component:
    return rx.match(kind, *[(k, rx.icon(icon, size=size)) for k, icon in TYPE_ICONS.items()],
                    rx.icon("circle", size=size))


# ------------------------------------------------------------------- the map


def _edge(edge: rx.Var) -> rx.Component:
    return rx.el.g(
        rx.el.path(d=edge["d"], style={"fill": "none", "stroke": rx.color("slate", 8), "stroke_width": "1.5",
                                       "marker_end": "url(#flow-arrow)"}),
        rx.el.text(edge["label"], x=edge["lx"], y=edge["ly"],
                   style={"font_size": "11px", "fill": rx.color("slate", 11), "text_anchor": "middle",
                          "paint_order": "stroke", "stroke": rx.color("slate", 1), "stroke_width": "4px",
                          "stroke_linejoin": "round"}),
    )


def _card(node: rx.Var) -> rx.Component:
    selected = node["selected"] == "1"
    has_problem = node["problem"] != ""
    # A native button: focusable, and Enter or space selects the step, so the map works from the keyboard.
    return rx.el.button(
        rx.hstack(
            rx.center(_type_icon(node["type"]), width="22px", height="22px", border_radius="6px",
                      color="white", background=rx.color(node["color"].to(str), 9)),
            rx.text(node["type_label"], size="1", weight="bold", color=rx.color("slate", 11)),
            rx.spacer(),
            rx.cond(node["start"] == "1",
                    rx.badge(rx.icon("play", size=10), T["editor.start_badge"], size="1", color_scheme="teal")),
            align="center", spacing="2", width="100%",
        ),
        rx.text(node["id"], size="1", color_scheme="gray", font_family="monospace", trim="both", margin_top="4px"),
        rx.cond(
            has_problem,
            rx.text(node["problem"], size="1", color_scheme="red", style=_clamp(2), margin_top="2px"),
            rx.text(node["summary"], size="1", style=_clamp(2), margin_top="2px"),
        ),
        position="absolute", left=node["left"], top=node["top"], width=f"{CARD_W}px", height=f"{CARD_H}px",
        padding="8px 10px", border_radius="10px", cursor="pointer", overflow="hidden",
        background=rx.color("slate", 1),
        border=rx.cond(has_problem, f"1.5px solid {rx.color('red', 8)}",
                       rx.cond(selected, f"2px solid {rx.color('teal', 9)}", f"1px solid {rx.color('slate', 6)}")),
        box_shadow=rx.cond(selected, f"0 0 0 3px {rx.color('teal', 4)}", "0 1px 2px rgba(0,0,0,.06)"),
        _hover={"border_color": rx.color("teal", 8)},
        text_align="left", font="inherit", color="inherit", display="block",
        on_click=S.select_node(node["id"]), id="node-card-" + node["id"].to(str), class_name="flow-card",
        type="button", aria_label=node["type_label"].to(str) + " " + node["id"].to(str),
        _focus_visible={"outline": f"2px solid {rx.color('teal', 8)}", "outline_offset": "2px"},
    )


def _clamp(lines: int) -> dict:
    return {"display": "-webkit-box", "-webkit-line-clamp": str(lines), "-webkit-box-orient": "vertical",
            "overflow": "hidden", "word-break": "break-word"}


def add_node_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("plus", size=14), T["editor.add_node"], size="2", variant="soft",
                                  id="flow-add-node")),
        rx.menu.content(*[
            rx.menu.item(rx.hstack(rx.icon(TYPE_ICONS[k], size=14), rx.text(T[f"editor.type.{k}"]), spacing="2"),
                         on_click=S.add_node(k), id=f"flow-add-{k}")
            for k in NODE_TYPES
        ]),
    )


def flow_map() -> rx.Component:
    canvas = rx.box(
        rx.el.svg(
            rx.el.defs(rx.el.marker(
                rx.el.path(d="M0,0 L8,4 L0,8 z", style={"fill": rx.color("slate", 8)}),
                id="flow-arrow", marker_width="8", marker_height="8", ref_x="8", ref_y="4", orient="auto",
            )),
            rx.foreach(S.map_edges, _edge),
            width=S.map_width, height=S.map_height, position="absolute", top="0", left="0",
            style={"pointer_events": "none", "overflow": "visible"},
        ),
        rx.foreach(S.map_cards, _card),
        position="relative", width=S.map_width, height=S.map_height, min_width="100%",
    )
    return card(
        section_title("editor.map", "workflow", add_node_menu()),
        rx.cond(
            S.map_cards.length() > 0,
            rx.box(canvas, overflow="auto", max_height="380px", width="100%", border_radius="8px",
                   background=rx.color("slate", 2), id="flow-map",
                   style={"background_image": f"radial-gradient({rx.color('slate', 5)} 1px, transparent 1px)",
                          "background_size": "16px 16px"}),
            rx.callout(T["editor.empty"], icon="workflow", id="flow-empty", width="100%"),
        ),
    )


# -------------------------------------------------------------- the node form


def _target_select(value: rx.Var, on_change, field_id: str, allow_none: bool = True) -> rx.Component:
    """A dropdown of the existing nodes, plus "none" and "+ novo nó"."""
    return rx.select.root(
        rx.select.trigger(placeholder=T["editor.target.choose"], width="100%", id=field_id),
        rx.select.content(
            *([rx.select.item(T["editor.target.none"], value=NONE)] if allow_none else []),
            rx.foreach(S.node_choices, lambda c: rx.select.item(c["label"], value=c["value"])),
            rx.select.separator(),
            rx.select.item(T["editor.target.new"], value=NEW),
        ),
        value=value, on_change=on_change, size="2",
    )


def _field(key: str, control: rx.Component, field_id: str = "") -> rx.Component:
    return rx.vstack(label(key, field_id), control, spacing="1", width="100%")


def _text_area(field: str, key: str = "editor.field.text", rows: str = "3") -> rx.Component:
    field_id = f"node-{field.replace('_', '-')}"
    return _field(key, rx.text_area(value=S.sel[field], on_change=lambda v: S.set_field(field, v), id=field_id,
                                    rows=rows, width="100%", resize="vertical", max_length=4096), field_id)


def _input(field: str, key: str, **props) -> rx.Component:
    field_id = f"node-{field.replace('_', '-')}"
    return _field(key, rx.input(value=S.sel[field], on_change=lambda v: S.set_field(field, v), id=field_id,
                                width="100%", **props), field_id)


def _target(field: str, key: str) -> rx.Component:
    field_id = f"node-{field.replace('_', '-')}"
    return _field(key, _target_select(S.sel[field], lambda v: S.set_field(field, v), field_id), field_id)


def _choice(field: str, key: str, options: list[str], prefix: str) -> rx.Component:
    field_id = f"node-{field}"
    return _field(key, rx.select.root(
        rx.select.trigger(width="100%", id=field_id),
        rx.select.content(*[rx.select.item(T[f"{prefix}.{o}"], value=o) for o in options]),
        value=S.sel[field], on_change=lambda v: S.set_field(field, v),
    ), field_id)


def _retries() -> rx.Component:
    return rx.grid(
        _input("max_retries", "editor.field.max_retries", type="number", min="0", max="9"),
        _target("on_fail", "editor.field.on_fail"),
        columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%",
    )


def _option_row(option: rx.Var, index: rx.Var) -> rx.Component:
    return rx.grid(
        rx.input(value=option["label"], on_change=lambda v: S.set_option(index, "label", v),
                 placeholder=T["editor.option.label"], class_name="option-label", max_length=24,
                 aria_label=T["editor.option.label"]),
        rx.input(value=option["keywords"], on_change=lambda v: S.set_option(index, "keywords", v),
                 placeholder=T["editor.option.keywords"], class_name="option-keywords",
                 aria_label=T["editor.option.keywords"]),
        rx.hstack(
            rx.box(_target_select(option["next"], lambda v: S.set_option(index, "next", v),
                                  "option-next-" + index.to(str)), flex="1", min_width="0"),
            rx.tooltip(rx.icon_button(rx.icon("x", size=14), size="2", variant="soft", color_scheme="gray",
                                      on_click=S.remove_option(index), aria_label=T["editor.remove"],
                                      class_name="option-remove"), content=T["editor.remove"]),
            spacing="2", width="100%",
        ),
        columns=rx.breakpoints(initial="1", sm="3"), gap="8px", width="100%", padding="8px",
        border_radius="8px", background=rx.color("slate", 2), class_name="option-row",
    )


def _menu_form() -> rx.Component:
    return rx.vstack(
        _text_area("text"),
        rx.grid(
            _choice("style", "editor.field.style", ["text", "buttons", "list"], "editor.style"),
            rx.cond(S.sel["style"] == "list", _input("button_label", "editor.field.button_label", max_length=20)),
            columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%",
        ),
        rx.hstack(label("editor.field.options"), rx.spacer(),
                  rx.button(rx.icon("plus", size=14), T["editor.option.add"], size="1", variant="soft",
                            on_click=S.add_option, id="option-add"), width="100%", align="center"),
        rx.cond(S.sel_options.length() == 0,
                rx.text(T["editor.option.empty"], size="1", color_scheme="gray")),
        rx.foreach(S.sel_options, _option_row),
        _input("retry_text", "editor.field.retry_text"),
        _retries(),
        spacing="3", width="100%",
    )


def _rule_row(rule: rx.Var, index: rx.Var) -> rx.Component:
    kind = rule["kind"]
    detail = rx.match(
        kind,
        ("business_hours", rx.select.root(
            rx.select.trigger(width="100%"),
            rx.select.content(rx.select.item(T["editor.team.none"], value=NONE),
                              rx.foreach(S.team_options, lambda t: rx.select.item(t["name"], value=t["id"]))),
            value=rule["team_id"], on_change=lambda v: S.set_rule(index, "team_id", v))),
        ("attribute", rx.hstack(
            rx.input(value=rule["attribute"], on_change=lambda v: S.set_rule(index, "attribute", v),
                     placeholder=T["editor.rule.attribute"], width="100%", aria_label=T["editor.rule.attribute"]),
            rx.select.root(rx.select.trigger(), rx.select.content(
                *[rx.select.item(T[f"editor.op.{op}"], value=op) for op in ("eq", "ne", "set", "unset")]),
                value=rule["op"], on_change=lambda v: S.set_rule(index, "op", v)),
            rx.input(value=rule["value"], on_change=lambda v: S.set_rule(index, "value", v),
                     placeholder=T["editor.rule.value"], width="100%", aria_label=T["editor.rule.value"]),
            spacing="2", width="100%")),
        rx.input(value=rule["value"], on_change=lambda v: S.set_rule(index, "value", v),
                 placeholder=T["editor.rule.value"], width="100%", class_name="rule-value",
                 aria_label=T["editor.rule.value"]),
    )
    return rx.vstack(
        rx.hstack(
            rx.select.root(rx.select.trigger(), rx.select.content(
                *[rx.select.item(T[f"editor.rule.{k}"], value=k)
                  for k in ("keyword", "contains", "regex", "business_hours", "attribute")]),
                value=kind, on_change=lambda v: S.set_rule(index, "kind", v)),
            rx.box(detail, flex="1", min_width="0"),
            spacing="2", width="100%", align="center",
        ),
        rx.hstack(
            rx.text(T["editor.rule.then"], size="1", color_scheme="gray", white_space="nowrap"),
            rx.box(_target_select(rule["next"], lambda v: S.set_rule(index, "next", v),
                                  "rule-next-" + index.to(str)), flex="1", min_width="0"),
            rx.icon_button(rx.icon("x", size=14), size="2", variant="soft", color_scheme="gray",
                           on_click=S.remove_rule(index), aria_label=T["editor.remove"]),
            spacing="2", width="100%", align="center",
        ),
        width="100%", padding="8px", border_radius="8px", background=rx.color("slate", 2), spacing="2",
    )


def _condition_form() -> rx.Component:
    return rx.vstack(
        rx.hstack(label("editor.field.rules"), rx.spacer(),
                  rx.button(rx.icon("plus", size=14), T["editor.rule.add"], size="1", variant="soft",
                            on_click=S.add_rule, id="rule-add"), width="100%", align="center"),
        rx.text(T["editor.rule.help"], size="1", color_scheme="gray"),
        rx.foreach(S.sel_rules, _rule_row),
        _target("else", "editor.field.else"),
        spacing="3", width="100%",
    )


def _consent_form() -> rx.Component:
    return rx.vstack(
        _choice("purpose", "editor.field.purpose", ["marketing", "pesquisa", "atendimento"], "editor.purpose"),
        _text_area("text", "editor.field.question"),
        rx.grid(_input("yes_label", "editor.field.yes_label", max_length=20, placeholder="Sim, aceito"),
                _input("no_label", "editor.field.no_label", max_length=20, placeholder="Não aceito"),
                _target("granted", "editor.field.granted"), _target("refused", "editor.field.refused"),
                columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%"),
        rx.text(T["editor.consent.help"], size="1", color_scheme="gray"),
        _input("retry_text", "editor.field.retry_text"),
        _retries(),
        spacing="3", width="100%",
    )


def _team_select(value: rx.Var, on_change, field_id: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(width="100%", id=field_id),
        rx.select.content(rx.select.item(T["editor.team.none"], value=NONE),
                          rx.foreach(S.team_options, lambda t: rx.select.item(t["name"], value=t["id"]))),
        value=value, on_change=on_change,
    )


def _type_form() -> rx.Component:
    kind = S.sel["type"]
    return rx.match(
        kind,
        ("message", rx.vstack(_text_area("text"), _target("next", "editor.field.next"), spacing="3", width="100%")),
        ("menu", _menu_form()),
        ("collect", rx.vstack(
            _text_area("text", "editor.field.question"),
            rx.grid(_choice("kind", "editor.field.kind", ["text", "email", "cpf", "date", "number"], "editor.kind"),
                    _input("attribute", "editor.field.attribute", placeholder="email"),
                    columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%"),
            _input("retry_text", "editor.field.retry_text"),
            _target("next", "editor.field.next_ok"), _retries(), spacing="3", width="100%")),
        ("consent", _consent_form()),
        ("condition", _condition_form()),
        ("set", rx.vstack(
            rx.grid(_input("attribute", "editor.field.attribute"), _input("value", "editor.field.value"),
                    columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%"),
            _input("label", "editor.field.label"), _target("next", "editor.field.next"),
            spacing="3", width="100%")),
        ("ai", rx.vstack(
            _text_area("text", "editor.field.ai_intro", rows="2"),
            rx.text(T["editor.ai.help"], size="1", color_scheme="gray"),
            rx.grid(_target("next", "editor.field.next_ok"), _target("on_fail", "editor.field.on_fail"),
                    columns=rx.breakpoints(initial="1", sm="2"), gap="12px", width="100%"),
            spacing="3", width="100%")),
        ("handoff", rx.vstack(
            _field("editor.field.team", _team_select(S.sel["team_id"], lambda v: S.set_field("team_id", v),
                                                     "node-team-id"), "node-team-id"),
            _text_area("text", "editor.field.handoff_text", rows="2"),
            _input("reason", "editor.field.reason", max_length=40),
            spacing="3", width="100%")),
        ("close", _text_area("text", "editor.field.close_text", rows="2")),
        rx.fragment(),
    )


def node_form() -> rx.Component:
    header = rx.hstack(
        rx.center(_type_icon(S.sel["type"], 16), width="28px", height="28px", border_radius="8px",
                  color=rx.color("teal", 11), background=rx.color("teal", 4)),
        rx.select.root(
            rx.select.trigger(variant="ghost", id="node-type"),
            rx.select.content(*[rx.select.item(T[f"editor.type.{k}"], value=k) for k in NODE_TYPES]),
            value=S.sel["type"], on_change=S.change_type,
        ),
        rx.spacer(),
        rx.cond(S.sel["is_start"] == "1",
                rx.badge(rx.icon("play", size=12), T["editor.start_badge"], color_scheme="teal"),
                rx.button(rx.icon("play", size=14), T["editor.make_start"], size="1", variant="soft",
                          color_scheme="gray", on_click=S.set_start, id="node-make-start")),
        rx.tooltip(rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft", color_scheme="gray",
                                  on_click=S.duplicate_node, aria_label=T["editor.duplicate"], id="node-duplicate"),
                   content=T["editor.duplicate"]),
        rx.tooltip(rx.icon_button(rx.icon("trash-2", size=14), size="1", variant="soft", color_scheme="red",
                                  on_click=S.ask_delete, aria_label=T["editor.delete"], id="node-delete"),
                   content=T["editor.delete"]),
        align="center", spacing="2", width="100%",
    )
    rename = rx.vstack(
        label("editor.field.id", "node-id"),
        rx.hstack(
            rx.input(value=S.rename_to, on_change=S.set_rename, id="node-id", width="100%", max_length=40,
                     font_family="monospace"),
            rx.button(T["editor.rename"], size="2", variant="soft", color_scheme="gray", on_click=S.rename_node,
                      disabled=S.rename_to == S.sel_id, id="node-rename"),
            spacing="2", width="100%",
        ),
        rx.cond(S.rename_error != "", rx.text(S.rename_error, size="1", color_scheme="red", role="alert")),
        spacing="1", width="100%",
    )
    problems = rx.foreach(S.sel_problems, lambda p: rx.callout(p, icon="triangle-alert", color_scheme="red",
                                                               size="1", width="100%", class_name="node-problem"))
    return rx.cond(
        S.sel_id != "",
        rx.vstack(header, problems, rename, _type_form(), spacing="3", width="100%", id="node-form"),
        rx.callout(T["editor.no_selection"], icon="mouse-pointer-click", width="100%", id="node-none"),
    )


# -------------------------------------------------------------- flow settings


def _cfg_input(field: str, key: str, **props) -> rx.Component:
    field_id = f"cfg-{field.replace('_', '-')}"
    return _field(key, rx.input(value=S.cfg[field], on_change=lambda v: S.set_setting(field, v), id=field_id,
                                width="100%", **props), field_id)


def _trigger_row(row: rx.Var, index: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.input(value=row["keyword"], on_change=lambda v: S.set_trigger(index, "keyword", v),
                 placeholder=T["editor.cfg.keyword"], aria_label=T["editor.cfg.keyword"], width="40%"),
        rx.icon("arrow-right", size=14, color=rx.color("slate", 9)),
        rx.box(_target_select(row["node"], lambda v: S.set_trigger(index, "node", v),
                              "trigger-node-" + index.to(str), allow_none=False), flex="1", min_width="0"),
        rx.icon_button(rx.icon("x", size=14), size="2", variant="soft", color_scheme="gray",
                       on_click=S.remove_trigger(index), aria_label=T["editor.remove"]),
        spacing="2", width="100%", align="center",
    )


def flow_settings() -> rx.Component:
    return rx.vstack(
        rx.text(T["editor.cfg.triggers"], size="2", weight="bold"),
        rx.hstack(rx.switch(checked=S.cfg["new_conversation"] == "1", on_change=S.set_new_conversation,
                            id="cfg-new-conversation"),
                  rx.text(T["editor.cfg.new_conversation"], size="2"), spacing="2", align="center"),
        rx.hstack(rx.text(T["editor.cfg.keyword_triggers"], size="1", color_scheme="gray"), rx.spacer(),
                  rx.button(rx.icon("plus", size=14), T["editor.cfg.add_trigger"], size="1", variant="soft",
                            on_click=S.add_trigger, id="cfg-add-trigger"), width="100%", align="center"),
        rx.foreach(S.trigger_rows, _trigger_row),
        rx.separator(size="4"),
        rx.text(T["editor.cfg.behaviour"], size="2", weight="bold"),
        _cfg_input("exit_keywords", "editor.cfg.exit_keywords", placeholder="atendente, humano"),
        rx.grid(
            _cfg_input("inactivity_minutes", "editor.cfg.inactivity_minutes", type="number", min="0"),
            _cfg_input("debounce_seconds", "editor.cfg.debounce_seconds", type="number", min="0"),
            _cfg_input("max_retries", "editor.cfg.max_retries", type="number", min="0"),
            columns=rx.breakpoints(initial="1", sm="3"), gap="12px", width="100%",
        ),
        _cfg_input("inactivity_text", "editor.cfg.inactivity_text"),
        _cfg_input("fallback_text", "editor.cfg.fallback_text"),
        _field("editor.cfg.handoff_team", _team_select(S.cfg["handoff_team_id"],
                                                       lambda v: S.set_setting("handoff_team_id", v),
                                                       "cfg-handoff-team"), "cfg-handoff-team"),
        _cfg_input("out_of_hours_text", "editor.cfg.out_of_hours_text"),
        spacing="3", width="100%", id="flow-settings",
    )


# ------------------------------------------------------------------ versions


def versions_list() -> rx.Component:
    return rx.cond(
        S.versions.length() > 0,
        rx.vstack(rx.foreach(S.versions, lambda v: rx.hstack(
            rx.badge("v" + v["version"].to(str), color_scheme=rx.cond(v["version"] == S.published_version,
                                                                      "teal", "gray")),
            rx.text(v["at"], size="2"), rx.spacer(), rx.text(v["by"], size="1", color_scheme="gray"),
            width="100%", align="center", padding_y="4px", class_name="version-row",
        )), spacing="1", width="100%", id="flow-versions"),
        rx.text(T["editor.versions.none"], size="2", color_scheme="gray", id="flow-versions-empty"),
    )


def problems_panel() -> rx.Component:
    row = lambda p: rx.hstack(  # noqa: E731
        rx.icon("triangle-alert", size=14, color=rx.color("red", 10), flex_shrink="0"),
        rx.cond(p["node"] != "",
                rx.button(p["node"], on_click=S.select_node(p["node"]), size="1", variant="ghost",
                          color_scheme="red", font_family="monospace", class_name="problem-node")),
        rx.text(p["text"], size="2"), align="start", spacing="2", width="100%",
    )
    return rx.cond(
        S.show_problems & (S.problem_count > 0),
        rx.callout.root(
            rx.callout.icon(rx.icon("circle-alert")),
            rx.vstack(rx.text(T["editor.problems_title"], weight="bold", size="2"), rx.foreach(S.problems, row),
                      spacing="1", width="100%"),
            color_scheme="red", width="100%", id="flow-problems",
        ),
    )


# ----------------------------------------------------------------- test chat


def _sim_bubble(row: rx.Var) -> rx.Component:
    choices = rx.cond(
        row.choices.length() > 0,
        rx.flex(rx.foreach(row.choices, lambda c: rx.button(
            c.label, size="1", variant="surface", on_click=S.sim_choose(c.id, c.label), disabled=S.sim_ended != "",
            class_name="sim-choice")), wrap="wrap", gap="6px", margin_top="6px"),
    )
    bot = rx.box(
        rx.hstack(rx.icon("bot", size=12, color=rx.color("violet", 10)),
                  rx.text(T["editor.sim.bot"], size="1", color=rx.color("violet", 11)), spacing="1", align="center"),
        rx.text(row.text, size="2", white_space="pre-wrap", word_break="break-word"),
        rx.cond(row.footer != "", rx.text(row.footer, size="1", color_scheme="gray", margin_top="2px")),
        choices,
        align_self="flex-end", max_width="88%", padding="6px 10px", border_radius="10px 10px 2px 10px",
        background=rx.color("violet", 3), border=f"1px solid {rx.color('violet', 5)}", class_name="sim-bot",
    )
    customer = rx.box(rx.text(row.text, size="2", white_space="pre-wrap", word_break="break-word"),
                      align_self="flex-start", max_width="88%", padding="6px 10px",
                      border_radius="10px 10px 10px 2px", background=rx.color("slate", 4),
                      class_name="sim-customer")
    event = rx.text(row.text, size="1", color_scheme="gray", align_self="center", text_align="center",
                    padding="2px 8px", border_radius="999px", background=rx.color("slate", 3),
                    class_name="sim-event")
    return rx.match(row.side, ("customer", customer), ("event", event), bot)


def test_panel() -> rx.Component:
    return card(
        section_title("editor.sim.title", "flask-conical",
                      rx.button(rx.icon("rotate-ccw", size=14), T["editor.sim.restart"], size="1", variant="soft",
                                color_scheme="gray", on_click=S.sim_restart, id="sim-restart")),
        rx.text(T["editor.sim.help"], size="1", color_scheme="gray"),
        rx.cond(S.sim_stale, rx.callout(T["editor.sim.stale"], icon="refresh-cw", size="1", color_scheme="amber",
                                        margin_top="8px", id="sim-stale")),
        rx.vstack(
            rx.cond(S.sim_rows.length() == 0,
                    rx.text(rx.cond(S.map_cards.length() > 0, T["editor.sim.idle"], T["editor.sim.empty"]),
                            size="2", color_scheme="gray", align_self="center", text_align="center",
                            margin_top="60px", id="sim-idle")),
            rx.foreach(S.sim_rows, _sim_bubble),
            spacing="2", width="100%", padding="10px", min_height="220px", max_height="380px", overflow_y="auto",
            border_radius="8px", background=rx.color("slate", 2), margin_y="8px", id="sim-chat",
        ),
        rx.form(
            rx.hstack(
                rx.input(value=S.sim_input, on_change=S.set_sim_input, placeholder=T["editor.sim.placeholder"],
                         id="sim-input", name="sim_text", width="100%", disabled=S.sim_ended != "",
                         auto_complete="off"),
                rx.icon_button(rx.icon("send-horizontal", size=16), type="submit", aria_label=T["editor.sim.send"],
                               id="sim-send", disabled=S.sim_ended != ""),
                spacing="2", width="100%",
            ),
            on_submit=S.sim_send, reset_on_submit=False, width="100%",
        ),
        rx.hstack(
            rx.text(T["editor.sim.node"], size="1", color_scheme="gray"),
            rx.code(rx.cond(S.sim_node != "", S.sim_node, "—"), size="1", id="sim-node"),
            spacing="2", align="center", margin_top="8px", wrap="wrap",
        ),
        rx.cond(S.sim_vars.length() > 0, rx.flex(
            rx.text(T["editor.sim.vars"], size="1", color_scheme="gray"),
            rx.foreach(S.sim_vars, lambda v: rx.badge(v["name"] + " = " + v["value"], variant="soft",
                                                      color_scheme="gray", size="1")),
            wrap="wrap", gap="6px", margin_top="4px", id="sim-vars")),
        id="sim-panel",
    )


# --------------------------------------------------------------------- dialogs


def delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(T["editor.delete_title"]),
            rx.alert_dialog.description(rx.vstack(
                rx.code(S.delete_id, size="2"),
                rx.cond(S.delete_links != "",
                        rx.callout(T["editor.delete_links"] + " " + S.delete_links, icon="link", color_scheme="amber",
                                   size="1", id="delete-links"),
                        rx.text(T["editor.delete_body"], size="2")),
                spacing="2")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(rx.button(T["editor.delete"], color_scheme="red", on_click=S.confirm_delete,
                                                 id="node-confirm-delete")),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="460px",
        ),
        open=S.delete_open, on_open_change=S.set_delete_open,
    )


def json_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(T["editor.json.title"]),
            rx.dialog.description(T["editor.json.help"], size="2", color_scheme="gray"),
            rx.text_area(value=S.json_text, on_change=S.set_json_text, rows="18", width="100%", id="flow-json",
                         font_family="monospace", margin_top="8px", spell_check=False),
            rx.cond(S.json_error != "", rx.text(S.json_error, size="1", color_scheme="red", role="alert")),
            rx.hstack(
                rx.dialog.close(rx.button(T["settings.cancel"], variant="soft", color_scheme="gray")),
                rx.button(T["editor.json.apply"], on_click=S.apply_json, id="flow-json-apply"),
                justify="end", spacing="3", margin_top="12px",
            ),
            max_width="720px",
        ),
        open=S.json_open, on_open_change=S.set_json_open,
    )
