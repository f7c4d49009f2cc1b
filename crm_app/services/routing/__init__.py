"""Who gets a conversation: bot handoff, the waiting queue, presence and teams.

`routing.handoff` is the submodule (hand over with `routing.handoff.handoff`): re-exporting the function
under the same name would hide the module from `from crm_app.services.routing import handoff`.
"""

from crm_app.services.routing.handoff import (  # noqa: F401
    HandoffResult,
    resolved_by,
    team_is_open,
)
from crm_app.services.routing.metrics import (  # noqa: F401
    BotMetrics,
    bot_metrics,
)
from crm_app.services.routing.presence import (  # noqa: F401
    heartbeat,
    online_users,
    set_offline,
    set_typing,
    set_viewing,
    statuses,
    stop_viewing,
    viewers,
)
from crm_app.services.routing.queue import (  # noqa: F401
    after_change,
    assign_waiting,
    assign_waiting_after_commit,
    assign_waiting_all,
    enqueue_assign_waiting,
    give,
    loads,
    lock_pool,
    pick,
    pick_least_load,
    pick_round_robin,
    queue_position,
)
from crm_app.services.routing.teams import (  # noqa: F401
    MemberRow,
    TeamDetail,
    TeamRow,
    TeamsOverview,
    TeamView,
    access_team,
    add_member,
    candidates,
    create_team,
    delete_team,
    list_teams,
    remove_member,
    rename_team,
    set_assigned_message,
    set_assignment_mode,
    team_detail,
    team_view,
    teams_overview,
    update_schedule,
)
