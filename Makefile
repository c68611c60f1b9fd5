# Two commands on a fresh machine:
#   make run    set everything up and open the app on the bundled sample twin
#   make test   set everything up and run ruff, mypy, import-linter and pytest (Qt under Xvfb)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-pure setup setup-test lint bench bundle test-bundle clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)
	bash scripts/system-deps.sh run

setup-test: $(STAMP)
	bash scripts/system-deps.sh test

run: setup
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		echo "no display: running under xvfb-run (install xvfb if missing)"; \
		bash scripts/system-deps.sh test; \
		xvfb-run -a -s "-screen 0 1920x1080x24" $(BIN)/twin open; \
	else \
		$(BIN)/twin open; \
	fi

lint: setup-test
	$(BIN)/ruff check twin_app tests benchmarks packaging
	$(BIN)/ruff format --check twin_app tests benchmarks packaging
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# the pure tiers alone, with Qt and VTK imports blocked (tests/purity.py)
test-pure: setup-test
	TWIN_PURE=1 $(BIN)/pytest -q -p no:pytest-qt -p no:xvfb tests/model tests/geometry tests/io \
		tests/feeds tests/engines $(wildcard tests/scenarios tests/session)

# a onedir PyInstaller bundle in dist/twin_app/ (packaging/README.md); pyinstaller comes from
# the `package` extra, installed here only
bundle: setup
	$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/pip install -q -e '.[test,package]'
	$(BIN)/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
		packaging/twin_app.spec
	@du -sh dist/twin_app

# the bundle starts, opens the sample twin in the window and renders it offscreen
test-bundle: bundle setup-test
	$(BIN)/pytest -q -m bundle tests/test_bundle.py

bench: setup
	$(BIN)/python benchmarks/bench_city.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
