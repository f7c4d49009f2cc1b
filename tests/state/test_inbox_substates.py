"""The inbox substates share one tab's data: each section writes what its ancestors hold, pushes reach them all."""

import os

os.environ.setdefault("REFLEX_SKIP_COMPILE", "1")

from crm_app.state.inbox import (  # noqa: E402
    InboxActionsState,
    InboxComposerState,
    InboxConversationState,
    InboxListState,
    InboxLiveState,
)
from tests.support.isolation import build_side, fresh_state, run_handler  # noqa: E402


async def test_sections_read_and_write_the_list_and_the_open_conversation_they_share(db):
    side = build_side(db, marker="shared")
    root, live = fresh_state(InboxLiveState, side.cookies["admin"])
    await run_handler(live, "load", ())
    listing = root.get_substate(InboxListState.get_full_name().split(".")[1:])
    assert listing.tab == "mine" and listing.list_loading is False and listing.counts["all"] == 2

    conversation = live.parent_state
    assert isinstance(conversation, InboxConversationState)
    await run_handler(conversation, "select", (side.ids["admins_conversation"],))
    assert conversation.header["id"] == str(side.ids["admins_conversation"]) and conversation.can_reply

    composer = root.get_substate(InboxComposerState.get_full_name().split(".")[1:])
    composer.note_mode = True  # held by the conversation: the composer writes its parent's var
    assert conversation.note_mode is True
    await run_handler(composer, "send", ({"body": "a private note"},))
    assert any(m["body"] == "a private note" and m["sender_type"] == "note" for m in conversation.items)

    actions = root.get_substate(InboxActionsState.get_full_name().split(".")[1:])
    await run_handler(actions, "close", ({"note": ""},))
    assert conversation.header["status"] == "closed" and listing.counts["all"] == 1


async def test_a_push_refreshes_the_list_held_by_an_ancestor(db):
    side = build_side(db, marker="pushed")
    root, live = fresh_state(InboxLiveState, side.cookies["admin"])
    await run_handler(live, "load", ())
    listing = root.get_substate(InboxListState.get_full_name().split(".")[1:])
    listing.rows = []
    seq = live.last_seq
    assert live._apply_events([{"kind": "conversation.updated", "seq": seq + 1, "conversation_id": 0}])
    assert live.last_seq == seq + 1 and {r["id"] for r in listing.rows} == {str(side.ids["admins_conversation"])}
