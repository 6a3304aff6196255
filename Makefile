# The README's commands call these targets. `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SANDBOX_PORT ?= 8765
# tap-helpscout's own environment (its pins conflict with ours) for tests/integration/test_tap_helpscout.py;
# the stamp names the version, so a new one rebuilds it, and is written last, so a broken build is redone.
TAP_HELPSCOUT := tap-helpscout==1.2.2
TAP_VENV := .venv-tap
TAP_STAMP := $(TAP_VENV)/.installed-$(subst ==,-,$(TAP_HELPSCOUT))

.PHONY: install bytecode tap-env browser lint test test-fast demo demo-clean bench chaos fuzz samples screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The package compiled ahead: where PYTHONDONTWRITEBYTECODE is set, each `importer` started
# compiled every module again (0.4 of the 1.1 s `importer formats` took), in every batch job's
# command and every test that drives the CLI. Python reads the files whatever that variable
# says; a module edited since is compiled again in memory, as before.
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q importer

$(TAP_STAMP):
	rm -rf $(TAP_VENV)
	$(PYTHON) -m venv $(TAP_VENV)
	$(TAP_VENV)/bin/python -m pip install --quiet $(TAP_HELPSCOUT)
	touch $(TAP_STAMP)

tap-env: $(TAP_STAMP)

# Debian's Chromium and its matching ChromeDriver for tests/browser (Selenium). Installed with apt
# when run as root and missing; nothing to do when both are there. Elsewhere the browser tests are
# skipped with a notice (under CI=true they fail instead).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then \
		echo "make browser: $$(chromium --version 2>/dev/null) and chromedriver are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
		&& echo "make browser: installed $$(chromium --version 2>/dev/null)"; } \
		|| echo "make browser: apt-get could not install chromium and chromium-driver: the browser tests will be skipped (fail under CI=true)"; \
	else \
		echo "make browser: chromium/chromedriver missing and not root with apt: the browser tests will be skipped (run 'sudo make browser')"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check importer tests scripts
	$(BIN)/ruff format --check importer tests scripts
	$(BIN)/mypy importer

# Two workers (pytest-xdist): the suite mostly waits on sockets and timers.
test: lint bytecode $(TAP_STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n auto

test-fast: bytecode
	$(BIN)/python -m pytest -q -x -m "not slow" -p no:cacheprovider

# Start the sandbox (state in .demo/), import every export under samples/, print the reports.
# A second run finds everything already imported. SANDBOX_PORT=9000 make demo for another port.
# .demo/ holds customer data (the sandbox's store, checkpoints, reports): its owner's alone.
demo: bytecode
	mkdir -p .demo && chmod 700 .demo
	SANDBOX_PORT=$(SANDBOX_PORT) $(BIN)/python scripts/demo.py

demo-clean:
	rm -rf .demo

# Figures, not tests: prints them and writes BENCHMARKS.md.
bench: bytecode
	$(BIN)/python scripts/bench.py

# SIGKILL `importer run` 20 times at random moments against a sandbox with every fault on, resume,
# then check nothing was lost or made twice. CHAOS_KILLS=N, CHAOS_SEED=N, CHAOS_CONVERSATIONS=N.
chaos: bytecode
	$(BIN)/python scripts/chaos.py

# Fuzz every reader for FUZZ_MINUTES (default 5) on FUZZ_JOBS processes (default 2); each new
# failure is saved, shrunk, under tests/data/fuzz/<reader>/ and replayed by `make test`.
fuzz: bytecode
	$(BIN)/python scripts/fuzz.py

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py

# The README's screenshots of the web pages (docs/screenshots/), in headless Chromium.
screenshots: $(STAMP) browser
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .demo build *.egg-info
