# The two commands a newcomer needs: `make run` and `make test`.
# Each creates the virtualenv and installs the project on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# `make test` leaves out the long load and fault tests (`make test-all` and .ci/run run them).
MARKERS ?= not slow

.PHONY: run test test-all lint format install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) manage.py start

test: $(VENV)/.installed
	$(PY) -m pytest -m "$(MARKERS)" $(PYTEST_ARGS)

test-all: $(VENV)/.installed
	$(MAKE) test MARKERS="slow or not slow"

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) var
