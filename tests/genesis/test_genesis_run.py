"""run_genesis, shatter_unity and the files: records, determinism, atomic outputs."""

import io
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tikkun import random as trandom
from tikkun.api import write_genesis_outputs
from tikkun.genesis import GenesisConfig, Stage, run_genesis, shatter_unity, spark_positions
from tikkun.report.genesis import VESSEL_CMAP, stage_title, vessel_figure, write_vessel_png
from tikkun.genesis.run import RECORD_COLUMNS, _stir_flows

sys.path.insert(0, str(Path(__file__).parent))
import naive_genesis as naive  # noqa: E402

SMALL = GenesisConfig(
    n=32, record_every=5,
    stages=[
        Stage(kind="separate"),
        Stage(kind="approach", duration=10.0),
        Stage(kind="stir", duration=12.0, light=0.3, stir_amplitude=1.0, stir_period=5.0),
        Stage(kind="fuse", duration=20.0, noise=0.1),
        Stage(kind="strike", duration=300.0, light=1.5),
        Stage(kind="maintain", duration=20.0, light=1.5),
        Stage(kind="withdraw", duration=50.0),
        Stage(kind="shatter"),
    ],
)


@pytest.fixture(scope="module")
def result():
    return run_genesis(SMALL, seed=11)


def test_records_shape_and_content(result):
    rec = result.records
    assert tuple(rec) == RECORD_COLUMNS
    m = len(rec["time"])
    assert all(len(v) == m for v in rec.values())
    assert np.all(np.diff(rec["time"]) >= 0)
    assert rec["time"][-1] == pytest.approx(sum(s.duration for s in SMALL.stages))
    kinds = [s.kind for s in SMALL.stages]
    seen = list(dict.fromkeys(rec["stage"].tolist()))
    assert seen == kinds
    # light column follows the script
    for s in SMALL.stages:
        assert np.all(rec["light"][rec["stage"] == s.kind] == s.light)
    # mass conserved through every stage (stirring included)
    np.testing.assert_allclose(rec["mass"], 0.0, atol=1e-13)
    # unity and mixing in [0, 1]-ish and consistent with the final field
    assert rec["unity"][-1] == pytest.approx(naive.unity(result.field), abs=1e-12)
    assert result.final_unity == pytest.approx(rec["unity"][-1])
    assert result.field.shape == (32, 32) and result.field.dtype == np.float64
    assert [k for k, _ in result.stage_fields] == kinds
    np.testing.assert_array_equal(result.stage_fields[-1][1], result.field)


def test_energy_never_rises_within_a_relaxing_stage(result):
    rec = result.records
    for kind in ("approach", "fuse", "strike", "maintain", "withdraw"):
        F = rec["free_energy"][rec["stage"] == kind]
        assert np.all(np.diff(F) <= 1e-10 * np.abs(F[:-1])), kind


def test_withdrawing_the_light_loses_the_unity(result):
    """After the strike unity is ~1; 'only when the Upper Light maintains it': withdrawn,
    it decays back towards separation."""
    rec = result.records
    u_strike = rec["unity"][rec["stage"] == "strike"][-1]
    u_maintain = rec["unity"][rec["stage"] == "maintain"][-1]
    u_withdraw = rec["unity"][rec["stage"] == "withdraw"][-1]
    assert u_strike > 0.98 and u_maintain > 0.98
    assert u_withdraw < u_maintain - 0.3


def test_pure_function_of_seed(result):
    again = run_genesis(SMALL, seed=11)
    for c in RECORD_COLUMNS:
        np.testing.assert_array_equal(again.records[c], result.records[c])
    np.testing.assert_array_equal(again.field, result.field)
    other = run_genesis(SMALL, seed=12)
    assert not np.array_equal(other.field, result.field)


