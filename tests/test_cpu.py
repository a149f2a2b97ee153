"""cnncalc/cpu.py: which CPU the pytorch memory model describes, read from this machine or given."""

from __future__ import annotations

import json

import pytest

from cnncalc import cpu
from cnncalc.cpu import Cpu

AVX2_FLAGS = frozenset("fpu sse4_1 sse4_2 avx avx2 fma f16c bmi2".split())
AVX512_FLAGS = AVX2_FLAGS | {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}
SAPPHIRE_RAPIDS = AVX512_FLAGS | {"avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"}


@pytest.mark.parametrize(("flags", "isa"), [
    (AVX2_FLAGS, "avx2"),
    (AVX512_FLAGS, "avx512_core"),
    (AVX512_FLAGS | {"avx512_vnni"}, "avx512_core_vnni"),
    (SAPPHIRE_RAPIDS, "avx512_core_amx"),
    (frozenset({"sse4_1", "sse4_2"}), "sse41"),
    (frozenset({"avx", "avx2"}), "avx"),  # AVX2 without FMA is not oneDNN's avx2
    (frozenset(), "unknown"),
])
def test_the_instruction_set_is_the_best_one_the_flags_allow(flags, isa):
    assert cpu.detect_isa(flags, cap="all") == isa


@pytest.mark.parametrize(("cap", "isa"), [("AVX2", "avx2"), ("avx512_core", "avx512_core"), ("SSE41", "sse41"),
                                          ("ALL", "avx512_core_amx"), ("nonsense", "avx512_core_amx")])
def test_onednns_isa_cap_is_honoured(cap, isa):
    assert cpu.detect_isa(SAPPHIRE_RAPIDS, cap=cap) == isa


def test_the_cap_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert cpu.detect_isa(AVX512_FLAGS) == "avx2"
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setenv("DNNL_MAX_CPU_ISA", "AVX2")
    assert cpu.detect_isa(AVX512_FLAGS) == "avx2"


def test_flags_are_read_from_cpuinfo_text():
    text = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 fma avx512f\n\nprocessor\t: 1\n"
    assert cpu.cpu_flags(text) == {"fpu", "avx2", "fma", "avx512f"}
    assert cpu.cpu_flags("processor: 0\n") == frozenset()


def test_threads_follow_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu.detect_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "100000")  # never more than the cores, as in PyTorch
    monkeypatch.delenv("OMP_NUM_THREADS")
    cores = cpu.detect_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "100000")
    assert cpu.detect_threads() == cores
    monkeypatch.setenv("OMP_NUM_THREADS", "garbage")
    assert cpu.detect_threads() >= 1


def test_hyperthreads_are_not_counted(tmp_path):
    """Two logical CPUs on one core count once, as PyTorch's default thread count does."""
    for number, (package, core) in enumerate([(0, 0), (0, 0), (0, 1), (1, 0)]):
        topology = tmp_path / f"cpu{number}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text(f"{package}\n")
        (topology / "core_id").write_text(f"{core}\n")
    assert cpu.physical_cores([0, 1, 2, 3], tmp_path) == 3
    assert cpu.physical_cores([0, 1], tmp_path) == 1
    assert cpu.physical_cores([7], tmp_path) == 0


def test_given_values_override_the_machine():
    given = cpu.resolve("avx512_core", 8)
    assert (given.isa, given.threads, given.source, given.block) == ("avx512_core", 8, "given", 16)
    assert cpu.resolve("auto", "auto").source == "auto"


@pytest.mark.parametrize(("modelled", "exact", "block"), [
    (Cpu("avx2", 2), True, 8),
    (Cpu("avx2_vnni", 8), True, 8),
    (Cpu("avx2", 16), False, 8),
    (Cpu("avx512_core", 2), False, 16),
    (Cpu("avx512_core_amx", 4), False, 16),
    (Cpu("sse41", 2), False, 8),
    (Cpu("aarch64", 2), False, 8),
])
def test_what_is_measured_and_what_carries_the_bound(modelled, exact, block):
    assert modelled.exact is exact
    assert modelled.block == block
    assert (modelled.warning() is None) is exact
    if not exact:
        share = "25%" if modelled.modelled else "60%"
        assert f"{share} + 64 KiB per thread" in modelled.warning()


def test_the_bound_is_a_share_of_the_peak_and_room_per_thread():
    assert Cpu("avx512_core", 2).bound(1_000_000) == 250_000 + 2 * 65_536


def test_the_report_states_the_modelled_cpu(cli):
    result = cli("analyze", "specs/lenet5.yaml", "--memory-model", "pytorch", "--cpu", "avx512_core",
                 "--threads", "8", "-f", "json")
    assert result.exit_code == 0
    modelled = json.loads(result.stdout)["memory"]["cpu"]
    assert modelled == {"isa": "avx512_core", "threads": 8, "source": "given", "family": "avx512_core",
                        "measured": False}
    table = cli("analyze", "specs/lenet5.yaml", "--memory-model", "pytorch", "--threads", "4")
    assert "CPU kernels modelled" in table.stdout and "4 threads" in table.stdout


def test_an_unmeasured_cpu_gets_one_warning_line(cli):
    result = cli("analyze", "specs/lenet5.yaml", "--memory-model", "pytorch", "--cpu", "avx512_core")
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: CPU kernel memory")]
    assert len(warnings) == 1


def test_cpu_and_threads_change_the_transients_as_measured(cli):
    """The text CNN's weight-gradient reductions grow with threads; AVX-512's blocks double the copies."""
    def training(*options):
        result = cli("analyze", "specs/text_cnn.yaml", "--memory-model", "pytorch", "-b", "8", "-f", "json",
                     *options)
        return json.loads(result.stdout)["memory"]["training_bytes"]

    assert training("--cpu", "avx2", "--threads", "1") < training("--cpu", "avx2", "--threads", "2") \
        < training("--cpu", "avx2", "--threads", "8")
    assert training("--cpu", "avx512_core", "--threads", "2") > training("--cpu", "avx2", "--threads", "2")


def test_the_textbook_model_names_no_cpu(cli):
    result = cli("analyze", "specs/vgg16.yaml", "-f", "json")
    assert "cpu" not in json.loads(result.stdout)["memory"]


def test_the_machine_name_is_platforms():
    import platform

    from cnncalc.cpu import _machine

    assert _machine() == platform.machine()


def test_this_machines_flags_are_the_first_processors_of_the_whole_file():
    """cpu_flags() stops reading /proc/cpuinfo at the first `flags`: the flags of the whole text's first."""
    try:
        with open("/proc/cpuinfo", errors="replace") as handle:
            text = handle.read()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    assert cpu.cpu_flags() == cpu.cpu_flags(text)
