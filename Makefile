# One entry point for humans and CI. `make test` works from a fresh clone as root with
# only the package registries reachable: it creates (or reuses) .venv, installs the
# package with its dev extras, builds the JS bundle, installs Debian's chromium for the
# browser tests when it is missing, then runs every linter, type checker and test.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BUNDLE := wandb_auto_widget/static/widget.js

.PHONY: install js browser lint typecheck test test-py test-js bench demo clean

js/node_modules/.package-lock.json: js/package.json js/package-lock.json
	cd js && npm ci --no-audit --no-fund

$(BUNDLE): js/node_modules/.package-lock.json $(wildcard js/src/*)
	cd js && npm run build

js: $(BUNDLE)

$(STAMP): pyproject.toml $(BUNDLE)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

browser:
	command -v chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends chromium)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(PY) -m mypy
	cd js && npm run typecheck

test-js: js
	cd js && npm test

test-py: install browser
	$(PY) -m pytest -q

test: lint typecheck test-js test-py

# A seeded local W&B server, a webhook receiver, and JupyterLab on notebooks/quickstart.ipynb.
demo: install
	$(PY) -m wandb_auto_widget.cli demo --root .

bench: install
	$(PY) benchmarks/preview_eval.py
	$(PY) benchmarks/server_io.py
	$(PY) benchmarks/preview_e2e.py
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/concurrent_ingest.py
	$(PY) benchmarks/watch_cost.py

clean:
	rm -rf $(VENV) js/node_modules wandb_auto_widget/static .demo .mypy_cache .pytest_cache .ruff_cache