def test_stir_phases_come_from_the_counter_rng():
    st = Stage(kind="stir", duration=12.0, light=0.2, stir_amplitude=1.5, stir_period=5.0)
    flows = _stir_flows(st, seed=5, stage_index=3)
    assert [f.axis for f, _ in flows] == [0, 1, 0]
    assert [length for _, length in flows] == pytest.approx([5.0, 5.0, 2.0])
    for j, (f, _) in enumerate(flows):
        u = trandom.uniform(5, j, 3, trandom.PURPOSE_GENESIS_STIR, 0)
        assert f.phase == pytest.approx(2 * np.pi * u) and f.amplitude == 1.5


def test_progress_is_called(result):
    calls = []
    run_genesis(GenesisConfig(n=16, stages=[Stage(kind="separate"), Stage(kind="approach", duration=5.0)]),
                seed=1, progress=lambda t, total, kind: calls.append((t, total, kind)))
    assert calls and calls[-1][0] == pytest.approx(5.0) and calls[-1][1] == 5.0


def test_default_script_small_grid():
    """The default script (separate, approach, strike, withdraw, shatter) on a small grid: the
    struck vessel reaches iota_eq(1.5) = 1, and the light's leaving breaks it (MODEL.md r2):
    the unity falls in the withdraw and the vessel's end is not one."""
    cfg = GenesisConfig(n=32)
    r = run_genesis(cfg, seed=0)
    stages = [k for k, _ in r.stage_fields]
    assert stages == ["separate", "approach", "strike", "withdraw", "shatter"]
    struck = dict(r.stage_fields)["strike"]
    assert 1.0 - np.mean(struck**2) > 0.999
    assert r.final_unity < 0.9
    assert list(dict.fromkeys(r.records["stage"].tolist())) == stages


# -- shatter ------------------------------------------------------------------------


def test_shatter_matches_naive():
    rng = np.random.default_rng(0)
    field = rng.uniform(-1.3, 1.3, (48, 48))  # |phi| > 1 somewhere: clipped to 0
    ent = np.arange(1000, 3000, 7, dtype=np.int64)
    got = shatter_unity(field, ent, seed=42)
    assert got.dtype == np.float32 and got.shape == ent.shape
    np.testing.assert_array_equal(got, naive.shatter_unity(field, ent, 42))
    assert got.min() >= 0.0 and got.max() <= 1.0 and np.any(got == 0.0)


def test_spark_positions_uniform_and_seeded():
    ent = np.arange(200_000, dtype=np.int64)
    x, y = spark_positions(64, ent, seed=3)
    assert x.min() == 0 and x.max() == 63 and y.min() == 0 and y.max() == 63
    counts = np.bincount(x * 64 + y, minlength=64 * 64)
    # uniform: chi-square of 4096 cells with ~49 each
    chi2 = float(np.sum((counts - counts.mean()) ** 2 / counts.mean()))
    assert 3700 < chi2 < 4500
    x2, _ = spark_positions(64, ent, seed=4)
    assert not np.array_equal(x, x2)


# -- files -------------------------------------------------------------------------


def _read_png(data: bytes) -> np.ndarray:
    """uint8 RGBA (h, w, 4) of a PNG, read by Pillow (an independent decoder)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return np.asarray(img.convert("RGBA"))


def _colour(value: float) -> np.ndarray:
    """uint8 RGB that the colour map gives ``value`` on [-1, 1]."""
    import matplotlib

    return np.rint(255 * np.array(matplotlib.colormaps[VESSEL_CMAP]((value + 1.0) / 2.0)[:3])).astype(int)


def _vessel_pixels(phi, title, tmp_path):
    """The PNG of ``phi`` read back, and the image's box in it: (rgba, x0, x1, y0, y1), rows from the top."""
    p = tmp_path / "v.png"
    write_vessel_png(p, phi, title)
    rgba = _read_png(p.read_bytes())
    fig = vessel_figure(phi, title)
    fig.canvas.draw()  # lays the figure out as savefig does
    box = fig.axes[0].get_window_extent()
    h = rgba.shape[0]
    return rgba, box.x0, box.x1, h - box.y1, h - box.y0, fig


