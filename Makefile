# The README's two commands: `make run` and `make test`. Both do all set-up on a fresh machine.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DB      ?= data/qinyuan.duckdb
PORT    ?= 8501
SECRETS := .streamlit/secrets.toml

.PHONY: run test test-fast bench venv browser postgres haproxy secrets demo lint clean cluster cluster-stop

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

# Debian's Chromium and CJK fonts for browser tests and PDF charts (Chinese renders as boxes without them);
# poppler-utils (pdftoppm) renders the door cards' PDF so a test can scan its QR codes.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v pdftoppm >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  echo "installing chromium, fonts-noto-cjk and poppler-utils"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk poppler-utils >/dev/null; \
	fi

# Debian's PostgreSQL server programs: the tests start a throwaway server of their own (deploy/pgtemp.py).
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "installing postgresql"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; \
	fi

# A random cookie key, generated once, never committed.
secrets: $(SECRETS)
$(SECRETS):
	mkdir -p .streamlit
	umask 077; $(BIN)/python -c "import secrets; print('cookie_key = \"' + secrets.token_hex(32) + '\"\ncookie_hours = 12')" > $@

demo: venv
	test -f $(DB) || $(BIN)/python -m qinyuan demo --db $(DB)

run: venv secrets demo
	QINYUAN_DB=$(DB) $(BIN)/streamlit run app.py --server.port $(PORT)

# Debian's haproxy, the balancer of `make cluster`.
haproxy:
	@if [ ! -x /usr/sbin/haproxy ]; then \
	  echo "installing haproxy"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq haproxy >/dev/null; \
	fi

# The street-office shape on one machine (README, "Deployment for a street office"): PostgreSQL with the demo
# world in $(CLUSTER)/, app replicas on $(REPLICAS), haproxy on $(CLUSTER_PORT). Runs in the background until
# `make cluster-stop`; pid files and logs in $(CLUSTER)/.
CLUSTER      ?= .cluster
CLUSTER_PORT ?= 8500
REPLICAS     ?= 8501,8502

cluster: venv secrets postgres haproxy
	$(BIN)/python -m deploy.cluster start $(CLUSTER) --port $(CLUSTER_PORT) --replicas $(REPLICAS)

cluster-stop:
	$(BIN)/python -m deploy.cluster stop $(CLUSTER)

# Unit and AppTest suites on both cores (pytest-xdist), then the browser tests one at a time (each starts a
# real server and Chromium). pytest's exit 5 (no test collected) is a failure in both.
PYTEST_OK = status=$$?; if [ $$status -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; [ $$status -eq 0 ] || exit $$status

test: venv browser postgres haproxy secrets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy qinyuan
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 tests/unit tests/app; $(PYTEST_OK)
	QINYUAN_TEST_BACKEND=postgres $(BIN)/python -m pytest -p no:cacheprovider -n 2 tests/unit tests/app; $(PYTEST_OK)
	$(BIN)/python -m pytest -p no:cacheprovider tests/e2e; $(PYTEST_OK)

# Unit and AppTest suites in parallel (pytest-xdist), no browser: the quick check while working.
test-fast: venv secrets
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy qinyuan
	$(BIN)/python -m pytest -p no:cacheprovider -n 2 tests/unit tests/app; $(PYTEST_OK)

bench: venv browser
	$(BIN)/python -m bench.run --extra-sessions 10 --pinned-sessions

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy qinyuan

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
