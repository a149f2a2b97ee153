"""How long cnncalc takes to refuse pattern bombs, as a ratio to parsing and expanding VGG-16 on one line.

Run from the repository root (with cnncalc installed, or PYTHONPATH=.): python benchmarks/pattern_limits.py.
Ratios near 1 mean a bomb costs no more than a real network: the limits (docs/pattern.md) are checked
before anything is expanded.
"""

from __future__ import annotations

import time

from cnncalc import pattern
from cnncalc.errors import CnnCalcError

VGG16 = (
    "INPUT[224x224x3] -> [CONV3-64 -> RELU]*2 -> POOL2 -> [CONV3-128 -> RELU]*2 -> POOL2 -> "
    "[CONV3-256 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> [CONV3-512 -> RELU]*3 -> POOL2 -> "
    "[FC-4096 -> RELU -> DROPOUT(0.5)]*2 -> FC-1000"
)
BOMBS = {
    "3,000 nested brackets": "[" * 3000 + "RELU" + "]" * 3000,
    "[RELU]*99999999999999": "[RELU]*99999999999999",
    "[[[RELU]*1000]*1000]*1000": "[[[RELU]*1000]*1000]*1000",
    "a 5,000-digit count": "RELU*" + "9" * 5000,
}


def best_of(text: str, runs: int = 20) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        try:
            pattern.from_text(text, input="8x8x3").spec()
        except CnnCalcError:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    base = best_of(VGG16)
    print(f"VGG-16 pattern -> spec: {base * 1e3:.2f} ms (the unit below)")
    for label, text in BOMBS.items():
        print(f"{label:>28}: {best_of(text) / base:6.2f} x")


if __name__ == "__main__":
    main()
