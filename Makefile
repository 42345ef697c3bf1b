# Two entry points a newcomer needs (see README): `make analyze` and `make test`.
VENV ?= .venv
PYTHON ?= python3
SAMPLE ?= samples/zh-demo.stereo.flac

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

.PHONY: setup analyze serve test test-celery lint lock
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

## the service tests again on PostgreSQL with Celery on Redis and a real worker process (CI's second pass)
test-celery: setup
	bash tests/prepare_machine.sh
	CALLSCOPE_TEST_ENGINE=celery CALLSCOPE_TEST_BROKERS=rabbitmq $(VENV)/bin/pytest -q \
	  tests/test_service_http.py tests/test_celery_engine.py::test_a_worker_killed_mid_call_leaves_exactly_one_analysis
