"""Entry point for `python -m crm_app`."""

import sys

from crm_app.cli import main

sys.exit(main())
