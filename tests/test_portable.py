"""TIKKUN_PORTABLE=1 turns every processor-specific path off, and the results keep every bit."""

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

_CHILD = """
import json, sys
import numpy as np
from numba import njit

import tikkun
from tikkun.engine import year_kernel as yk
from tikkun.native import PORTABLE, gather
from tikkun.native.prefetch import prefetch
from tikkun.rules import network
from tikkun.scenario import load_scenario

sc = load_scenario(preset="quick", years=120, overrides={{
    "souls.count": 9000, "light.alpha": 0.2, "run.stop_at_end": False, "generations.torah_from": 20,
    "generations.messiah_from": 40}}, events=[{{"kind": "set", "year": 30, "key": "impurity.rate", "value": 0.5}}])
r = tikkun.run(sc)
arrays = {{"metric_" + k: v for k, v in r.metrics.items()}}
arrays.update({{"state_" + k: v for k, v in r.simulation.state.arrays().items()}})
np.savez({out!r}, **arrays)


@njit
def ask(a):
    prefetch(a, 3)


ask(np.zeros(8))
print(json.dumps({{
    "portable": PORTABLE, "hardware": gather.HARDWARE, "available": gather.AVAILABLE, "avx512": gather.AVX512,
    "light_by_eight": yk.LIGHT_BY_EIGHT, "sums_of_open_souls": yk.SUMS_OF_OPEN_SOULS,
    "avx512_bw": gather.AVX512_BW, "gathered_sums": gather.GATHERED_SUMS, "sums_by_eight": yk.SUMS_BY_EIGHT,
    "gathered_row": network._row_of_eight is gather.edge_sum8,
    "prefetch_emitted": "llvm.prefetch" in ask.inspect_llvm(ask.signatures[0]),
}}))
"""


def _run(tmp_path, portable: str, **env_more):
    out = tmp_path / f"run_{portable}_{len(env_more)}.npz"
    script = _CHILD.format(out=str(out))
    env = dict(os.environ, TIKKUN_PORTABLE=portable, **env_more)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    with np.load(out) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(r.stdout.strip().splitlines()[-1]), arrays


@pytest.fixture(scope="module")
def portable_run(tmp_path_factory):
    """The run with every processor-specific path off: the reference both tests compare with."""
    return _run(tmp_path_factory.mktemp("portable"), "1")


def test_the_portable_switch_turns_every_native_path_off_and_keeps_every_bit(tmp_path, portable_run):
    """The same run (network of degree 8 with rewiring, shocks, the Messiah era, years where
    most souls are complete and the souls' sums may skip their sparks) with the switch off and
    on: in the portable process every processor-specific flag is off and no prefetch is
    emitted; the metrics and the final state are the same bit for bit."""
    native_flags, native = _run(tmp_path, "0")
    portable_flags, portable = portable_run
    assert native_flags["portable"] is False and native_flags["prefetch_emitted"] is True
    assert native_flags["light_by_eight"] == native_flags["hardware"]
    assert native_flags["sums_of_open_souls"] == native_flags["avx512"]
    assert native_flags["sums_by_eight"] == (native_flags["avx512_bw"] or native_flags["gathered_sums"])
    assert native_flags["gathered_row"] == native_flags["available"]
    assert portable_flags == {"portable": True, "hardware": False, "available": False, "avx512": False,
                              "light_by_eight": False, "sums_of_open_souls": False, "avx512_bw": False,
                              "gathered_sums": False, "sums_by_eight": False, "gathered_row": False, "prefetch_emitted": False}
    # the run reaches the paths the switch turns off: shocks, rewiring, shepherds, and years
    # without shocks where 5 to 15 souls in 16 are complete (the souls' sums of open souls only)
    n = native["state_cleansing"].shape[0]
    complete = native["metric_complete"] / n
    calm = native["metric_shocks"] == 0
    assert ((complete >= 5 / 8) & (complete <= 15 / 16) & calm).sum() >= 10
    assert native["metric_shocks"].sum() > 0 and native["metric_rewired"].sum() > 0
    assert native["metric_shepherds"][-1] > 0
    assert native.keys() == portable.keys()
    for key in native:
        a, b = native[key], portable[key]
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), key


def _host_features_without_avx512():
    """This processor's features as LLVM names them, with every AVX-512 one (and what builds on
    it) turned off: ``NUMBA_CPU_FEATURES`` for code as for a processor with AVX2 and no AVX-512;
    None where this processor has no AVX2."""
    import llvmlite.binding as llvm

    try:
        host = llvm.get_host_cpu_features()
    except RuntimeError:
        return None
    if not host.get("avx2", False):
        return None
    off = ("avx512", "avx10", "evex512", "amx")
    return ",".join(("+" if on and not name.startswith(off) else "-") + name for name, on in sorted(host.items()))


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64") or _host_features_without_avx512() is None,
                    reason="builds for an x86 processor with AVX2")
def test_a_processor_without_avx512_takes_its_own_paths_and_keeps_every_bit(tmp_path, portable_run):
    """Compiled as for a processor with AVX2 and no AVX-512 (AMD's Zen 1 to 3, Intel's client
    cores), the kernels take the sparks' light by eight, the prefetch, and the souls' sums eight
    at a time by gathers (unless a mitigation slows them: then one soul at a time): the metrics
    and the final state are the portable paths' bit for bit
    (and so the native paths', by the test above). Only an x86 processor with AVX2 can run
    such a build, hence the skip elsewhere (CI's machines run it)."""
    flags, avx2 = _run(tmp_path, "0", NUMBA_CPU_FEATURES=_host_features_without_avx512())
    assert flags["hardware"] is True and flags["light_by_eight"] is True and flags["prefetch_emitted"] is True
    assert flags["avx512"] is False and flags["avx512_bw"] is False
    from tikkun.native.gather import _gather_mitigated

    assert flags["gathered_sums"] is (not _gather_mitigated()) and flags["sums_by_eight"] is flags["gathered_sums"]
    assert flags["sums_of_open_souls"] is False
    _, portable = portable_run
    assert avx2.keys() == portable.keys()
    for key in avx2:
        a, b = avx2[key], portable[key]
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), key


def test_the_gather_is_left_out_where_it_is_slower_than_loads(monkeypatch, tmp_path):
    """The network's row is gathered only where the gather is fast: not on AMD's Zen 1 to 4
    (measured slower on Zen 4, docs/performance.md), nor where Linux reports that a mitigation
    of Gather Data Sampling slows it; elsewhere, and where nothing is reported, it is used."""
    from tikkun.native import gather

    report = tmp_path / "gather_data_sampling"
    monkeypatch.setattr(gather, "_GATHER_DATA_SAMPLING", report)
    report.write_text("Not affected\n")
    for cpu, slowed in (("znver1", True), ("znver3", True), ("znver4", True), ("znver5", False),
                        ("sapphirerapids", False), ("skylake-avx512", False)):
        monkeypatch.setattr(gather._llvm, "get_host_cpu_name", lambda cpu=cpu: cpu)
        assert gather._gather_slowed() is slowed, cpu
    report.write_text("Mitigation: Microcode\n")
    assert gather._gather_slowed() is True
    report.unlink()
    assert gather._gather_slowed() is False
