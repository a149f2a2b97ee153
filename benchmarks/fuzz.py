"""The long fuzz run: many generated and mutated specs and patterns through the whole pipeline.

    python benchmarks/fuzz.py --examples 100000

Every input must analyse and report, or fail with a located cnncalc error; anything else (another
exception) is printed with the input that caused it and the run exits 1. Uses the strategies of
tests/fuzzing.py; prints counts per outcome and the slowest input's time.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.pipeline import analyze_text  # noqa: E402
from cnncalc.report import Options, build  # noqa: E402
from tests.fuzzing import hostile_texts, issue19_texts, mutated_patterns, mutated_specs, random_specs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=10_000)
    examples = parser.parse_args().examples
    outcomes: collections.Counter[str] = collections.Counter()
    slowest = [0.0, ""]
    failures: list[tuple[str, str]] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutated_specs(), random_specs, mutated_patterns(), hostile_texts, issue19_texts))
    def run(text: str) -> None:
        start = time.perf_counter()
        try:
            analysis = analyze_text(text, "fuzz.yaml")
            if analysis.complete:
                build(analysis, Options(batch=2)).to_dict()
            outcomes["ok" if analysis.ok else "invalid model"] += 1
        except CnnCalcError as error:
            outcomes[error.code] += 1
        except Exception as error:  # noqa: BLE001 - what the fuzzer is looking for
            failures.append((repr(text[:400]), f"{type(error).__name__}: {error}"))
            outcomes["UNEXPECTED"] += 1
        elapsed = time.perf_counter() - start
        if elapsed > slowest[0]:
            slowest[:] = [elapsed, text[:80]]

    start = time.perf_counter()
    run()
    total = sum(outcomes.values())
    print(f"{total:,} inputs in {time.perf_counter() - start:.0f} s; slowest {slowest[0]:.2f} s ({slowest[1]!r})")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome:<16}{count:>8,}")
    for text, error in failures[:10]:
        print(f"UNEXPECTED {error}\n  input: {text}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
