"""`cnncalc diff A B`: two analysed models, layer by layer, and CI budgets on the change.

Layers are aligned by global sequence alignment (Needleman-Wunsch with affine gaps, Gotoh's three
states) on (kind, output shape): a pair of the same kind and shape scores most, the same kind with
another shape (a "changed" layer) less, and kinds never pair; the same input shapes and parameters
add a little, so a layer pairs with its own copy rather than a look-alike of the same output. A gap costs more to open than to extend,
so an inserted block is one run of insertions, not pieces matched against look-alike layers; equal
names break ties between alignments of the same structure. A common head and tail pair off first;
a middle of over MAX_CELLS pairs falls back to difflib's matching blocks (no junk heuristic) on the same
keys.

Imports nothing heavy: `diff` runs where `analyze` runs.
"""

from __future__ import annotations

import re
from cnncalc.records import dataclass

from cnncalc.errors import Location, UsageError
from cnncalc.report import Report, Row
from cnncalc.units import parse_count, parse_size

#: a pair's score: same kind and output shape, or only the same kind; then bonuses for the same inputs and
#: parameters (the same layer, not just a look-alike) and the same name
EXACT, SAME_KIND, SAME_LAYER, SAME_NAME = 20, 4, 2, 1
GAP_OPEN, GAP_EXTEND = 7, 1
#: the largest n x m the dynamic programme fills (about a second of pure Python), after the common head
#: and tail are paired off
MAX_CELLS = 250_000
NEG = float("-inf")


def _key(row: Row) -> tuple:
    return (row.type, row.output_shape)


def _identity(row: Row) -> tuple:
    return (row.name, row.type, row.input_shapes, row.output_shape, row.params)


def _pair_score(a: Row, b: Row) -> float:
    if a.type != b.type:
        return NEG
    score = EXACT if a.output_shape == b.output_shape else SAME_KIND
    if a.input_shapes == b.input_shapes and a.params == b.params:
        score += SAME_LAYER
    return score + (SAME_NAME if a.name == b.name else 0)


def align(a: tuple[Row, ...], b: tuple[Row, ...]) -> list[tuple[int | None, int | None]]:
    """Pairs (i, j) in order; (i, None) a removal, (None, j) an insertion.

    A common head and tail (the same layers: names, kinds, shapes in and out, parameters) pair off first,
    as in any diff; the middle is aligned."""
    head = 0
    while head < min(len(a), len(b)) and _identity(a[head]) == _identity(b[head]):
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and _identity(a[-1 - tail]) == _identity(b[-1 - tail]):
        tail += 1
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
    if len(middle_a) * len(middle_b) > MAX_CELLS:
        middle = _align_blocks(middle_a, middle_b)
    else:
        middle = _align(middle_a, middle_b)
    shifted = [(None if i is None else i + head, None if j is None else j + head) for i, j in middle]
    return ([(k, k) for k in range(head)] + shifted
            + [(len(a) - tail + k, len(b) - tail + k) for k in range(tail)])


def _align(a: tuple[Row, ...], b: tuple[Row, ...]) -> list[tuple[int | None, int | None]]:
    n, m = len(a), len(b)
    # three score tables: M ends on a pair, X on a removal (gap in b), Y on an insertion (gap in a)
    M = [[NEG] * (m + 1) for _ in range(n + 1)]
    X = [[NEG] * (m + 1) for _ in range(n + 1)]
    Y = [[NEG] * (m + 1) for _ in range(n + 1)]
    M[0][0] = 0.0
    for i in range(1, n + 1):
        X[i][0] = -GAP_OPEN - (i - 1) * GAP_EXTEND
    for j in range(1, m + 1):
        Y[0][j] = -GAP_OPEN - (j - 1) * GAP_EXTEND
    for i in range(1, n + 1):
        Mi, Xi, Yi, Mp, Xp, Yp, ai = M[i], X[i], Y[i], M[i - 1], X[i - 1], Y[i - 1], a[i - 1]
        for j in range(1, m + 1):
            s = _pair_score(ai, b[j - 1])
            if s != NEG:
                Mi[j] = s + max(Mp[j - 1], Xp[j - 1], Yp[j - 1])
            Xi[j] = max(Mp[j] - GAP_OPEN, Xp[j] - GAP_EXTEND, Yp[j] - GAP_OPEN)
            Yi[j] = max(Mi[j - 1] - GAP_OPEN, Yi[j - 1] - GAP_EXTEND, Xi[j - 1] - GAP_OPEN)
    return _trace(a, b, M, X, Y)


