# The two quick-start commands (see README): `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test install install-test translations lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	scripts/install-system-test-deps

# Install, migrate the embedded SQLite database, load the demo edition, serve on http://127.0.0.1:5000
demo: install
	$(BIN)/award db upgrade
	$(BIN)/award demo
	$(BIN)/award run --host 127.0.0.1 --port 5000

# Install the test dependencies and run the whole suite (SQLite; set TEST_DATABASE_URL for PostgreSQL),
# on both cores (each pytest-xdist worker has its own database).
PYTEST_ARGS ?= -n 2
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

# Re-extract the messages and compile the catalogues after changing user-visible text.
# --ignore-dirs replaces Babel's default, which skips every folder whose name starts with "_" (templates/_macros).
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --ignore-dirs '.* __pycache__ instance node_modules' \
	  -o award/translations/messages.pot .
	$(BIN)/pybabel update -i award/translations/messages.pot -d award/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d award/translations

# Static analysis: ruff (with the flake8-bandit security rules), bandit and pip-audit. Accepted findings are
# marked in the code and explained in docs/security.md ("Static analysis findings accepted").
lint: install-test
	$(BIN)/ruff check award scoring tests benchmarks scripts
	$(BIN)/bandit -q -c pyproject.toml -r award scoring
	$(BIN)/python scripts/pip_audit.py
