# The README's commands call these targets. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8765

.PHONY: install lint test test-fast demo demo-clean bench chaos fuzz samples clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check importer tests scripts
	$(BIN)/ruff format --check importer tests scripts
	$(BIN)/mypy importer

# Two workers (pytest-xdist): the suite mostly waits on sockets and timers.
test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not slow" -p no:cacheprovider

# Start the sandbox (state in .demo/), import every export under samples/, print the reports.
# A second run finds everything already imported. SANDBOX_PORT=9000 make demo for another port.
# .demo/ holds customer data (the sandbox's store, checkpoints, reports): its owner's alone.
demo: $(STAMP)
	mkdir -p .demo && chmod 700 .demo
	SANDBOX_PORT=$(SANDBOX_PORT) $(BIN)/python scripts/demo.py

demo-clean:
	rm -rf .demo

# Figures, not tests: prints them and writes BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# SIGKILL `importer run` 20 times at random moments against a sandbox with every fault on, resume,
# then check nothing was lost or made twice. CHAOS_KILLS=N, CHAOS_SEED=N, CHAOS_CONVERSATIONS=N.
chaos: $(STAMP)
	$(BIN)/python scripts/chaos.py

# Fuzz every reader for FUZZ_MINUTES (default 5) on FUZZ_JOBS processes (default 2); each new
# failure is saved, shrunk, under tests/data/fuzz/<reader>/ and replayed by `make test`.
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
