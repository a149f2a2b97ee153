"""cnncalc.records against the stdlib's dataclasses: per instance, and the cost of making the classes.

    python benchmarks/bench_records.py

Per instance (the best of 15 rounds that alternate the two, ns a call): `__init__`, `==`, `hash`, `repr` and `replace` of a
6-field frozen slotted record, as the stdlib makes it and as cnncalc.records does; the ratio is
records / stdlib (under 1: faster). Per class: defining 60 frozen slotted classes of 1 to 19 fields
and making one instance of each (what a start-up pays), in a fresh process each, so that neither
module is loaded or warm: the import of `dataclasses` or of cnncalc.records included.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc import records  # noqa: E402

BODY = "    a: int\n    b: str\n    c: tuple\n    d: float = 1.0\n    e: object = None\n    f: int = 0\n"


def make(decorator):
    namespace: dict = {"decorator": decorator}
    exec(f"@decorator(frozen=True, slots=True)\nclass Six:\n{BODY}", namespace)  # noqa: S102
    return namespace["Six"]


def per_call(statement: str, namespaces: list[dict], number: int = 50_000, repeat: int = 15) -> list[float]:
    """ns a call of `statement` in each namespace: the best of `repeat` rounds, the namespaces taking
    turns within each round (a shared machine's load falls on both alike)."""
    timers = [timeit.Timer(statement, globals=namespace) for namespace in namespaces]
    best = [float("inf")] * len(timers)
    for _ in range(repeat):
        for index, timer in enumerate(timers):
            best[index] = min(best[index], timer.timeit(number) / number * 1e9)
    return best


def per_instance() -> None:
    print(f"{'per instance (ns)':24s} {'stdlib':>8s} {'records':>8s} {'ratio':>6s}")
    theirs, ours = make(dataclasses.dataclass), make(records.dataclass)
    cases = [("__init__", "Six(1, 'x', (), 2.0, None, 3)"), ("==", "x == y"), ("hash", "hash(x)"),
             ("repr", "repr(x)"), ("replace", "replace(x, b='y')")]
    for name, statement in cases:
        namespaces = [{"Six": cls, "x": cls(1, "x", (), 2.0, None, 3), "y": cls(1, "x", (), 2.0, None, 3),
                       "replace": replace} for cls, replace in ((theirs, dataclasses.replace), (ours, records.replace))]
        times = per_call(statement, namespaces)
        print(f"  {name:22s} {times[0]:8.0f} {times[1]:8.0f} {times[1] / times[0]:6.2f}")


CLASSES = """
import time
import typing  # cnncalc's package imports it: outside the timing for both
start = time.perf_counter()
{imports}
made = []
for index in range(60):
    count = 1 + index % 19
    body = "".join(f"    f{{i}}: int\\n" for i in range(count))
    namespace = {{"dataclass": dataclass}}
    exec(f"@dataclass(frozen=True, slots=True)\\nclass C{{index}}:\\n{{body}}", namespace)
    made.append(namespace[f"C{{index}}"](*range(count)))
print((time.perf_counter() - start) * 1000)
"""


def per_class(runs: int = 9) -> None:
    print("60 classes, defined and used once (ms, median of fresh processes)")
    for name, imports in (("stdlib", "from dataclasses import dataclass"),
                          ("records", "from cnncalc.records import dataclass")):
        times = sorted(float(subprocess.run([sys.executable, "-c", CLASSES.format(imports=imports)], cwd=ROOT,
                                            capture_output=True, text=True, check=True).stdout)
                       for _ in range(runs))
        print(f"  {name:22s} {times[runs // 2]:8.1f}")


if __name__ == "__main__":
    per_instance()
    per_class()
