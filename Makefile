# Omnichannel — the two commands a new user runs are `make run` and `make test`.
# The interpreter the venv is made from: the system's CPython at /usr/bin/python3 where it is 3.11
# or newer and can make a venv (Debian and Ubuntu build theirs with PGO and LTO, linked statically,
# as the official Docker image used by the Dockerfile is), else `python3` on the PATH. A build
# without those optimisations (pyenv's default: a shared libpython, no PGO) costs about 12% more
# instructions an order and 20% more time for the suite (docs/benchmarks.md). `make PYTHON=...`
# chooses another; an existing .venv is kept (`make clean` first to remake it).
PYTHON ?= $(shell for p in /usr/bin/python3 python3; do \
	"$$p" -c 'import sys, ensurepip, venv; ensurepip.version(); sys.exit(sys.version_info < (3, 11))' \
	>/dev/null 2>&1 && { echo "$$p"; exit; }; done; echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run install migrate seed test worker beat lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; print("venv: Python", sys.version.split()[0], "from", sys._base_executable)'
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
