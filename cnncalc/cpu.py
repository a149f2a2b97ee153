"""The CPU whose kernels the `pytorch` memory model's scratch rules describe.

PyTorch's CPU convolutions run in oneDNN, whose blocked layouts and scratchpads depend on the
instruction set it dispatches to (channel blocks of 8 floats on AVX2, 16 on AVX-512) and on the
number of threads that share the work (each thread may hold partial sums). So the transients are
a function of the machine, which cnncalc names instead of assuming: `auto` reads this machine the
way PyTorch would see it, and `--cpu`/`--threads` model another one.

Read without importing torch or numpy (analyze and lint stay light): the CPU flags of
/proc/cpuinfo, oneDNN's own ISA cap (ONEDNN_MAX_CPU_ISA), the cores this process may use and
PyTorch's thread variables (OMP_NUM_THREADS).
"""

from __future__ import annotations

import os
from cnncalc.records import dataclass
from functools import cache

#: oneDNN's names of the x86 instruction sets, from the weakest (cpu_isa_traits.hpp); the
#: AVX-512 and AMX extensions compute float32 convolutions with avx512_core's 16-float blocks
ISAS = ("sse41", "avx", "avx2", "avx2_vnni", "avx2_vnni_2", "avx512_core", "avx512_core_vnni",
        "avx512_core_bf16", "avx512_core_fp16", "avx512_core_amx", "avx512_core_amx_fp16")
#: the instruction sets whose float32 kernels the scratch rules were measured on, by the family
#: of kernels that runs (AVX2-VNNI adds int8 instructions only: float32 runs the AVX2 kernels)
FAMILIES = {"avx2": "avx2", "avx2_vnni": "avx2", "avx2_vnni_2": "avx2",
            "avx512_core": "avx512_core", "avx512_core_vnni": "avx512_core", "avx512_core_bf16": "avx512_core",
            "avx512_core_fp16": "avx512_core", "avx512_core_amx": "avx512_core",
            "avx512_core_amx_fp16": "avx512_core"}
#: floats per channel block of each family's blocked layouts (nChw8c / nChw16c)
BLOCKS = {"avx2": 8, "avx512_core": 16}
#: channels per block by instruction set: BLOCKS of its family; AVX2's (8) for one without rules
BLOCK_OF_ISA = {isa: BLOCKS[family] for isa, family in FAMILIES.items()}
#: families whose rules are checked against allocation traces on a host of that kind; the others
#: are derived from oneDNN's layouts and carry the documented bound (docs/memory.md)
MEASURED = frozenset({"avx2"})
#: the flags each ISA needs, as Linux names them in /proc/cpuinfo (oneDNN's cpu_isa_traits)
_REQUIRES = {
    "sse41": {"sse4_1"},
    "avx": {"avx"},
    "avx2": {"avx2", "fma"},
    "avx2_vnni": {"avx2", "fma", "avx_vnni"},
    "avx512_core": {"avx512f", "avx512bw", "avx512vl", "avx512dq"},
    "avx512_core_vnni": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"},
    "avx512_core_bf16": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"},
    "avx512_core_amx": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16",
                        "amx_tile", "amx_int8", "amx_bf16"},
}
#: how far the peaks of a CPU whose kernels were not measured may lie from the model: a share
#: of the peak plus a few scratchpads per thread (docs/memory.md, "Which CPU")
BOUND_SHARE = 0.25
#: an instruction set without rules of its own runs other kernels (SSE4.1's take a gemm path)
UNMODELLED_SHARE = 0.60
BOUND_PER_THREAD = 64 * 1024
#: the thread counts the rules were measured at; others follow the same rules unchecked
MEASURED_THREADS = (1, 2, 4, 8)
#: what `--cpu` accepts besides `auto`
CHOICES = ("avx2", "avx512_core")
MAX_THREADS = 1024


