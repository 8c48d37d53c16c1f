"""`python -m tests.perf.table FILE`: the one table `make bench` ends with, from each file's results."""

import json
import sys

from tests.perf.conftest import Result, print_table


def main(path: str) -> int:
    with open(path, encoding="utf-8") as lines:
        results = [Result(**json.loads(line)) for line in lines if line.strip()]
    print_table(print, results, "Benchmarks, each file on a database of its own")
    return 0 if results and all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
