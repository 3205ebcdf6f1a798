# One entry point for humans and CI. `make test` works from a fresh clone:
# it creates (or reuses) .venv, installs the package with its dev extras,
# then runs lint, format check, type check and every test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lint typecheck test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy

test: lint typecheck
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/preview_eval.py
	$(PY) benchmarks/server_io.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