@dataclass(frozen=True, slots=True)
class Cpu:
    """One machine as oneDNN sees it: `isa` its instruction set, `threads` PyTorch's intra-op threads."""

    isa: str = "avx2"
    threads: int = 2
    #: where the values came from: "this machine" (auto) or "given"
    source: str = "given"

    @property
    def family(self) -> str | None:
        """The kernel family whose rules apply, None where cnncalc has none (another ISA or architecture)."""
        return FAMILIES.get(self.isa)

    @property
    def modelled(self) -> bool:
        return self.family is not None

    @property
    def measured(self) -> bool:
        return self.family in MEASURED

    @property
    def block(self) -> int:
        """Channels per oneDNN block; an unmodelled ISA is given the AVX2 rules under the bound."""
        return BLOCK_OF_ISA.get(self.isa, 8)

    @property
    def exact(self) -> bool:
        """Whether the rules were measured for this instruction set and thread count."""
        return self.measured and self.threads in MEASURED_THREADS

    @property
    def bound_share(self) -> float:
        return BOUND_SHARE if self.modelled else UNMODELLED_SHARE

    def bound(self, peak: int) -> int:
        """The documented distance between the model and a real `peak` where not `exact`."""
        return int(self.bound_share * peak) + BOUND_PER_THREAD * self.threads

    def warning(self) -> str | None:
        """One line for users whose CPU the rules were not measured on; None where they were."""
        if self.exact:
            return None
        if not self.modelled:
            what = f"{self.isa} is not modelled: the AVX2 rules are used"
        elif not self.measured:
            what = f"{self.isa}'s kernels are modelled from oneDNN's layouts but not yet measured"
        else:
            what = f"{self.threads} threads were not measured (1, 2, 4 and 8 were)"
        return (f"CPU kernel memory: {what}; peaks may differ by up to {self.bound_share:.0%} + "
                f"{BOUND_PER_THREAD // 1024} KiB per thread (docs/memory.md, 'Which CPU')")

    def describe(self) -> str:
        where = "this machine" if self.source == "auto" else "as given"
        status = "" if self.exact else " (not measured: see the bound)"
        return f"{self.isa}, {self.threads} thread{'s' if self.threads != 1 else ''} ({where}){status}"

    def to_dict(self) -> dict:
        return {"isa": self.isa, "threads": self.threads, "source": self.source, "family": self.family,
                "measured": self.exact}


def resolve(isa: str | None = "auto", threads: int | str | None = "auto") -> Cpu:
    """The CPU to model: each of `isa` and `threads` given, or read from this machine (`auto`/None)."""
    auto_isa = isa in (None, "auto")
    auto_threads = threads in (None, "auto")
    chosen_isa = detect_isa() if auto_isa else str(isa)
    chosen_threads = detect_threads() if auto_threads else int(threads)
    source = "auto" if auto_isa and auto_threads else "given"
    return Cpu(chosen_isa, max(1, min(chosen_threads, MAX_THREADS)), source)


def _machine() -> str:
    """platform.machine() (the kernel's machine name), without importing platform (~7 ms) where os has uname."""
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform

    return platform.machine()


def detect_isa(flags: frozenset[str] | None = None, cap: str | None = None) -> str:
    """The best ISA oneDNN would dispatch to here, capped by ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA)."""
    if flags is None:
        machine = _machine().lower()
        if machine not in ("x86_64", "amd64", "i686", "x86"):
            return machine or "unknown"
        flags = cpu_flags()
    best = "unknown"
    for name in ISAS:
        if _REQUIRES.get(name, {"-"}) <= flags:
            best = name
    if cap is None:
        cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return _capped(best, cap)


def _capped(best: str, cap: str | None) -> str:
    if not cap or best not in ISAS:
        return best
    cap = cap.strip().lower()
    if cap == "all" or cap not in ISAS:
        return best
    return ISAS[min(ISAS.index(best), ISAS.index(cap))]


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The `flags` of the first processor in /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", errors="replace") as handle:
                # read up to the first `flags`: the kernel writes the file as it is read, every core's
                # block (and its clock) in turn, which was most of a report's look at the machine
                for line in handle:
                    key, _, value = line.partition(":")
                    if key.strip() == "flags":
                        return frozenset(value.split())
        except OSError:
            pass
        return frozenset()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def detect_threads() -> int:
    """PyTorch's default intra-op threads: the physical cores this process may run on (PyTorch
    does not count hyper-threads), or fewer where OMP_NUM_THREADS asks for fewer (it never
    starts more threads than cores from the environment)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
        cores = physical_cores(allowed) or len(allowed) or 1
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    given = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if given.isdigit() and int(given) > 0:
        return min(int(given), cores)
    return cores


def physical_cores(cpus: list[int], root: str | os.PathLike = "/sys/devices/system/cpu") -> int:
    """Distinct (package, core) pairs among `cpus`; 0 where the topology cannot be read. (Read with
    os.path, not pathlib: pathlib's import is ~6 ms of a start-up where nothing else needs it.)"""
    cores = set()
    for cpu in cpus:
        topology = os.path.join(root, f"cpu{cpu}", "topology")
        try:
            package = _read(os.path.join(topology, "physical_package_id"))
            core = _read(os.path.join(topology, "core_id"))
        except OSError:
            return 0
        cores.add((package, core))
    return len(cores)


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read().strip()


@cache
def host() -> Cpu:
    """This machine, read once per process."""
    return resolve()
