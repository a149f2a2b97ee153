"""The books of the liveness simulation (cnncalc/liveness.py): the running total of live bytes, the
highest point it reached and when, and the tracer that receives every tensor (the CUDA allocator's
replay, cnncalc/cuda/step.py); and the records of what a simulation found (per layer, and the whole)."""

from __future__ import annotations

from collections.abc import Hashable

from cnncalc.records import dataclass

TYPE_CHECKING = False  # typing's own flag, without importing typing (~5 ms of a start-up): see docs/architecture.md
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # Tracer is a Protocol to a type checker, a plain base class at run time


@dataclass(frozen=True, slots=True)
class Peak:
    """The most bytes alive at once, and when: phase ("forward", "backward", "optimizer step") and layer."""

    bytes: int
    phase: str
    layer: str


@dataclass(frozen=True, slots=True)
class LayerMemory:
    name: str
    #: the new storage this layer's output needs (0 when it aliases its input)
    output_bytes: int
    #: bytes autograd keeps for backward that this layer adds: storages it is the first to save, plus
    #: its own extras (indices, masks, statistics). The column sums to the network's saved bytes.
    saved_bytes: int
    #: gradient buffers its backward allocates: input gradients that are not views, parameter gradients
    gradient_bytes: int
    #: the bytes alive at the run's peak, each storage once, counted at the layer that allocated it: its
    #: output, saved extras, gradients (the input's row holds the caller's batch, the last layer's also the
    #: loss gradient, a layer whose backward sums gradients where branches meet those sums). With the
    #: resident bytes and the transient scratch at that moment the column sums to the peak.
    held_at_peak_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Simulation:
    saved_bytes: int
    peak: Peak
    layers: tuple[LayerMemory, ...]
    #: the largest transient kernel scratch of any single op
    scratch_bytes: int
    #: the transient scratch (or optimizer temporaries) counted in the peak at its moment
    peak_transient: int = 0
    #: every observed step in order: (phase, layer, live bytes, transient scratch on top)
    timeline: tuple[tuple[str, str, int, int], ...] = ()


class Tracer(Protocol):
    """Receives the simulation's tensors one by one, in order (cnncalc/cuda/step.py turns them into
    the caching allocator's events). `op` is called while a layer's forward or backward runs, with
    the layer's index and its transient kernel scratch."""

    def alloc(self, key: Hashable, size: int) -> None: ...

    def free(self, key: Hashable) -> None: ...

    def op(self, phase: str, index: int, transient: int) -> None: ...


_serial = iter(range(1 << 62))


class _Grad:
    """One gradient tensor's storage; `refs` counts the autograd buffers and callers holding it.
    (A plain class: mutable books, made a few times per layer, whose record `__init__` with a factory
    would be compiled at the first call of every run.)"""

    __slots__ = ("size", "refs", "key", "owner")

    def __init__(self, size: int, refs: int = 0, owner: int = -1):
        self.size = size
        self.refs = refs
        self.key = ("grad", next(_serial))
        #: the layer whose backward allocated it
        self.owner = owner


class _Ledger:
    """Running total of live bytes and the highest point it reached. Each allocation and release names
    the layer it belongs to (-1: the resident base), so the bytes alive at the peak can be split by layer
    afterwards by replaying the log up to the peak (one pass, however often the peak rises)."""

    def __init__(self, base: int, tracer: Tracer | None = None):
        self.live = base
        #: the peak's bytes, phase and layer; `peak` makes the record when asked (in a training forward
        #: nearly every layer raises the peak: a record each was a tenth of the simulation)
        self._peak = (base, "start", "")
        self._peak_bytes = base
        self.tracer = tracer
        self.log: list[tuple[int, int]] = []
        self.peak_at = 0
        self.peak_transient = 0
        self.timeline: list[tuple[str, str, int, int]] = []

    @property
    def peak(self) -> Peak:
        return Peak(*self._peak)

    def alloc(self, size: int, owner: int = -1, key: Hashable = None) -> None:
        self.live += size
        self.log.append((owner, size))
        if self.tracer is not None and size:
            self.tracer.alloc(key, size)

    def free(self, size: int, owner: int = -1, key: Hashable = None) -> None:
        self.live -= size
        self.log.append((owner, -size))
        if self.tracer is not None and size:
            self.tracer.free(key)

    def observe(self, phase: str, layer: str, transient: int = 0, index: int | None = None) -> None:
        live = self.live
        self.timeline.append((phase, layer, live, transient))
        if live + transient > self._peak_bytes:
            self._peak_bytes = live + transient
            self._peak = (live + transient, phase, layer)
            self.peak_at = len(self.log)
            self.peak_transient = transient
        if self.tracer is not None and index is not None:
            self.tracer.op(phase, index, transient)

    def held_at_peak(self, layers: int) -> list[int]:
        held = [0] * layers
        for owner, size in self.log[:self.peak_at]:
            if owner >= 0:
                held[owner] += size
        return held


class _PeakLedger(_Ledger):
    """The books of a run whose peak alone is read (a report's inference): no log, no timeline."""

    def __init__(self, base: int, tracer: Tracer | None = None):
        super().__init__(base, tracer)
        self.log = self.timeline = None  # type: ignore[assignment]  (held_at_peak has nothing to replay)

    def alloc(self, size: int, owner: int = -1, key: Hashable = None) -> None:
        self.live += size
        if self.tracer is not None and size:
            self.tracer.alloc(key, size)

    def free(self, size: int, owner: int = -1, key: Hashable = None) -> None:
        self.live -= size
        if self.tracer is not None and size:
            self.tracer.free(key)

    def observe(self, phase: str, layer: str, transient: int = 0, index: int | None = None) -> None:
        live = self.live
        if live + transient > self._peak_bytes:
            self._peak_bytes = live + transient
            self._peak = (live + transient, phase, layer)
            self.peak_transient = transient
        if self.tracer is not None and index is not None:
            self.tracer.op(phase, index, transient)
