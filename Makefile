# Two entry points a newcomer needs (see README): `make analyze` and `make test`.
VENV ?= .venv
PYTHON ?= python3
SAMPLE ?= samples/zh-demo.stereo.flac

# the packages come from requirements.lock (exact versions, with hashes); the project itself after
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch first, from the CPU build on this machine kind's disk (not in the lock: resolved from PyPI it
	# is a CUDA build of several GB); it satisfies the [speakers] extra that the lock holds the rest of
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q --no-deps --require-hashes -r requirements.lock
	$(VENV)/bin/pip install -q --no-deps -e '.[test,speakers,understanding]'
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

## the service tests again on PostgreSQL with Celery on Redis and a real worker process (CI's second pass); and a server of two processes on PostgreSQL
test-celery: setup
	bash tests/prepare_machine.sh
	CALLSCOPE_TEST_ENGINE=celery CALLSCOPE_TEST_BROKERS=rabbitmq $(VENV)/bin/pytest -q \
	  tests/test_service_http.py tests/test_celery_engine.py::test_a_worker_killed_mid_call_leaves_exactly_one_analysis
	CALLSCOPE_TEST_PROCESS_DATABASES=postgresql $(VENV)/bin/pytest -q tests/test_service_processes.py

## regenerate requirements.lock from pyproject.toml (after changing a dependency); then `make setup`.
## The extras locked are test, postgres, speakers and understanding, all but torch: resolved from
## PyPI it is a CUDA build of several GB, so setup installs torch==2.13.0 (the CPU build on disk)
## before the lock.
# torch and what only PyPI's CUDA build of it needs (the CPU build on disk needs none of them), and
# the `typing` backport resemblyzer names (the standard library has it; PyPI's newest refuses Python 3)
NOT_LOCKED = typing torch triton cuda-bindings cuda-pathfinder cuda-toolkit nvidia-cublas nvidia-cuda-cupti \
	nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand \
	nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 nvidia-nvjitlink \
	nvidia-nvshmem-cu13 nvidia-nvtx
lock:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q 'uv>=0.5'
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --extra postgres --extra speakers --extra understanding \
	  --universal $(foreach p,$(NOT_LOCKED),--no-emit-package $(p)) --python-version 3.10 --generate-hashes --quiet \
	  -o requirements.lock
