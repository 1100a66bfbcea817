# trackwright — `make demo` and `make test` set everything up on a fresh Debian machine.
#
#   make demo    system packages + .venv, then `trackwright demo demo-out`
#   make test    system packages + .venv, then the test suite (pytest -n auto)
#   make bench   the same set-up plus the `bench` extra, then bench/bench.py, bench/bench_analysis.py,
#                bench/bench_metre.py (metre development set, held-out split) and the other benches
#
# Variables: PYTHON (interpreter for the venv), PYTEST_ARGS, BENCH_ARGS, NOTES_ARGS, REALMIX_ARGS,
# DEMO_DIR, EXTRA_SYSDEPS (more Debian packages to require).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
VENV_PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SYSDEPS_SCRIPT := scripts/install-system-deps.sh
EXTRA_SYSDEPS ?=
DEMO_DIR ?= demo-out
PYTEST_ARGS ?=
BENCH_ARGS ?=
# The note benchmark's share of `make bench`: 125 runs (every category, 5 materials), at most 20 min;
# its runs are cached in bench-out/notes, so each `make bench` adds to them. The whole dev split:
# make bench NOTES_ARGS= (about 1,060 runs, 2-5 h on 2 busy cores); see bench/bench_notes.py.
NOTES_ARGS ?= --limit 125 --budget-s 1200
REALMIX_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Shell test: does this interpreter exist and is it Python ≥ 3.11?
is_py311 = $(1) -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1

# The interpreter that creates .venv: the first of these that is Python ≥ 3.11 (evaluated once).
# Override with `make PYTHON=/path/to/python3.11 test`.
PYTHON_ORIGIN := $(origin PYTHON)
ifeq ($(PYTHON_ORIGIN),undefined)
PYTHON := $(shell for p in python3.11 python3 python3.12 python3.13; do \
	$(call is_py311,$$p) && { command -v $$p; break; }; done)
endif

# A .venv whose interpreter is missing or too old (a dangling link after a Python upgrade, or a
# venv made by hand with another version) is rebuilt: drop its stamp so the stamp rule runs.
ifneq ($(shell $(call is_py311,$(VENV_PY)) && echo ok),ok)
$(shell rm -f $(STAMP) $(BENCH_STAMP))
endif

ifeq ($(PYTHON_ORIGIN),undefined)
python_problem = none of python3.11, python3, python3.12, python3.13 on PATH is Python 3.11 or newer
else
python_problem = PYTHON=$(PYTHON) is not Python 3.11 or newer
endif
check_python = if [[ -z "$(PYTHON)" ]] || ! $(call is_py311,"$(PYTHON)"); then \
	echo "error: creating $(VENV) needs Python 3.11 or newer: $(python_problem)." >&2; \
	echo "       Install it (Debian: apt-get install python3 python3-venv) or run: make PYTHON=/path/to/python3.11 $(or $(MAKECMDGOALS),install)" >&2; \
	exit 1; fi

.PHONY: help sysdeps install demo test bench frontend clean distclean

help:
	@echo "make demo       install system packages and $(VENV), then run 'trackwright demo $(DEMO_DIR)'"
	@echo "make test       the same set-up, then the test suite (pytest -n auto; PYTEST_ARGS=...)"
	@echo "make bench      the same plus the bench extra, then bench/bench.py (meter, mastering vs Matchering) bench/bench_speed.py (whole commands vs ffmpeg and Matchering, start-up, peak memory at 1/10/60 min; SPEED_ARGS=--minutes 1,10) bench/bench_analysis.py (analysis accuracy and speed), bench/bench_metre.py (pulse, metre, chords on unseen music, beside madmom and librosa), bench/bench_fit.py (fit to a scene) …, bench/bench_critique.py (critique: released tracks left alone, planted defects found; held-out split), bench/bench_realmix.py (real multitracks: stems, mix, produce, deliver; REALMIX_ARGS=--budget-min N), bench/bench_batch.py (catalogue throughput, Ray, kill and resume, near-duplicates), bench/bench_notes.py (creative notes, measured independently) and bench/bench_note_speed.py (a note's time on a 3-minute project)"
	@echo "make install    only $(VENV) (trackwright editable, with the test extra)"
	@echo "make sysdeps    only the Debian packages (apt-get as root, sudo otherwise)"
	@echo "make frontend   re-vendor the review page's wavesurfer.js from npm (needs node + npm)"
	@echo "make clean      remove $(DEMO_DIR) and caches; make distclean also removes $(VENV)"

