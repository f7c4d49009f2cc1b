"""A second process that reads settings through `settings.value`, for the cross-process cache tests.

Each line on stdin is `<key> <tenant_id or ->`; each answer on stdout is one JSON line with the value and how
many SQL statements this process has run so far (a warm cache runs none).
"""

import json
import sys

from sqlalchemy import event

from crm_app.db import get_engine
from crm_app.services import settings

statements = 0


def _count(*_args) -> None:
    global statements
    statements += 1


def main() -> None:
    event.listen(get_engine(), "before_cursor_execute", _count)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        key, tenant = line.split()
        found = settings.value(None, key, tenant_id=None if tenant == "-" else int(tenant))
        print(json.dumps({"value": found, "statements": statements}), flush=True)


if __name__ == "__main__":
    main()
