"""What one real-time push to an inbox tab has to load from Redis.

Reflex fetches a state together with every substate whose computed vars read one of its vars (they might be
dirty). A computed var anywhere that reads `SessionState.t` (or `lang`, or `user_role`) therefore makes every
inbox push load that page's state too: the analytics charts once made each push unpickle five plotly figures
and took the 50-tab fan-out from ~0.1 s to ~2.3 s.
"""

from __future__ import annotations

import reflex as rx

import pages  # noqa: F401  (registers every page and its states)
from crm_app.state.inbox.live import InboxLiveState
from crm_app.state.session import SessionState


def _names(states) -> list[str]:
    return sorted(s.__name__ for s in states)


def _chain(state) -> set:
    chain = set()
    while state is not None:
        chain.add(state)
        state = state.get_parent_state()
    return chain


def test_no_state_outside_the_inbox_has_a_computed_var_over_the_shared_session_vars():
    # The inbox's own states may: a push loads them anyway.
    assert _names(set(SessionState._get_potentially_dirty_states()) - _chain(InboxLiveState)) == []
    assert _names(rx.State._get_potentially_dirty_states()) == []


def test_a_push_to_an_inbox_tab_loads_only_its_own_chain_of_states():
    chain = _chain(InboxLiveState)
    required = set(chain)
    for state in chain:
        required |= set(state._get_potentially_dirty_states())
    assert _names(required - chain) == []
