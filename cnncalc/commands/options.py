"""The options the commands share, defined once with one meaning and one default.

The choices are read from the tables that define them (the conventions registry, memory.DTYPE_BYTES,
memory.OPTIMIZER_SLOTS, memory.MODELS/DEVICES/AMP_DTYPES/MODES, cpu.CHOICES): a dtype or optimizer
added there is an option value here. Commands import these; cnncalc/cli.py imports the commands.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from cnncalc import counting, cpu, memory
from cnncalc.conventions import CONVENTIONS
from cnncalc.cuda.gpus import GPUS


def choices(name: str, values, doc: str = "") -> type[Enum]:
    """A str Enum of `values` (typer turns it into a choice); '-' becomes '_' in member names."""
    made = Enum(name, [(str(v).replace("-", "_"), str(v)) for v in values], type=str, module=__name__)
    made.__doc__ = doc or f"The values of {name}."
    return made


Format = choices("Format", ("table", "json", "csv", "markdown"))
ConventionName = choices("ConventionName", CONVENTIONS, "The shape conventions of cnncalc/conventions.py.")
Dtype = choices("Dtype", memory.DTYPE_BYTES, "memory.DTYPE_BYTES")
Optimizer = choices("Optimizer", memory.OPTIMIZER_SLOTS, "memory.OPTIMIZER_SLOTS")
MemoryModel = choices("MemoryModel", memory.MODELS)
Device = choices("Device", memory.DEVICES)
Amp = choices("Amp", memory.AMP_DTYPES)
Mode = choices("Mode", memory.MODES, "The memory a budget limits: one training step, or inference.")
CountPreset = choices("CountPreset", counting.PRESETS, "The counting presets of cnncalc/counting.py (docs/counting.md).")
CpuName = choices("CpuName", ("auto", *cpu.CHOICES), "`auto` and the instruction sets of cnncalc/cpu.py's CHOICES.")

#: the defaults, one each for every command
DEFAULT_FORMAT = Format("table")
DEFAULT_DTYPE = Dtype("float32")
DEFAULT_OPTIMIZER = Optimizer(memory.DEFAULT_OPTIMIZER)
DEFAULT_DEVICE = Device("cpu")
DEFAULT_MODE = Mode("train")
DEFAULT_CPU = CpuName("auto")
DEFAULT_COUNT = CountPreset(counting.DEFAULT)


def value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


# ---------------------------------------------------------------------------------------------
# the source: a SPEC file, - or --pattern (every command that reads a network)

SpecArg = Annotated[
    Optional[str],
    typer.Argument(help="A YAML spec file, or - for standard input (or give --pattern).", metavar="[SPEC]"),
]
PatternOpt = Annotated[
    Optional[str],
    typer.Option("--pattern", "-p", help='A network on one line, e.g. "INPUT -> [CONV3-32 -> RELU]*N -> FC-10".'),
]
InputOpt = Annotated[
    Optional[str],
    typer.Option("--input", "-i", help="The input size, e.g. 32x32x3: a pattern's, or instead of a spec's `input:`."),
]
DefineOpt = Annotated[
    Optional[list[str]],
    typer.Option("--define", "-D", help="Bind a pattern variable or switch: -D N=2, -D POOL=0 (sweep: -D N=0..3). "
                 "A name the pattern does not have is a usage error (exit 2), whatever its case.",
                 metavar="NAME=VALUE"),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Default settings for a pattern word: --set 'CONV(f=32)' --set 'FC(10)'.",
                 metavar="WORD(ARGS)"),
]

# ---------------------------------------------------------------------------------------------
# shapes, counts and memory

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
ConventionOpt = Annotated[
    Optional[ConventionName],
    typer.Option(
        "--convention",
        "-c",
        help="Shape rules: strict (cs231n: sizes must work out), or a framework's: "
        + ", ".join(name for name in CONVENTIONS if name != "strict")
        + " ('same' vocabulary, where the odd padding pixel goes, floor/ceil pooling). "
        "Default: the spec's `convention:`, else strict.",
    ),
]
BatchOpt = Annotated[int, typer.Option("--batch", "-b", min=1, max=10**9, help="Batch size.")]
DtypeOpt = Annotated[Dtype, typer.Option("--dtype", help="Element type of activations and parameters.")]
OptimizerOpt = Annotated[
    Optimizer,
    typer.Option("--optimizer", help="Optimizer whose state training memory holds (default: momentum, the SGD "
                 "with momentum of the cs231n notes)."),
]
CountBiasOpt = Annotated[bool, typer.Option("--count-bias", help="Add one addition per biased output to MACs.")]
CountOpt = Annotated[
    CountPreset,
    typer.Option("--count", help="Count MACs and FLOPs as this tool does (docs/counting.md); default torchvision: "
                 "conv + fc multiply-accumulates, bias excluded, FLOPs = 2 x MACs."),
]
MemoryModelOpt = Annotated[
    Optional[MemoryModel],
    typer.Option("--memory-model", help="textbook (cs231n/Geron) or pytorch (per tensor, by liveness); "
                 "default: follows the convention."),
]
DeviceOpt = Annotated[Device, typer.Option("--device", help="cuda follows CUDA's rules and adds a labelled estimate "
                                            "of GPU-only overheads (pytorch memory model).")]
AmpOpt = Annotated[
    Optional[Amp],
    typer.Option("--amp", help="Mixed precision: activations in this dtype, fp32 weights and optimizer state "
                 "(pytorch memory model)."),
]
CpuOpt = Annotated[
    CpuName,
    typer.Option("--cpu", help="The CPU whose kernels' scratch the pytorch memory model includes: its instruction "
                 "set as oneDNN names it (auto: this machine)."),
]
ThreadsOpt = Annotated[
    Optional[int],
    typer.Option("--threads", min=1, max=1024, help="PyTorch's CPU threads for the pytorch memory model "
                 "(default: this machine's cores, or OMP_NUM_THREADS)."),
]
GpuOpt = Annotated[
    Optional[str],
    typer.Option("--gpu", metavar="NAME", help="A GPU by name (" + ", ".join(GPUS) + "): its cuBLAS workspace and "
                 "CUDA context estimate; implies --device cuda (fit: its memory is the budget unless --memory is "
                 "given)."),
]
ModeOpt = Annotated[
    Mode,
    typer.Option("--mode", help="The memory a budget limits: train (one training step, the default) or infer."),
]
MaxMemoryOpt = Annotated[
    Optional[str],
    typer.Option("--max-memory", metavar="SIZE", help="Memory budget for --mode, e.g. 8GiB, 512MB or 24G "
                 "(a size needs a unit)."),
]
MaxParamsOpt = Annotated[
    Optional[str], typer.Option("--max-params", metavar="COUNT", help="Parameter budget, e.g. 25M or 1.5k.")
]
