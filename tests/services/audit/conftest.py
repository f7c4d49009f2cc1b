import shutil

import pytest


@pytest.fixture(autouse=True)
def no_anchors_from_the_last_test():
    """Tenant ids restart with every test's TRUNCATE: an anchor file left behind would name the wrong chain."""
    from crm_app.integrations.storage import get_storage
    from crm_app.services.audit import anchors

    shutil.rmtree(get_storage().root / anchors.PREFIX, ignore_errors=True)
    yield