def _trace(a, b, M, X, Y) -> list[tuple[int | None, int | None]]:
    i, j = len(a), len(b)
    tables = {"M": M, "X": X, "Y": Y}
    state = max(("M", "X", "Y"), key=lambda s: tables[s][i][j])
    out: list[tuple[int | None, int | None]] = []
    while i > 0 or j > 0:
        if state == "M":
            out.append((i - 1, j - 1))
            i, j = i - 1, j - 1
            state = max(("M", "X", "Y"), key=lambda s: tables[s][i][j])
        elif state == "X":
            out.append((i - 1, None))
            best = max((M[i - 1][j] - GAP_OPEN, "M"), (X[i - 1][j] - GAP_EXTEND, "X"), (Y[i - 1][j] - GAP_OPEN, "Y"))
            i, state = i - 1, best[1]
        else:
            out.append((None, j - 1))
            best = max((M[i][j - 1] - GAP_OPEN, "M"), (Y[i][j - 1] - GAP_EXTEND, "Y"), (X[i][j - 1] - GAP_OPEN, "X"))
            j, state = j - 1, best[1]
    return out[::-1]


def _align_blocks(a, b) -> list[tuple[int | None, int | None]]:
    from difflib import SequenceMatcher

    out: list[tuple[int | None, int | None]] = []
    matcher = SequenceMatcher(None, [_key(r) for r in a], [_key(r) for r in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += list(zip(range(i1, i2), range(j1, j2)))
            continue
        # a replaced run: same kinds pair in order (changed layers), the rest are removals and insertions
        j = j1
        for i in range(i1, i2):
            k = next((k for k in range(j, j2) if b[k].type == a[i].type), None)
            if k is None:
                out.append((i, None))
                continue
            out += [(None, x) for x in range(j, k)] + [(i, k)]
            j = k + 1
        out += [(None, x) for x in range(j, j2)]
    return out


# ---------------------------------------------------------------------------------------------
# the comparison


METRICS = ("params", "macs", "activations", "memory")


@dataclass(frozen=True, slots=True)
class Entry:
    """One aligned layer: status "same", "changed", "inserted" or "removed", and per-sample changes."""

    status: str
    a: Row | None
    b: Row | None
    memory_a: int
    memory_b: int

    def value(self, side: Row | None, metric: str) -> int:
        if side is None:
            return 0
        if metric == "memory":
            return self.memory_a if side is self.a else self.memory_b
        return getattr(side, metric)

    def delta(self, metric: str) -> int:
        return self.value(self.b, metric) - self.value(self.a, metric)


@dataclass(frozen=True, slots=True)
class Total:
    metric: str
    before: int
    after: int

    @property
    def delta(self) -> int:
        return self.after - self.before

    @property
    def relative(self) -> float | None:
        """The change in percent of `before` (None when before is 0)."""
        return 100 * self.delta / self.before if self.before else None


@dataclass(frozen=True, slots=True)
class Comparison:
    a: Report
    b: Report
    entries: tuple[Entry, ...]
    totals: tuple[Total, ...]

    def total(self, metric: str) -> Total:
        return next(t for t in self.totals if t.metric == metric)

    def hunks(self) -> list[tuple[str, list[Entry]]]:
        """Runs of entries with the same status, in order (an inserted block is one run)."""
        runs: list[tuple[str, list[Entry]]] = []
        for entry in self.entries:
            if runs and runs[-1][0] == entry.status:
                runs[-1][1].append(entry)
            else:
                runs.append((entry.status, [entry]))
        return runs

    def counts(self) -> dict[str, int]:
        counted = {"same": 0, "changed": 0, "inserted": 0, "removed": 0}
        for entry in self.entries:
            counted[entry.status] += 1
        return counted


def _layer_memory(report: Report) -> dict[str, int]:
    """Each layer's bytes (new output + saved for backward + gradient buffers), as the memory table adds them."""
    return {m.name: m.output_bytes + m.saved_bytes + m.gradient_bytes for m in report.memory.layers}


def _status(a: Row, b: Row) -> str:
    same = (a.type, a.output_shape, a.params, a.macs, a.activations) == (b.type, b.output_shape, b.params, b.macs,
                                                                       b.activations)
    return "same" if same else "changed"


def compare(a: Report, b: Report) -> Comparison:
    mem_a, mem_b = _layer_memory(a), _layer_memory(b)
    entries = []
    for i, j in align(a.rows, b.rows):
        ra = a.rows[i] if i is not None else None
        rb = b.rows[j] if j is not None else None
        status = "inserted" if ra is None else "removed" if rb is None else _status(ra, rb)
        entries.append(Entry(status, ra, rb, mem_a.get(ra.name, 0) if ra else 0, mem_b.get(rb.name, 0) if rb else 0))
    batch = a.options.batch
    totals = (
        Total("params", a.totals.params, b.totals.params),
        Total("macs", a.totals.macs * batch, b.totals.macs * batch),
        Total("activations", a.totals.activations * batch, b.totals.activations * batch),
        Total("memory", a.memory.training_bytes, b.memory.training_bytes),
        Total("inference", a.memory.inference_bytes, b.memory.inference_bytes),
    )
    return Comparison(a, b, tuple(entries), totals)


def peak_moved(comparison: Comparison, which: str = "training") -> tuple[str, str] | None:
    """Where the peak is in A and in B ("phase at layer"), or None when the memory model does not say."""
    pa = getattr(comparison.a.memory, f"{which}_peak")
    pb = getattr(comparison.b.memory, f"{which}_peak")
    if pa is None or pb is None:
        return None
    return f"{pa.phase} at {pa.layer}", f"{pb.phase} at {pb.layer}"


# ---------------------------------------------------------------------------------------------
# budgets: --fail-on params:+5%


#: what each budget name limits (memory = the training peak, inference = the inference peak)
BUDGET_METRICS = ("params", "macs", "activations", "memory", "inference")
_BUDGET = re.compile(r"^\s*(?P<metric>[a-z]+)\s*:\s*\+?\s*(?P<amount>[0-9][0-9._]*(?:e[0-9]+)?\s*[A-Za-z]*)"
                     r"\s*(?P<percent>%)?\s*$")


@dataclass(frozen=True, slots=True)
class Budget:
    """The largest increase allowed for one metric: absolute (count, or bytes for memory) or percent."""

    text: str
    metric: str
    limit: float
    relative: bool

    def exceeded(self, total: Total) -> bool:
        if self.relative:
            if total.before == 0:
                return total.delta > 0
            return 100 * total.delta / total.before > self.limit
        return total.delta > self.limit


def parse_budget(text: str) -> Budget:
    match = _BUDGET.match(text)
    hint = "e.g. --fail-on params:+5% --fail-on macs:+1G --fail-on memory:+256MiB"
    if not match or match["metric"] not in BUDGET_METRICS:
        raise UsageError(f"cannot read the budget {text!r}: METRIC:+AMOUNT or METRIC:+PERCENT%, METRIC one of "
                         + ", ".join(BUDGET_METRICS), Location("--fail-on"), hint=hint)
    metric, amount = match["metric"], match["amount"].strip()
    if match["percent"]:
        try:
            return Budget(text, metric, float(amount), True)
        except ValueError:
            raise UsageError(f"cannot read the percentage in {text!r}", Location("--fail-on"), hint=hint) from None
    if metric in ("memory", "inference"):  # sizes as every option reads them (units.parse_size)
        return Budget(text, metric, parse_size(amount, f"--fail-on {metric}", where="--fail-on"), False)
    value = parse_count(amount)
    if value is None:
        raise UsageError(f"cannot read {amount!r} in {text!r} as a count (K, M, G)", Location("--fail-on"), hint=hint)
    return Budget(text, metric, value, False)


def over_budget(comparison: Comparison, budgets: list[Budget]) -> list[tuple[Budget, Total]]:
    return [(b, comparison.total(b.metric)) for b in budgets if b.exceeded(comparison.total(b.metric))]
