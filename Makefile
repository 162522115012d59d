# Two commands for a fresh machine (see README.md):
#   make demo   - set everything up, start the gateway and both portals, print demo accounts
#   make test   - set everything up and run the whole test suite (what CI runs)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app gateway

.PHONY: install translations chromium demo test lint clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP) translations

# Compiled catalogues (.mo) are build output, not source: made here from the .po files.
translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d gateway/translations >/dev/null

# The browser tests drive Debian's Chromium; install it when missing and we may.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not installed: browser tests will be skipped"; fi

demo: install
	$(BIN)/python -m clients.demo

lint: $(STAMP)
	$(BIN)/ruff check gateway clients tests
	$(BIN)/lint-imports

test: install chromium lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) instance .pytest_cache
