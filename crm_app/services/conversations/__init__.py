"""The conversation aggregate: access checks, the one change log, contacts and labels."""

from crm_app.services.conversations.contacts import (  # noqa: F401
    ContactView,
    access_contact,
    get_contact,
    list_contacts,
    update_contact,
    view_of,
)