def test_vessel_png_is_a_figure_of_the_field(tmp_path):
    n = 32
    phi = np.ones((n, n))
    phi[:, : n // 2] = -1.0
    title = "stage 0, separate: unity 0.000, mixing 0.000"
    rgba, x0, x1, y0, y1, fig = _vessel_pixels(phi, title, tmp_path)
    w, h = fig.get_size_inches() * fig.dpi
    assert rgba.shape == (round(h), round(w), 4)
    assert fig.axes[0].get_title() == title
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_ylabel()
    assert "reception" in fig.axes[1].get_ylabel() and "bestowal" in fig.axes[1].get_ylabel()  # the colour bar
    ym = int((y0 + y1) / 2)
    left = rgba[ym, int(x0 + 0.25 * (x1 - x0)), :3].astype(int)
    right = rgba[ym, int(x0 + 0.75 * (x1 - x0)), :3].astype(int)
    np.testing.assert_allclose(left, _colour(-1.0), atol=2)   # reception on the left, blue
    np.testing.assert_allclose(right, _colour(1.0), atol=2)   # bestowal on the right, red
    assert left[2] > left[0] and right[0] > right[2]
    # the melted vessel is white
    rgba, x0, x1, y0, y1, _ = _vessel_pixels(np.zeros((n, n)), "melted", tmp_path)
    np.testing.assert_allclose(rgba[int((y0 + y1) / 2), int((x0 + x1) / 2), :3], _colour(0.0), atol=2)
    assert np.all(_colour(0.0) > 240)


def test_write_outputs(result, tmp_path):
    out = tmp_path / "genesis"
    paths = write_genesis_outputs(result, out)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], "temporary files left behind"
    expected_png = [f"genesis_{i}_{s.kind}.png" for i, s in enumerate(SMALL.stages)]
    assert set(names) == {"genesis.parquet", "field.npy", "genesis_stages.npz", *expected_png}
    assert len(paths) == 3 + len(expected_png)
    table = pq.read_table(out / "genesis.parquet")
    assert table.column_names == list(RECORD_COLUMNS)
    np.testing.assert_array_equal(table.column("unity").to_numpy(), result.records["unity"])
    assert table.column("stage").to_pylist() == result.records["stage"].tolist()
    np.testing.assert_array_equal(np.load(out / "field.npy"), result.field)
    # the vessel at each stage's end, in half precision, with its measures on the full field
    with np.load(out / "genesis_stages.npz", allow_pickle=False) as npz:
        assert npz["kind"].tolist() == [s.kind for s in SMALL.stages]
        assert npz["phi"].dtype == np.float16 and npz["phi"].shape == (len(SMALL.stages), 32, 32)
        for i, (kind, phi) in enumerate(result.stage_fields):
            np.testing.assert_allclose(npz["phi"][i], phi, atol=1e-3)  # float16 near 1: steps of 2**-10
            assert np.isclose(npz["unity"][i], naive.unity(phi), rtol=1e-12)
            assert np.isclose(npz["mixing"][i], naive.mixing(phi, SMALL.block), rtol=1e-12)
            assert npz["light"][i] == SMALL.stages[i].light
        np.testing.assert_allclose(npz["end"], np.cumsum([s.duration for s in SMALL.stages]))
        assert int(npz["block"]) == SMALL.block
    # each stage's figure: a PNG named by the stage, titled with its unity and mixing, drawn from
    # the stored float16 field: against the figure of the full field, the same but where float16's
    # rounding moves a pixel by a step of the colour map (a few of 255 levels, a few pixels in 100)
    titles = []
    for i, (kind, phi) in enumerate(result.stage_fields):
        img = _read_png((out / f"genesis_{i}_{kind}.png").read_bytes())
        assert img.shape[0] > 300 and img.shape[1] > 300
        fig = vessel_figure(phi, "")
        assert fig.axes[0].get_images()[0].get_array().shape == (32, 32)
        title = (f"stage {i}, {kind}: light {SMALL.stages[i].light:g}, ends at t = "
                 f"{sum(st.duration for st in SMALL.stages[:i + 1]):,.6g}\nunity {naive.unity(phi):.3f}, "
                 f"mixing {naive.mixing(phi, SMALL.block):.3f} ({SMALL.block} x {SMALL.block} blocks)")
        write_vessel_png(tmp_path / "full.png", phi, title)
        full = _read_png((tmp_path / "full.png").read_bytes()).astype(int)
        moved = np.abs(img.astype(int) - full).max(axis=2)
        assert moved.max() <= 8 and (moved > 0).mean() < 0.03, (kind, moved.max(), (moved > 0).mean())
        titles.append(title)
    separate, shatter = (_read_png((out / f"genesis_{i}_{k}.png").read_bytes()).astype(int)
                         for i, k in ((0, "separate"), (len(SMALL.stages) - 1, "shatter")))
    assert (np.abs(separate - shatter).max(axis=2) > 8).mean() > 0.1  # the comparison tells stages apart
    phi0 = result.stage_fields[0][1]
    assert stage_title(0, "separate", phi0, SMALL.block) == (
        f"stage 0, separate: unity {naive.unity(phi0):.3f}, mixing {naive.mixing(phi0, SMALL.block):.3f}")
    # rewriting replaces atomically
    write_genesis_outputs(result, out)
    assert sorted(p.name for p in out.iterdir()) == names
    # without the figures: the tables alone, and no PNG
    bare = tmp_path / "bare"
    write_genesis_outputs(result, bare, figures=False)
    assert sorted(p.name for p in bare.iterdir()) == ["field.npy", "genesis.parquet", "genesis_stages.npz"]


