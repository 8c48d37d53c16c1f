"""`python -m tests.perf.table FILE`: the one table `make bench` ends with, from each file's results."""

import json
import sys
from dataclasses import dataclass


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


def print_table(write, results: list[Result], title: str) -> None:
    write("")
    write(title)
    write(f"{'benchmark':<46}{'figure':>14}{'target':>14}  result")
    for r in results:
        sign = "≥" if r.higher_is_better else "<"
        figure, target = f"{r.value:,.1f} {r.unit}", f"{sign} {r.target:,.0f} {r.unit}"
        line = f"{r.name:<46}{figure:>14}{target:>14}  {'pass' if r.passed else 'FAIL'}"
        write(f"{line}   {r.note}" if r.note else line)


def main(path: str) -> int:
    with open(path, encoding="utf-8") as lines:
        results = [Result(**json.loads(line)) for line in lines if line.strip()]
    print_table(print, results, "Benchmarks, each file on a database of its own")
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
