"""`make bench` ends with one table: each benchmark's figure, its target, and whether it passed.

A benchmark records its lines with the `bench_result` fixture; they are printed together after
the run, whatever order the benchmarks ran in (and a failed one still shows its figure).
"""

import dataclasses
import json
import os

import pytest

from tests.integration.conftest import celery_worker_process, worker_var_dir  # noqa: F401 (a benchmark's worker)
from tests.perf.table import Result, print_table

RESULTS: list[Result] = []


@pytest.fixture
def bench_result():
    def record(name: str, value: float, unit: str, target: float, *, higher_is_better=False, note="") -> Result:
        result = Result(name, value, unit, target, higher_is_better, note)
        RESULTS.append(result)
        return result

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    if not RESULTS:
        return
    from django.db import connection

    if path := os.environ.get("BENCH_RESULTS"):  # `make bench`: one run per file, one table at the end
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(dataclasses.asdict(r)) + "\n" for r in RESULTS)
    print_table(terminalreporter.write_line, RESULTS, f"Benchmarks on {connection.vendor}")
