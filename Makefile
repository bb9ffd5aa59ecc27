# `make demo` and `make test` do all the set-up a fresh Debian machine needs (see .ci/setup.sh).
PYTHON ?= python3
JOBS ?= 4

.PHONY: setup demo test lint bench clean

setup:
	bash .ci/setup.sh

demo: setup
	grade submit ex1 --file solutions/ex1_fork.py --tree

test: setup
	$(PYTHON) -m pytest -n $(JOBS) --dist loadgroup -q

lint:
	ruff check grader tests bench exercises
	ruff format --check grader tests bench exercises
	mypy

bench: setup
	$(PYTHON) bench/bench_overhead.py 10
	$(PYTHON) bench/bench_batch.py
	$(PYTHON) bench/bench_judge.py
	$(PYTHON) bench/bench_cli.py
	$(PYTHON) bench/bench_cluster.py

clean:
	grade clean
