"""`make bench` ends with one table: each benchmark's figure, its target, and whether it passed.

A benchmark records its lines with the `bench_result` fixture; they are printed together after
the run, whatever order the benchmarks ran in (and a failed one still shows its figure).
"""

import dataclasses
import json
import os
from dataclasses import dataclass

import pytest

from tests.integration.conftest import celery_worker_process, worker_var_dir  # noqa: F401 (a benchmark's worker)


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    target: float
    higher_is_better: bool = False
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value < self.target


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


def print_table(write, results: list[Result], title: str) -> None:
    write("")
    write(title)
    write(f"{'benchmark':<46}{'figure':>14}{'target':>14}  result")
    for r in results:
        sign = "≥" if r.higher_is_better else "<"
        figure, target = f"{r.value:,.1f} {r.unit}", f"{sign} {r.target:,.0f} {r.unit}"
        line = f"{r.name:<46}{figure:>14}{target:>14}  {'pass' if r.passed else 'FAIL'}"
        write(f"{line}   {r.note}" if r.note else line)
