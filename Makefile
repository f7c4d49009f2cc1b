# make run  - start the whole product on this machine (creates .venv on first use)
# make test - run the whole test suite against PostgreSQL and Redis
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
export REFLEX_USE_NPM := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test install install-dev browser migrate seed-demo bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Debian's chromium for the browser tests; Playwright's own download cannot work offline.
# The colour emoji font makes screenshots truthful (headless Chromium draws boxes without it).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null) || \
	      echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium or fonts-noto-color-emoji is missing and we are not root; browser tests may be skipped"; fi; \
	fi

run: install
	$(PY) -m crm_app run

test: install-dev browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

migrate: install
	$(PY) -m crm_app migrate

seed-demo: install
	$(PY) -m crm_app seed-demo

bench: install-dev
	$(PY) bench/http_baseline.py

clean:
	rm -rf .web data/crm.db* data/redis
