# Two commands: `make demo` installs logchat and runs it on the bundled sample logs;
# `make test` installs the test dependencies and runs the whole test suite (what CI runs).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .logchat-demo
LOGCHAT := $(BIN)/logchat --data-dir $(DEMO_DIR)

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(LOGCHAT) index logchat/examples/
	$(LOGCHAT) stat
	$(LOGCHAT) ask --no-llm --now "2026-11-03 12:00" "why did sshd reject logins last night?"

test: $(VENV)/.installed-dev
	$(BIN)/ruff check logchat tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_ask.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .ruff_cache
