# make run            the development site with demo data, web server and workers (jobs, and
#                     backup verifications on their own cluster), on HOST:PORT
# make test           ruff (lint + format check) and pytest; PYTEST_ARGS="-k ..." passes through
# make test-postgres  make test on PostgreSQL (POSTGRES_URL)
# make lock           regenerate requirements.lock from pyproject.toml (LOCK_ARGS=--upgrade)
# make clean          remove var/ and .venv

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
LOCK_ARGS ?=
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/backupsite

BIN := $(VENV)/bin
# Touched after an install: the venv is reinstalled only when the lock (or pyproject) changes.
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lock clean

$(BIN)/python:
	$(PYTHON) -m venv --upgrade-deps $(VENV)

$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -qq --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -qq --no-deps -e .
	touch $@

run: export DJANGO_DEBUG = 1
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python scripts/devserver.py --host $(HOST) --port $(PORT)

test: export DJANGO_DEBUG = 1
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	DATABASE_URL=$(POSTGRES_URL) $(MAKE) test

lock: | $(BIN)/python
	$(BIN)/python -m pip install -qq pip-tools
	$(BIN)/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links $(LOCK_ARGS) -o requirements.lock pyproject.toml

clean:
	rm -rf var $(VENV)
