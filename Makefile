# Omnichannel — the two commands a new user runs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install migrate seed test worker beat lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo
	$(PY) manage.py floor_setup

run: seed
	@echo "Storefront API token (channel 'web'): $$($(PY) manage.py api_token --channel web)"
	@echo "Admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/   Floor: http://$(HOST):$(PORT)/wms/"
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

worker: install
	$(VENV)/bin/celery -A omnichannel.celery worker -Q routing,notifications,channels,default --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A omnichannel.celery beat --loglevel=INFO

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check omnichannel orders inventory warehouse transport channels_sync || true

typecheck: install
	$(VENV)/bin/mypy omnichannel orders inventory warehouse transport channels_sync

bench: install
	$(PY) bench/routing.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache .mypy_cache
