"""Gap filling under clouds: DINEOF and the DINCAE-style autoencoder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.casestudies.gapfill import cae_fill, cloudy_sst, dineof, gaussian_nll, train_cae
from climlearn.fields.synthetic import to_dataarray


def _low_rank(nt=30, ny=12, nx=10, rank=3, gaps=0.3, seed=0):
    rng = np.random.default_rng(seed)
    # the constant 5 is one of the modes, so the field minus its mean has rank ``rank``
    u = np.column_stack([np.ones(nt), rng.standard_normal((nt, rank - 1))])
    v = np.vstack([np.full(ny * nx, 5.0), rng.standard_normal((rank - 1, ny * nx))])
    full = u @ v
    full = full.reshape(nt, ny, nx)
    hide = rng.random(full.shape) < gaps
    hide[:, 0, 0] = True  # one pixel never observed (land): must stay NaN
    return full, hide, to_dataarray(np.where(hide, np.nan, full), "f", "K", "field")


def test_dineof_recovers_exactly_low_rank_field():
    full, hide, obs = _low_rank()
    out = dineof(obs, max_modes=8, tol=1e-13, max_iter=20000, cv_fraction=0.05)
    assert out.attrs["n_modes"] == 3
    filled = out["filled"].values
    assert np.isnan(filled[:, 0, 0]).all()
    gap = hide.copy()
    gap[:, 0, 0] = False
    err = np.abs(filled - full)[gap].max()
    assert err < 1e-8 * np.abs(full).max(), err
    # observed values are kept exactly
    np.testing.assert_array_equal(filled[~hide], full[~hide])
    # the cross-validation error is much larger with too few modes
    assert out["cv_rmse"].sel(mode=1) > 1e3 * out["cv_rmse"].sel(mode=3)


def test_dineof_rejects_malformed_input():
    _, _, obs = _low_rank()
    with pytest.raises(ValueError, match="dims"):
        dineof(obs.rename(y="lat"))
    with pytest.raises(TypeError, match="DataArray"):
        dineof(obs.values)
    bad = obs.copy()
    bad[4] = np.nan
    with pytest.raises(ValueError, match=r"no observed pixel.*\[4\]"):
        dineof(bad)
    with pytest.raises(ValueError, match="all NaN"):
        dineof(obs * np.nan)
    with pytest.raises(ValueError, match="cv_fraction"):
        dineof(obs, cv_fraction=0.9)


def test_gaussian_nll_matches_numpy():
    rng = np.random.default_rng(1)
    mu, lv, y = (rng.standard_normal((2, 5, 6)) for _ in range(3))
    w = (rng.random((2, 5, 6)) < 0.4).astype(float)
    ref = 0.5 * (math.log(2 * math.pi) + lv + (y - mu) ** 2 / np.exp(lv))
    ref = (ref * w).sum() / w.sum()
    got = gaussian_nll(*(torch.from_numpy(a) for a in (mu, lv, y, w)))
    assert float(got) == pytest.approx(ref, rel=1e-12)


def test_cae_trains_and_fills_with_nan_and_uncertainty():
    ds = cloudy_sst(10, 16, 16, cover=0.5, seed=3)
    obs = ds.obs.copy()
    obs[:, :3, :3] = np.nan  # land corner, never observed
    net = train_cae([obs], epochs=2, batch_size=5, window=1, base=4, depth=1)
    assert len(net.history) == 2 and np.isfinite(net.history).all()
    out = cae_fill(net, obs)
    assert out["filled"].dims == ("time", "y", "x")
    assert out["filled"].attrs["units"] == "K"
    seen = np.isfinite(obs.values)
    np.testing.assert_array_equal(out["filled"].values[seen], obs.values[seen])
    assert np.isfinite(out["filled"].values).all()
    assert (out["sigma"].values > 0).all()


def test_cae_rejects_malformed_input():
    a = cloudy_sst(6, 16, 16, seed=0).obs
    b = cloudy_sst(6, 12, 16, seed=1).obs
    with pytest.raises(ValueError, match="same grid|share one grid"):
        train_cae([a, b], epochs=1)
    with pytest.raises(ValueError, match="dims"):
        train_cae([a.isel(time=0)], epochs=1)
    empty = a.copy()
    empty[2] = np.nan
    with pytest.raises(ValueError, match="no observed pixel"):
        train_cae([empty], epochs=1)
    with pytest.raises(ValueError, match="at least one"):
        train_cae([], epochs=1)
    with pytest.raises(TypeError):
        cae_fill(None, xr.Dataset())  # type: ignore[arg-type]
