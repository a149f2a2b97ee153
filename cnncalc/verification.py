"""Predicted numbers against executed ones: the result of `cnncalc verify`, and its JSON form.

Per layer: output shape, parameters (sizes of the weight arrays), non-trainable buffers and MACs
(counted from the matrix products' dimensions) must be equal. For memory, the textbook inference
estimate (parameters + the largest layer's inputs and output) is compared with the measured peak
of live arrays, the difference broken into lines the textbook model leaves out: the im2col and
padding workspace of the layer at the peak, activations held there for later layers (residual
shortcuts), and that layer's own inputs and output against the textbook's largest. The measured
peak (of numpy's array buffers, counted as numpy allocates them: cnncalc/array_memory.py) must match
the sum within TOLERANCE_FRACTION of it plus TOLERANCE_BYTES (numpy's 0-d arrays for Python scalars,
and under the tracemalloc fallback small Python objects and ufunc buffers, which no array-level
model predicts).
"""

from __future__ import annotations

from cnncalc.records import dataclass

from cnncalc.executor import Execution, Plan
from cnncalc.forward import DTYPE_NAME
from cnncalc.report import Report

TOLERANCE_FRACTION = 0.01
TOLERANCE_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class LayerCheck:
    name: str
    type: str
    predicted_shape: tuple[int, ...]
    #: None when the layer did not run (an earlier layer's output shape was wrong).
    executed_shape: tuple[int, ...] | None
    predicted_params: int
    executed_params: int | None
    predicted_buffers: int
    executed_buffers: int | None
    #: MACs for the whole batch.
    predicted_macs: int
    executed_macs: int | None
    predicted_workspace_bytes: int
    measured_workspace_bytes: int | None
    seconds: float | None

    @property
    def ran(self) -> bool:
        return self.executed_shape is not None

    @property
    def problems(self) -> tuple[str, ...]:
        if not self.ran:
            return ("not run",)
        found = []
        if self.executed_shape != self.predicted_shape:
            found.append("shape")
        if self.executed_params != self.predicted_params:
            found.append("params")
        if self.executed_buffers != self.predicted_buffers:
            found.append("non-trainable")
        if self.executed_macs != self.predicted_macs:
            found.append("MACs")
        return tuple(found)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class MemoryCheck:
    #: the report's inference memory: parameters + buffers + the largest layer's inputs and output.
    textbook_bytes: int
    #: the textbook's largest layer inputs + output (its `peak_layer_bytes`).
    textbook_layer_bytes: int
    predicted_weights_bytes: int
    measured_weights_bytes: int
    #: the layer at which the run is expected to hold the most.
    peak_layer: str
    layer_io_bytes: int
    held_bytes: int
    workspace_bytes: int
    measured_workspace_bytes: int
    measured_peak_bytes: int
    #: how the peak was measured: "numpy allocator" (array buffers as numpy allocates them) or
    #: "tracemalloc" (where numpy's allocator cannot be replaced; Python objects are then counted too)
    measured_by: str = "numpy allocator"

    @property
    def expected_peak_bytes(self) -> int:
        return self.predicted_weights_bytes + self.layer_io_bytes + self.held_bytes + self.workspace_bytes

    @property
    def difference_bytes(self) -> int:
        return self.measured_peak_bytes - self.expected_peak_bytes

    @property
    def tolerance_bytes(self) -> int:
        return int(self.expected_peak_bytes * TOLERANCE_FRACTION) + TOLERANCE_BYTES

    @property
    def weights_ok(self) -> bool:
        return self.measured_weights_bytes == self.predicted_weights_bytes

    @property
    def ok(self) -> bool:
        return self.weights_ok and abs(self.difference_bytes) <= self.tolerance_bytes


@dataclass(frozen=True, slots=True)
class Verification:
    name: str
    path: str
    convention: str
    batch: int
    seed: int
    layers: tuple[LayerCheck, ...]
    #: None when the run stopped early (the peak of a partial run proves nothing).
    memory: MemoryCheck | None
    seconds: float

    @property
    def ok(self) -> bool:
        return all(layer.ok for layer in self.layers) and self.memory is not None and self.memory.ok

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "convention": self.convention,
            "batch": self.batch,
            "seed": self.seed,
            "dtype": DTYPE_NAME,
            "ok": self.ok,
            "seconds": round(self.seconds, 6),
            "layers": [_layer_dict(layer) for layer in self.layers],
            "memory": None if self.memory is None else _memory_dict(self.memory),
        }


