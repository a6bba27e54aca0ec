"""Verification scores against hand-computed cases and a brute-force numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climlearn.fields import verify

F = np.array([[5.0, 0.0], [5.0, 5.0]])
T = np.array([[5.0, 5.0], [0.0, 5.0]])


def test_mse_rmse_hand_computed_and_nan():
    fc = np.array([[[1.0, 2.0], [3.0, 4.0]], [[1.0, np.nan], [1.0, 1.0]]])
    tr = np.zeros_like(fc)
    np.testing.assert_allclose(verify.mse(fc, tr).values, [7.5, 1.0])
    np.testing.assert_allclose(verify.rmse(fc, tr).values, [np.sqrt(7.5), 1.0])
    np.testing.assert_allclose(float(verify.mse(fc, tr, dims=None)), 33.0 / 7)
    # an all-missing map gives NaN, not a crash
    fc[1] = np.nan
    assert np.isnan(verify.mse(fc, tr).values[1])


def test_categorical_scores_hand_computed():
    c = verify.contingency(F, T, 1.0)
    assert (int(c.hits), int(c.misses), int(c.false_alarms), int(c.correct_negatives)) == \
        (2, 1, 1, 0)
    assert float(verify.csi(F, T, 1.0)) == pytest.approx(0.5)
    assert float(verify.pod(F, T, 1.0)) == pytest.approx(2 / 3)
    assert float(verify.far(F, T, 1.0)) == pytest.approx(1 / 3)
    # no event anywhere: undefined, NaN
    assert np.isnan(float(verify.csi(F, T, 100.0)))
    # NaN pixel is ignored: drop the miss at (0, 1)
    f2 = T.copy()
    f2[0, 1] = np.nan
    assert float(verify.csi(F, f2, 1.0)) == pytest.approx(2 / 3)


def _fss_reference(f, t, thr, scale):
    """Brute force: loop over windows, fractions among valid pixels."""
    ny, nx = f.shape
    lo = scale // 2
    num = den = 0.0
    for i in range(ny):
        for j in range(nx):
            sl = (slice(max(i - lo, 0), i - lo + scale), slice(max(j - lo, 0), j - lo + scale))
            ok = np.isfinite(f[sl]) & np.isfinite(t[sl])
            if not ok.any():
                continue
            pf = np.mean(f[sl][ok] >= thr)
            po = np.mean(t[sl][ok] >= thr)
            num += (pf - po) ** 2
            den += pf ** 2 + po ** 2
    return 1 - num / den


def test_fss_hand_computed_and_reference():
    assert float(verify.fss(F, T, 1.0, 1)) == pytest.approx(2 / 3)
    rng = np.random.default_rng(0)
    f, t = rng.gamma(1.0, 2.0, (2, 11, 13)), rng.gamma(1.0, 2.0, (2, 11, 13))
    f[0, 3:5, 2:7] = np.nan
    for scale in (1, 3, 4, 7):
        got = verify.fss(f, t, 2.0, scale).values
        ref = [_fss_reference(f[k], t[k], 2.0, scale) for k in range(2)]
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    # same number of events, shuffled: a window covering the domain everywhere gives 1
    a = np.zeros((9, 9))
    a.flat[rng.choice(81, 20, replace=False)] = 1.0
    b = np.zeros((9, 9))
    b.flat[rng.choice(81, 20, replace=False)] = 1.0
    assert float(verify.fss(a, b, 0.5, 19)) == pytest.approx(1.0)
    assert float(verify.fss(a, b, 0.5, 1)) < 0.7


def test_dice_hand_computed():
    p = np.array([[0, 1], [2, 2]])
    t = np.array([[0, 1], [1, 2]])
    d = verify.dice(p, t)
    np.testing.assert_allclose(d.sel({"class": 0}), 1.0)
    np.testing.assert_allclose(d.values, [1.0, 2 / 3, 2 / 3])
    assert verify.mean_dice(p, t) == pytest.approx((1 + 4 / 3) / 3)
    # a class absent from both is NaN and skipped by the mean
    d2 = verify.dice(p, t, classes=[1, 2, 5])
    assert np.isnan(d2.values[2])
    assert verify.mean_dice(p, t, classes=[1, 2, 5]) == pytest.approx(2 / 3)
    # per time step
    pt, tt = np.stack([p, p]), np.stack([t, p])
    dt = verify.dice(pt, tt, dims=("y", "x"))
    np.testing.assert_allclose(dt.sel(time=1).values, 1.0)


def test_relative_motion_error():
    u = np.full((4, 5), 1.1)
    z = np.zeros((4, 5))
    assert verify.relative_motion_error(u, z, np.ones((4, 5)), z) == pytest.approx(0.1)
    u[0, 0] = np.nan
    assert verify.relative_motion_error(u, z, np.ones((4, 5)), z) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="zero everywhere"):
        verify.relative_motion_error(u, z, z, z)


def test_malformed_input_rejected():
    with pytest.raises(ValueError, match="grids differ"):
        verify.mse(np.zeros((2, 3, 3)), np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="different dims"):
        verify.mse(xr.DataArray(np.zeros((3, 3)), dims=("a", "b")), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="expected a"):
        verify.csi(np.zeros(5), np.zeros(5), 1.0)
    with pytest.raises(ValueError, match="coordinates 'x' differ"):
        a = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"), coords={"x": [0, 1]})
        verify.mse(a, a.assign_coords(x=[1, 2]))
    with pytest.raises(ValueError, match="integer class"):
        verify.dice(np.full((2, 2), 0.5), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="no pixel is valid"):
        verify.dice(np.full((2, 2), np.nan), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="scale"):
        verify.fss(F, T, 1.0, 0)
    with pytest.raises(ValueError, match="not in the data dims"):
        verify.mse(F, T, dims=("lat",))
