"""Dense Lucas-Kanade motion: recovers known motion, works on observed pixels only."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climlearn.fields import motion, synthetic, verify


def _interior(n, m=4):
    mask = np.zeros((n, n), bool)
    mask[m:-m, m:-m] = True
    return mask


def test_recovers_uniform_translation():
    ds = synthetic.sst_sequence(4, 40, 40, flow="translation", speed=1.3, angle=30.0, seed=5)
    mo = motion.estimate_motion(ds.sst)
    assert mo.u.dims == ("y", "x") and mo.u.attrs["units"] == "1"
    err = verify.relative_motion_error(mo.u, mo.v, ds.u, ds.v, _interior(40))
    assert err < 0.05
    np.testing.assert_allclose(float(mo.u.median()), 1.3 * np.cos(np.pi / 6), atol=0.05)


def test_motion_on_observed_pixels_only():
    ds = synthetic.sst_sequence(4, 40, 40, flow="translation", speed=1.0, angle=-60.0, seed=6)
    clouds = synthetic.cloud_mask(4, 40, 40, cover=0.3, seed=7)
    obs = synthetic.apply_mask(ds.sst, clouds)
    mo = motion.estimate_motion(obs)
    assert np.isfinite(mo.u).all() and np.isfinite(mo.v).all()
    err = verify.relative_motion_error(mo.u, mo.v, ds.u, ds.v, _interior(40))
    assert err < 0.15
    # filling clouds with a wrong constant instead would mislead the estimate
    filled = obs.fillna(float(obs.mean()))
    bad = motion.estimate_motion(filled)
    assert err < verify.relative_motion_error(bad.u, bad.v, ds.u, ds.v, _interior(40))


def test_extrapolation_forecast_beats_persistence_on_rotation():
    ds = synthetic.sst_sequence(7, 40, 40, flow="rotation", speed=1.5, seed=8)
    fc = motion.extrapolation_forecast(ds.sst.isel(time=slice(0, 4)), 3)
    truth = ds.sst.isel(time=slice(4, 7)).values
    pers = np.broadcast_to(ds.sst.isel(time=3).values, truth.shape)
    assert (verify.mse(fc.values, truth).values < 0.5 * verify.mse(pers, truth).values).all()


def test_bad_input_rejected():
    ds = synthetic.sst_sequence(3, 12, 12)
    with pytest.raises(ValueError, match="dims"):
        motion.estimate_motion(ds.sst.transpose("y", "time", "x"))
    with pytest.raises(ValueError, match="at least 2 maps"):
        motion.estimate_motion(ds.sst.isel(time=slice(0, 1)))
    blank = ds.sst.copy()
    blank[1] = np.nan
    with pytest.raises(ValueError, match=r"time indices \[1\] have no valid pixel"):
        motion.estimate_motion(blank)
    with pytest.raises(ValueError, match="valid names"):
        motion.estimate_motion(ds.sst, method="farneback")
    with pytest.raises(TypeError):
        motion.estimate_motion(ds.sst.values)
    assert isinstance(motion.estimate_motion(ds.sst), xr.Dataset)
