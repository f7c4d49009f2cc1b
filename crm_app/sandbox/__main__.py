"""Run the sandbox server: `python -m crm_app.sandbox`."""

import uvicorn

from crm_app.config import get_settings
from crm_app.sandbox.app import create_app

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run(create_app(smtp_port=settings.sandbox_smtp_port), host="127.0.0.1", port=settings.sandbox_port,
                log_level="warning")
