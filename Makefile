# Two commands for a fresh machine (see README.md):
#   make demo   - set everything up, start the gateway and both portals, print demo accounts
#   make test   - set everything up and run the whole test suite (what CI runs): once on
#                 SQLite, then again on PostgreSQL + Redis (make test-postgresql)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
FLASK  := $(BIN)/flask --app gateway

AXE    := node_modules/axe-core/axe.min.js

.PHONY: install translations chromium nginx axe demo test test-sqlite test-postgresql lint clean

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

# The TLS reverse-proxy test (tests/live/test_tls_proxy_browser.py) runs Debian's nginx in front
# of gunicorn; install it when missing and we may (the test skips, saying so, without it).
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; \
	else echo "nginx not installed: the TLS reverse-proxy test will be skipped"; fi

# axe-core (npm, pinned by package-lock.json) for the accessibility audit of the browser tests
# (docs/accessibility.md). Without npm the audit's tests skip, saying so.
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --silent && touch $@; \
	else echo "npm not installed: the accessibility audit (tests/live/test_a11y_browser.py) will be skipped"; fi

axe: $(AXE)

demo: install
	$(BIN)/python -m clients.demo

lint: $(STAMP)
	$(BIN)/ruff check gateway clients tests
	$(BIN)/lint-imports

# Two runs, one after the other: the storage the app fixture uses is the difference.
test: install chromium nginx axe lint
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgresql

# Every test, the live and browser ones included; the app fixture on a new SQLite file per test.
test-sqlite: install axe
	@echo "== test run 1/2: SQLite (a new database file per test), live and browser tests included =="
	GATEWAY_TEST_DATABASE=sqlite $(BIN)/python -m pytest

# The in-process tests again with the app fixture on one throw-away PostgreSQL database on
# 127.0.0.1:5432 (emptied before each test) and Redis on 127.0.0.1:6379 (a key prefix per test,
# deleted afterwards); they skip, saying why, where either is not running. The live tests start
# their own servers with their own storage: they ran in the first run.
test-postgresql: install
	@echo "== test run 2/2: PostgreSQL 127.0.0.1:5432 + Redis 127.0.0.1:6379, live tests excluded =="
	GATEWAY_TEST_DATABASE=postgresql $(BIN)/python -m pytest -m "not live"

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
