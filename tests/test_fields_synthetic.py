"""Synthetic generators: statistics, known truth and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from climlearn.fields import synthetic


def test_powerlaw_field_statistics_and_spectrum():
    f = synthetic.powerlaw_field((4, 64, 64), slope=3.0, seed=1)
    assert f.shape == (4, 64, 64)
    np.testing.assert_allclose(f.mean(axis=(1, 2)), 0.0, atol=1e-12)
    np.testing.assert_allclose(f.std(axis=(1, 2)), 1.0, rtol=1e-12)
    # seeded
    np.testing.assert_array_equal(f, synthetic.powerlaw_field((4, 64, 64), 3.0, seed=1))
    # radially averaged power spectrum slope close to -3 (fit over mid wavenumbers)
    p = np.mean(np.abs(np.fft.fft2(f)) ** 2, axis=0)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(64) * 64, np.fft.fftfreq(64) * 64,
                              indexing="ij"))
    ks = np.arange(3, 20)
    pk = [p[(k >= a - 0.5) & (k < a + 0.5)].mean() for a in ks]
    slope = np.polyfit(np.log(ks), np.log(pk), 1)[0]
    assert slope == pytest.approx(-3.0, abs=0.3)
    with pytest.raises(ValueError, match="shape"):
        synthetic.powerlaw_field((64,))


def test_advected_sequence_translation_is_exact_shift():
    ds = synthetic.advected_sequence(3, 24, 30, flow="translation", speed=2.0, angle=90.0)
    a = ds["tracer"].values
    assert ds["tracer"].dims == ("time", "y", "x")
    assert ds["tracer"].attrs["units"] == "1"
    # angle 90 degrees: two pixels per step along +y
    np.testing.assert_allclose(a[1], np.roll(a[0], 2, axis=0), atol=1e-10)
    np.testing.assert_allclose(a[2], np.roll(a[0], 4, axis=0), atol=1e-10)
    np.testing.assert_allclose(ds["v"].values, 2.0)
    np.testing.assert_allclose(ds["u"].values, 0.0, atol=1e-12)


def test_flows_and_registry():
    cell = synthetic.velocity_field("cellular", 32, 32, speed=1.0)
    # divergence-free (centred differences of an analytic periodic field, small)
    du = (np.roll(cell.u.values, -1, 1) - np.roll(cell.u.values, 1, 1)) / 2
    dv = (np.roll(cell.v.values, -1, 0) - np.roll(cell.v.values, 1, 0)) / 2
    assert np.abs(du + dv).max() < 1e-2 * np.abs(du).max() + 1e-12
    rot = synthetic.velocity_field("rotation", 33, 33, speed=1.0)
    assert rot.u.values[16, 16] == pytest.approx(0.0) and rot.v.values[16, 16] == 0.0
    with pytest.raises(ValueError, match="valid names"):
        synthetic.velocity_field("spiral", 8, 8)


def test_cloud_mask_cover_and_correlation():
    m = synthetic.cloud_mask(3, 40, 50, cover=[0.0, 0.35, 1.0], seed=3)
    assert m.dtype == bool and m.dims == ("time", "y", "x")
    np.testing.assert_allclose(m.mean(("y", "x")).values, [0.0, 0.35, 1.0], atol=1 / 2000)
    # spatially correlated: neighbours agree far more often than for random pixels
    one = synthetic.cloud_mask(1, 64, 64, cover=0.5, seed=0).values[0]
    agree = np.mean(one[:, 1:] == one[:, :-1])
    assert agree > 0.8
    with pytest.raises(ValueError, match="cover"):
        synthetic.cloud_mask(2, 8, 8, cover=1.5)
    with pytest.raises(ValueError, match="2 values"):
        synthetic.cloud_mask(2, 8, 8, cover=[0.1, 0.2, 0.3])


def test_apply_mask_and_tsm():
    ds = synthetic.suspended_matter(4, 24, 24, cover=0.4, seed=2)
    np.testing.assert_array_equal(np.isnan(ds.tsm.values), ds.cloud.values)
    assert (ds.tsm_true > 0).all()
    assert ds.tsm.attrs["units"] == "g m-3"
    with pytest.raises(ValueError, match="grids differ"):
        synthetic.apply_mask(ds.tsm_true, ds.cloud.isel(x=slice(0, 5)))


def test_rain_cells_move_with_the_flow():
    ds = synthetic.rain_cells(6, 48, 48, n_cells=6, speed=2.0, angle=0.0, seed=4)
    r = ds.rain_rate
    assert r.attrs["units"] == "mm h-1" and float(r.min()) >= 0.0
    assert float(r.max()) > 5.0
    # the pattern at t+1 matches the pattern at t shifted by +2 along x best
    a, b = r.values[2], r.values[3]
    errs = {s: np.mean((np.roll(a, s, axis=1) - b) ** 2) for s in range(-3, 5)}
    assert min(errs, key=errs.get) == 2
