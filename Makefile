# `make run` and `make test` work on a fresh clone: each installs what is missing first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-test index run serve test lint bench screenshot clean

$(PY):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip -q install --upgrade pip

# torch first, pinned: a bare `torch` requirement would pull a multi-GB CUDA build.
$(VENV)/.stamp-install: pyproject.toml | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[model]'
	touch $@

install: $(VENV)/.stamp-install

# Test extras, plus Debian's Chromium for the browser tests (never `playwright install`).
$(VENV)/.stamp-test: $(VENV)/.stamp-install pyproject.toml
	$(PIP) install -e '.[model,test]'
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium chromium-driver'"; exit 1; fi; \
	fi
	touch $@

install-test: $(VENV)/.stamp-test

index: install
	$(VENV)/bin/assistant index

run: index
	$(PY) app.py

serve: run

test: install-test
	$(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check assistant tests bench app.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) index/gen-* index/CURRENT index/.lock
