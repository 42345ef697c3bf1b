# Two entry points a newcomer needs (see README): `make analyze` and `make test`.
VENV ?= .venv
PYTHON ?= python3
SAMPLE ?= samples/zh-demo.stereo.flac

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,speakers]'
	touch $@

.PHONY: setup analyze serve test lint
setup: $(VENV)/.installed

## set up and analyse a sample call on the embedded default (bundled model, no server)
analyze: setup
	$(VENV)/bin/callscope analyze $(SAMPLE) --format text

## the service with the samples already processed
serve: setup
	$(VENV)/bin/callscope serve --demo

lint: setup
	$(VENV)/bin/ruff check .

## set up and run the tests (starts PostgreSQL and installs Chromium if missing)
test: setup
	bash tests/prepare_machine.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q
