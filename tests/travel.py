"""Run a Python module in a process whose clock starts at a given instant and ticks on.

    python -m tests.travel 2027-03-28T01:30:00+00:00 celery -A salesdept worker ...

The suite moves its own process's clock with time-machine (tests/conftest.py); a worker it
starts must live at the same instant, or a message approved "now" in the test would wait in
the worker's future or past. Forked pool processes inherit the travel.
"""

import runpy
import sys

import time_machine


def main() -> None:
    instant, module, *args = sys.argv[1:]
    time_machine.travel(instant, tick=True).start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
