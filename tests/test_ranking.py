"""Tests of climlearn.casestudies.ranking: rank statistics, transport, rankings, inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

from climlearn.casestudies.ranking import (
    make_models,
    optimal_assignment,
    rankdata,
    rmse_ranking,
    som_ranking,
    spearman,
    transport_distance,
    true_error,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_rank_statistics_hand_computed():
    np.testing.assert_allclose(rankdata([10, 30, 20, 20]), [1, 4, 2.5, 2.5])
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # d = ranks differences (0, 0, 1, -1): rho = 1 - 6*2/(4*15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(0.8)
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1], [1, 2, 3])


def test_transport_equals_brute_force():
    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 6):
        for _ in range(10):
            C = rng.random((n, n))
            best = min(C[np.arange(n), list(p)].sum() for p in itertools.permutations(range(n)))
            assert transport_distance(C) * n == pytest.approx(best, abs=1e-12)
            assert sorted(optimal_assignment(C)) == list(range(n))
    with pytest.raises(ValueError, match="square"):
        transport_distance(np.ones((2, 3)))


def test_true_ranking_of_generator():
    ds = make_models(seed=0)
    assert ds.sizes["model"] == 20
    err = true_error(ds["amplitude"].values, ds["phase"].values, ds["dlat"].values)
    np.testing.assert_allclose(ds["true_error"], err)
    assert np.array_equal(np.argsort(ds["true_rank"].values), np.argsort(err, kind="stable"))
    # a perfect model has error 0 and equals the observations up to noise
    perfect = make_models(models=[{"family": "x", "amplitude": 1.0, "phase": 0.0,
                                   "dlat": 0.0}] * 2, noise=0.0)
    np.testing.assert_allclose(perfect["models"].isel(model=0), perfect["obs"])


def _offset_models(offsets):
    ds = make_models(noise=0.02, seed=1)
    obs = ds["obs"]
    models = xr.concat([obs + c for c in offsets], dim="model").assign_coords(
        model=[f"m{i}" for i in range(len(offsets))])
    return obs, models


def test_rmse_ranking_known_order():
    obs, models = _offset_models([0.5, -0.1, 0.3, 0.0])
    r = rmse_ranking(obs, models)
    np.testing.assert_allclose(r["rmse"].values, [0.5, 0.1, 0.3, 0.0], atol=1e-12)
    np.testing.assert_array_equal(r["rank"].values, [4, 2, 3, 1])


def test_som_ranking_recovers_easy_order():
    # amplitude errors only, increasing: the true order is the model order
    specs = [{"family": "amplitude", "amplitude": a, "phase": 0.0, "dlat": 0.0}
             for a in (1.05, 1.2, 1.45, 1.8, 2.3, 3.0)]
    ds = make_models(models=specs, seed=2)
    r, _ = som_ranking(ds["obs"], ds["models"], som_shape=(6, 6), n_epochs=30)
    assert spearman(r["rank"].values, ds["true_rank"].values) >= 0.9
    assert r["rank"].values[0] <= 2
    assert r["rank"].values[-1] >= 5


def test_som_ranking_beats_rmse_on_phase_family():
    ds = make_models(seed=0)
    r, _ = som_ranking(ds["obs"], ds["models"])
    q = rmse_ranking(ds["obs"], ds["models"])
    t = ds["true_rank"].values
    assert spearman(r["rank"].values, t) >= 0.9
    ph = ds["family"].values == "phase"
    assert (np.abs(r["rank"].values - t)[ph].mean()
            < np.abs(q["rank"].values - t)[ph].mean())


def test_ranking_rejects_bad_input():
    ds = make_models(seed=0)
    obs, models = ds["obs"], ds["models"]
    with pytest.raises(ValueError, match="'month' dim"):
        som_ranking(obs.rename(month="time"), models)
    with pytest.raises(ValueError, match="length 12"):
        rmse_ranking(obs.isel(month=slice(0, 11)), models.isel(month=slice(0, 11)))
    with pytest.raises(ValueError, match="models must have dims"):
        som_ranking(obs, models.isel(lon=0))
    with pytest.raises(ValueError, match="differ in size"):
        som_ranking(obs, models.isel(lat=slice(0, 5)))
    bad = models.copy()
    bad[3, :, :, 4] = np.nan
    with pytest.raises(ValueError, match="all-NaN month map"):
        som_ranking(obs, bad)
    with pytest.raises(ValueError, match="too large"):
        som_ranking(obs, models.isel(model=slice(0, 2)), som_shape=(8, 8))
    with pytest.raises(TypeError, match="DataArray"):
        som_ranking(obs.values, models)
    with pytest.raises(ValueError, match="grid too small"):
        make_models(n_lat=2)