def test_the_stages_of_a_result_without_its_script(result, tmp_path):
    """A GenesisResult made without its script (config None) keeps its stages with what it has:
    their kinds and fields, the measures (the mixing over 8 x 8 blocks), NaN for the light and
    the end it does not know; its figures' titles then give the measures alone."""
    import dataclasses

    from tikkun.report.genesis import read_stages, stage_figures

    bare = dataclasses.replace(result, config=None)
    write_genesis_outputs(bare, tmp_path, figures=False)
    with np.load(tmp_path / "genesis_stages.npz", allow_pickle=False) as npz:
        assert npz["kind"].tolist() == [k for k, _ in result.stage_fields] and int(npz["block"]) == 8
        assert np.isnan(npz["light"]).all() and np.isnan(npz["end"]).all()
        np.testing.assert_allclose(npz["mixing"], [naive.mixing(phi, 8) for _, phi in result.stage_fields], rtol=1e-12)
    drawn = stage_figures(read_stages(tmp_path))
    assert [(i, k) for i, k, _ in drawn] == [(i, k) for i, (k, _) in enumerate(result.stage_fields)]


def test_stage_figures_say_the_light_and_the_time_of_their_stage(result, tmp_path, monkeypatch):
    """Each stage's figure is titled with its stage's light and the time it ends at (the last
    record of that stage in the records), then the unity and the mixing with its block."""
    from matplotlib.figure import Figure

    import tikkun.report.genesis as figures

    titles = []
    monkeypatch.setattr(figures, "vessel_figure", lambda phi, title: titles.append(title) or Figure())
    write_genesis_outputs(result, tmp_path, figures=False)
    figures.write_stage_figures(tmp_path)
    rec = result.records
    assert len(titles) == len(SMALL.stages)
    for i, (stage, title, (kind, phi)) in enumerate(zip(SMALL.stages, titles, result.stage_fields)):
        first, second = title.split("\n")
        end = float(rec["time"][rec["stage"] == kind][-1])  # each kind once in SMALL's script
        assert first == f"stage {i}, {kind}: light {stage.light:g}, ends at t = {end:,.6g}"
        assert second == (f"unity {naive.unity(phi):.3f}, mixing {naive.mixing(phi, SMALL.block):.3f} "
                          f"({SMALL.block} x {SMALL.block} blocks)")
