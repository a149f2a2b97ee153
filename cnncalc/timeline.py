"""Live memory over one training step (forward, backward, optimizer step), from the liveness simulation.

The simulation is the pytorch memory model's (cnncalc/liveness.py, set up as memory.pytorch sets it
up), whatever model the report's figures use: the textbook model has no notion of time. Each point
is one observed step: the bytes alive then (parameters, buffers and optimizer state included) and the
transient kernel scratch or optimizer temporaries on top.
"""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc import liveness, memory
from cnncalc.analysis import Analysis
from cnncalc.cpu import host as host_cpu
from cnncalc.layers.base import MemoryContext
from cnncalc.report import Options


@dataclass(frozen=True, slots=True)
class Point:
    phase: str
    layer: str
    live: int
    transient: int

    @property
    def total(self) -> int:
        return self.live + self.transient


@dataclass(frozen=True, slots=True)
class Timeline:
    points: tuple[Point, ...]
    #: parameters, buffers and optimizer state: alive throughout
    resident: int
    #: index of the highest point (the first, when several are as high)
    peak: int

    def to_dict(self) -> dict:
        return {
            "resident_bytes": self.resident,
            "peak": self.peak,
            "points": [[p.phase, p.layer, p.live, p.transient] for p in self.points],
        }


def training_step(analysis: Analysis, options: Options) -> Timeline:
    precision = memory.Precision.of(options.dtype, options.amp)
    pb = precision.param_bytes
    cpu = options.cpu if options.cpu is not None else host_cpu()
    ctx = MemoryContext(options.batch, precision.act_bytes, pb, True, options.device, options.amp is not None, cpu)
    rules = liveness.rules(analysis, ctx)
    tensors = tuple(n for rule in rules for n in rule.param_tensors)
    resident = sum(tensors) * pb + sum(rule.buffer_bytes for rule in rules) + memory.optimizer_state_bytes(
        options.optimizer, tensors, pb)
    temporaries = memory.step_temporaries(options.optimizer, tensors, pb, options.device)
    simulation = liveness.training(analysis, ctx, resident, pb, temporaries, rules)
    points = tuple(Point(*step) for step in simulation.timeline)
    peak = max(range(len(points)), key=lambda i: (points[i].total, -i), default=0)
    return Timeline(points, resident, peak)
