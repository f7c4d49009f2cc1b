"""The bot's flows, pure: the JSON definition and its validator, the interpreter, the editor's operations.

`schema` says what a publishable flow is, `matching` reads what the customer typed, `engine` runs a turn,
`editing` changes a draft the way the editor's form does, `editor_rows` turns a draft into the rows the
editor shows, and `layout` places its map. The names callers used before the split stay reachable as
`flows.X`.
"""

from crm_app.domain.flows import editing, editor_rows, layout  # noqa: F401
from crm_app.domain.flows.engine import (  # noqa: F401
    MAX_STEPS,
    Action,
    AddLabel,
    AskAI,
    Close,
    FlowContext,
    FlowState,
    Handoff,
    RecordConsent,
    Send,
    SetAttribute,
    Step,
    advance,
    consent_answer,
    consent_content,
    cpf_is_valid,
    evaluate_condition,
    menu_content,
    parse_input,
    render,
    resume_after_ai,
    start_session,
    text_content,
)
from crm_app.domain.flows.matching import (  # noqa: F401
    clean_text,
    has_word,
    is_exit_keyword,
    keyword_trigger,
    match_option,
    reply_id_for,
)
from crm_app.domain.flows.schema import (  # noqa: F401
    ATTRIBUTE_OPS,
    BUTTON_TITLE_MAX,
    BUTTONS_MAX,
    COLLECT_KINDS,
    DEFAULT_SETTINGS,
    LIST_BUTTON_MAX,
    MENU_STYLES,
    NODE_TYPES,
    ROW_TITLE_MAX,
    ROWS_MAX,
    RULE_KINDS,
    TERMINAL_TYPES,
    WAITING_TYPES,
    FlowProblem,
    consent_labels,
    empty_flow,
    endless_loops,
    nodes_of,
    reachable,
    settings_of,
    targets,
    validate_flow,
)
