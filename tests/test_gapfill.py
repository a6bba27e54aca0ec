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
    with pytest.raises(ValueError, match="calibration stack.*dims"):
        train_cae([a], epochs=1, calibration=a.isel(time=0))
    with pytest.raises(TypeError):
        cae_fill(None, xr.Dataset())  # type: ignore[arg-type]


def test_cae_sigma_calibration_and_augmentation():
    """The calibration factor puts 68.27 % of the hidden-pixel errors of the calibration
    stack within one sigma; hiding those pixels ourselves and filling the stack through
    the public ``cae_fill`` must reproduce that coverage."""
    from climlearn.casestudies.gapfill.cae import _extra_clouds

    train = cloudy_sst(8, 16, 16, cover=0.4, seed=3).obs
    calib = cloudy_sst(8, 16, 16, cover=0.4, seed=4).obs
    net = train_cae([train], epochs=1, batch_size=4, window=1, base=4, depth=1,
                    calibration=calib, seed=2)
    assert net.sigma_scale > 0 and net.sigma_scale != 1.0
    extra = _extra_clouds(8, 16, 16, (0.02, 0.1), 2 + 7)  # the clouds train_cae drew
    hidden = np.isfinite(calib.values) & extra
    out = cae_fill(net, calib.where(~extra))
    err = np.abs(out["filled"].values - calib.values)[hidden]
    coverage = np.mean(err <= out["sigma"].values[hidden])
    assert coverage == pytest.approx(0.6827, abs=2.0 / hidden.sum() + 1e-3)
    # without the averaging over the 8 rotations/reflections the prediction changes;
    # observed pixels are always kept
    net.augment = False
    plain = cae_fill(net, calib.where(~extra))
    assert not np.allclose(plain["prediction"].values, out["prediction"].values)
    np.testing.assert_array_equal(plain["filled"].values[~hidden & np.isfinite(calib.values)],
                                  calib.values[~hidden & np.isfinite(calib.values)])


def test_cae_holdout_calibration_never_trains_on_held_pixels():
    """``calibration="holdout"``: the held-out pixels never enter training (the network
    equals one trained without calibration on the stack with those pixels set missing),
    and the factor puts 68.27 % of their errors within one sigma when the same stack
    is filled through the public ``cae_fill`` with them hidden."""
    from climlearn.casestudies.gapfill.cae import _extra_clouds

    stack = cloudy_sst(8, 16, 16, cover=0.4, seed=3).obs
    kw = dict(epochs=1, batch_size=4, window=1, base=4, depth=1, seed=2)
    net = train_cae([stack], calibration="holdout", calibration_cover=(0.1, 0.2), **kw)
    held = _extra_clouds(8, 16, 16, (0.1, 0.2), 2 + 13)  # the clouds train_cae drew
    hidden = held & np.isfinite(stack.values)
    assert hidden.sum() > 50
    plain = train_cae([stack.where(~held)], calibration=None, **kw)
    assert plain.mean == pytest.approx(net.mean) and plain.std == pytest.approx(net.std)
    for a, b in zip(net.model.state_dict().values(), plain.model.state_dict().values(),
                    strict=True):
        torch.testing.assert_close(a, b)
    assert plain.sigma_scale == 1.0 and net.sigma_scale != 1.0
    out = cae_fill(net, stack.where(~held))
    err = np.abs(out["filled"].values - stack.values)[hidden]
    coverage = np.mean(err <= out["sigma"].values[hidden])
    assert coverage == pytest.approx(0.6827, abs=2.0 / hidden.sum() + 1e-3)
    with pytest.raises(ValueError, match="'holdout', a cloudy stack or None.*'hold'"):
        train_cae([stack], calibration="hold", **kw)


def test_cae_inputs_match_brute_force():
    from climlearn.casestudies.gapfill.cae import cae_inputs

    rng = np.random.default_rng(5)
    nt, ny, nx, w = 7, 3, 4, 1
    z = rng.standard_normal((nt, ny, nx)).astype(np.float32)
    seen = rng.random((nt, ny, nx)) < 0.4
    x = cae_inputs(z, seen, w)
    assert x.shape == (nt, 2 * (2 * w + 1) + 6, ny, nx)
    for t in range(nt):
        for c, off in enumerate(range(-w, w + 1)):
            s = min(max(t + off, 0), nt - 1)
            np.testing.assert_array_equal(x[t, 2 * c], np.where(seen[s], z[s], 0))
            np.testing.assert_array_equal(x[t, 2 * c + 1], seen[s])
        for j in range(ny):
            for i in range(nx):
                obs = np.flatnonzero(seen[:, j, i])
                cnt = obs.size
                assert x[t, 6, j, i] == pytest.approx(z[obs, j, i].mean() if cnt else 0.0)
                assert x[t, 7, j, i] == pytest.approx(cnt / nt)
                before, after = obs[obs < t], obs[obs > t]
                want = [z[before[-1], j, i] if before.size else 0.0,
                        1.0 / (t - before[-1]) if before.size else 0.0,
                        z[after[0], j, i] if after.size else 0.0,
                        1.0 / (after[0] - t) if after.size else 0.0]
                np.testing.assert_allclose(x[t, 8:, j, i], want, rtol=1e-6)