# Cheap when everything is installed, so it runs every time (packages can be removed behind a
# stamp's back). It checks the venv module only when $(VENV) is still to be created.
sysdeps:
	@if $(call is_py311,$(VENV_PY)); then \
		$(SYSDEPS_SCRIPT) $(EXTRA_SYSDEPS); \
	else \
		$(check_python); \
		$(SYSDEPS_SCRIPT) --python "$(PYTHON)" $(EXTRA_SYSDEPS); \
	fi

# Creates .venv unless a usable one is there already (so an existing venv is kept), then
# (re)installs trackwright into it whenever pyproject.toml changes.
$(STAMP): pyproject.toml | sysdeps
	@if ! $(call is_py311,$(VENV_PY)); then \
		$(check_python); \
		echo "creating $(VENV) with $(PYTHON)"; \
		"$(PYTHON)" -m venv --clear $(VENV); \
	fi
	@$(VENV_PY) -m pip install -q --upgrade pip || echo "warning: could not upgrade pip; carrying on" >&2
	$(VENV_PY) -m pip install -q -e '.[test]'
	@$(VENV_PY) -c 'import importlib.metadata as m, sys; sys.exit(m.version("basic-pitch") != "0.4.0")' 2>/dev/null \
		|| $(VENV_PY) -m pip install -q --no-deps basic-pitch==0.4.0  # its wheel requires TensorFlow; we run its ONNX model
	@touch $@

install: $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(VENV_PY) -m pip install -q -e '.[bench]'
	@touch $@

demo: sysdeps install
	$(VENV)/bin/trackwright demo $(DEMO_DIR)

test: sysdeps install
	$(VENV_PY) -m pytest -n auto -q $(PYTEST_ARGS)

bench: sysdeps install $(BENCH_STAMP)
	$(VENV_PY) bench/bench.py $(BENCH_ARGS)
	@$(SYSDEPS_SCRIPT) ffmpeg time || echo "warning: without ffmpeg the speed bench has no ebur128 peer" >&2
	@test -x bench-out/peers/bin/python || (python3 -m venv bench-out/peers && bench-out/peers/bin/pip install -q matchering==2.0.6) \
		|| echo "warning: no Matchering venv in bench-out/peers: the speed bench reports that peer absent" >&2
	$(VENV_PY) bench/bench_speed.py $(SPEED_ARGS)
	$(VENV_PY) bench/bench_analysis.py
	$(VENV_PY) bench/bench_metre.py --split all
	$(VENV_PY) bench/bench_fit.py
	$(VENV_PY) bench/bench_deliver.py
	$(VENV_PY) bench/bench_produce_b.py
	$(VENV_PY) bench/bench_produce_a.py
	$(VENV_PY) bench/bench_review.py
	$(VENV_PY) bench/bench_compose.py
	$(VENV_PY) bench/bench_critique.py
	@$(SYSDEPS_SCRIPT) lmms xmp || echo "warning: without lmms and libxmp the real-multitrack bench skips its LMMS and tracker songs" >&2
	$(VENV_PY) bench/bench_realmix.py $(REALMIX_ARGS)
	$(VENV_PY) bench/bench_batch.py
	$(VENV_PY) bench/bench_notes.py $(NOTES_ARGS)
	$(VENV_PY) bench/bench_note_speed.py

# The review page's JavaScript (wavesurfer.js, pinned in review-frontend/package-lock.json) is
# vendored into src/trackwright/review/static/vendor/ and committed (~75 kB), so install, test and
# the wheel need no npm and the page fetches nothing from a CDN. This target refreshes it.
frontend:
	cd review-frontend && npm ci --no-audit --no-fund && npm run vendor

clean:
	rm -rf $(DEMO_DIR) bench-out .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
