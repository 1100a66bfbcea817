# trackwright — `make demo` and `make test` set everything up from a fresh Debian machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
# The first Python ≥ 3.11 on PATH (override: make PYTHON=/path/to/python3.11 test).
PYTHON ?= $(shell for p in python3.11 python3.12 python3.13 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-out

.PHONY: help sysdeps install demo test bench clean distclean check-python

help:
	@echo "make demo   - install system packages and the package into $(VENV), then run 'trackwright demo'"
	@echo "make test   - the same set-up, then the test suite"
	@echo "make bench  - the benchmarks (meter, mastering, Matchering side by side)"
	@echo "make clean  - remove outputs and caches; make distclean also removes $(VENV)"

check-python:
	@if [[ -z "$(PYTHON)" ]]; then echo "error: trackwright needs Python 3.11 or newer (apt-get install python3)" >&2; exit 1; fi

sysdeps: check-python
	@PYTHON="$(PYTHON)" scripts/install-system-deps.sh

$(STAMP): pyproject.toml | check-python
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $(STAMP)

install: sysdeps $(STAMP)

demo: install
	$(VENV)/bin/trackwright demo $(DEMO_DIR)

test: install
	$(VENV)/bin/python -m pytest -n auto -q

bench: install
	$(VENV)/bin/python -m pip install -q -e '.[bench]'
	$(VENV)/bin/python bench/bench.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
