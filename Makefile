# One target per habit. Every target installs what it needs first, so a fresh clone works.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
# Debian packages the product needs: the MJ font for names with variant kanji, a Gothic font for
# the screens, HarfBuzz's subsetter (WeasyPrint subsets fonts ~6× faster with it), and Chromium
# for the browser tests (Playwright drives Debian's build; no browser download).
APT_PACKAGES := fonts-ipamj-mincho fonts-ipaexfont libharfbuzz-subset0 chromium

.PHONY: setup system-deps demo serve test lint format bench screenshots clean

setup: system-deps $(VENV)/.installed

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[pdf,dev]'
	touch $@

demo: setup
	$(BIN)/jichitai demo
	@echo "http://127.0.0.1:8000 で起動します（終了は Ctrl+C）。"
	$(BIN)/jichitai serve --host 127.0.0.1 --port 8000

serve: setup
	$(BIN)/jichitai serve

# The whole suite, each database test on SQLite and on PostgreSQL (see tests/conftest.py).
test: setup
	$(PY) -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup
	$(PY) -m bench

# PNGs of the main screens (a throw-away demo deployment driven in Debian's Chromium).
screenshots: setup
	$(PY) -m jichitai.web.screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
