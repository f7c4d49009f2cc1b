"""The conversation aggregate: access checks, the one change log, contacts and labels."""

from crm_app.services.conversations.access import (  # noqa: F401
    ROLES,
    STAFF,
    access_conversation,
    can_send,
    can_view,
    is_staff,
    require_owner,
)
from crm_app.services.conversations.contacts import (  # noqa: F401
    ContactView,
    access_contact,
    get_contact,
    list_contacts,
    update_contact,
    view_of,
)
from crm_app.services.conversations.labels import (  # noqa: F401
    add_label,
    label_names,
    list_labels,
    remove_label,
)
from crm_app.services.conversations.log import (  # noqa: F401
    add_system_line,
    describe_reason,
    record_change,
    render_line,
    snapshot,
)