def _pair(predicted, executed) -> dict:
    return {"predicted": predicted, "executed": executed}


def _layer_dict(layer: LayerCheck) -> dict:
    return {
        "name": layer.name,
        "type": layer.type,
        "ok": layer.ok,
        "problems": list(layer.problems),
        "output_shape": _pair(list(layer.predicted_shape),
                              None if layer.executed_shape is None else list(layer.executed_shape)),
        "params": _pair(layer.predicted_params, layer.executed_params),
        "non_trainable": _pair(layer.predicted_buffers, layer.executed_buffers),
        "macs": _pair(layer.predicted_macs, layer.executed_macs),
        "workspace_bytes": {"predicted": layer.predicted_workspace_bytes,
                            "measured": layer.measured_workspace_bytes},
        "seconds": None if layer.seconds is None else round(layer.seconds, 6),
    }


def _memory_dict(memory: MemoryCheck) -> dict:
    return {
        "model": "textbook",
        "textbook_inference_bytes": memory.textbook_bytes,
        "textbook_largest_layer_bytes": memory.textbook_layer_bytes,
        "weights_bytes": {"predicted": memory.predicted_weights_bytes, "measured": memory.measured_weights_bytes},
        "peak_layer": memory.peak_layer,
        "layer_io_bytes": memory.layer_io_bytes,
        "held_bytes": memory.held_bytes,
        "workspace_bytes": {"predicted": memory.workspace_bytes, "measured": memory.measured_workspace_bytes},
        "expected_peak_bytes": memory.expected_peak_bytes,
        "measured_peak_bytes": memory.measured_peak_bytes,
        "measured_by": memory.measured_by,
        "difference_bytes": memory.difference_bytes,
        "tolerance_bytes": memory.tolerance_bytes,
        "ok": memory.ok,
    }


def _layer_checks(report: Report, plan: Plan, execution: Execution) -> tuple[LayerCheck, ...]:
    batch = plan.batch
    runs = execution.layers  # the plan's first layers, in its order (fewer when the run stopped early)
    ran = len(runs)
    checks = []
    for i, step in enumerate(plan.steps):
        inference, run = step.inference, runs[i] if i < ran else None
        checks.append(LayerCheck(
            name=step.node.name,
            type=step.node.type,
            predicted_shape=inference.output.dims,
            executed_shape=None if run is None else run.output_shape,
            predicted_params=inference.params,
            executed_params=None if run is None else run.param_elements,
            predicted_buffers=inference.buffers,
            executed_buffers=None if run is None else run.buffer_elements,
            predicted_macs=inference.macs * batch,
            executed_macs=None if run is None else run.macs,
            predicted_workspace_bytes=step.workspace_bytes,
            measured_workspace_bytes=None if run is None else run.workspace_bytes,
            seconds=None if run is None else run.seconds,
        ))
    return tuple(checks)


def _memory_check(report: Report, plan: Plan, execution: Execution) -> MemoryCheck | None:
    peak = plan.peak_step
    if not execution.complete or peak is None:
        return None
    measured_ws = execution.layers[next(i for i, step in enumerate(plan.steps) if step is peak)].workspace_bytes
    return MemoryCheck(
        textbook_bytes=report.memory.inference_bytes,
        textbook_layer_bytes=report.memory.peak_layer_bytes,
        predicted_weights_bytes=plan.weights_bytes,
        measured_weights_bytes=sum(run.weights_bytes for run in execution.layers),
        peak_layer=peak.node.name,
        layer_io_bytes=peak.io_bytes,
        held_bytes=peak.held_bytes,
        workspace_bytes=peak.workspace_bytes,
        measured_workspace_bytes=measured_ws,
        measured_peak_bytes=execution.peak_bytes,
        measured_by=execution.measured_by,
    )


def compare(report: Report, plan: Plan, execution: Execution, seconds: float) -> Verification:
    if report.options.dtype != DTYPE_NAME or report.options.batch != plan.batch:
        raise ValueError(f"verify compares a {DTYPE_NAME} report at the plan's batch size")
    return Verification(
        name=report.name,
        path=report.path,
        convention=report.convention,
        batch=plan.batch,
        seed=execution.seed,
        layers=_layer_checks(report, plan, execution),
        memory=_memory_check(report, plan, execution),
        seconds=seconds,
    )
