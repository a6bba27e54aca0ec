"""Tests of the phytoplankton case study against the generator's known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from climlearn.casestudies.phyto import (
    PIGMENTS,
    fit_phyto,
    log_rmse,
    make_phyto_dataset,
    mean_filled_baseline,
    retrieve_pigments,
)


@pytest.fixture(scope="module")
def data():
    return (make_phyto_dataset(1500, missing_fraction=0.8, seed=3),
            make_phyto_dataset(600, missing_fraction=0.8, seed=4))


@pytest.fixture(scope="module")
def model(data):
    return fit_phyto(data[0], rows=8, cols=8, n_epochs=15, seed=0)


@pytest.mark.parametrize("frac", [0.7, 0.8, 0.9])
def test_generator_missing_fraction_and_truth(frac):
    ds = make_phyto_dataset(3000, n_types=6, missing_fraction=frac, seed=1)
    obs = ds["pigments"].values
    assert abs(np.isnan(obs).mean() - frac) < 0.03
    ok = ~np.isnan(obs)
    np.testing.assert_array_equal(obs[ok], ds["pigments_true"].values[ok])
    assert np.all(ds["rrs"].values > 0) and not np.isnan(ds["rrs"].values).any()
    assert set(np.unique(ds["water_type"].values)) == set(range(6))
    assert ds["rrs"].attrs["units"] == "sr-1" and ds["pigments"].attrs["units"] == "mg m-3"
    again = make_phyto_dataset(3000, n_types=6, missing_fraction=frac, seed=1)
    xr.testing.assert_identical(ds, again)


def test_retrieval_beats_mean_filled_som(data, model):
    train, test = data
    truth = test["pigments_true"].values
    ours = retrieve_pigments(model, test)
    base = mean_filled_baseline(train, test, rows=8, cols=8, n_epochs=15, engine="climlearn")
    assert base["engine"] == "climlearn"
    r_ours = log_rmse(ours["pigments"].values, truth)
    r_base = log_rmse(base["test_pigments"], truth)
    # climatology: every pigment at its observed log-mean
    clim = 10 ** np.nanmean(np.log10(train["pigments"].values), axis=0)
    r_clim = log_rmse(np.broadcast_to(clim, truth.shape), truth)
    assert r_ours <= 0.9 * r_base, (r_ours, r_base)
    assert r_ours < 0.6 * r_clim, (r_ours, r_clim)
    # the dominant group is found well above chance (5 groups)
    acc = np.mean(ours["dominant_group"].values == test["water_type"].values)
    assert acc > 0.5


def test_retrieve_output_and_insitu_kept(data, model):
    train, _ = data
    out = retrieve_pigments(model, train, use_insitu=True)
    assert out["pigments"].dims == ("sample", "pigment")
    assert list(out["pigment"].values) == list(PIGMENTS)
    assert out["pigments"].attrs["units"] == "mg m-3"
    obs = train["pigments"].values
    ok = ~np.isnan(obs)
    np.testing.assert_allclose(out["pigments"].values[ok], obs[ok], rtol=1e-10)
    assert np.all(np.isfinite(out["pigments"].values))
    assert set(np.unique(out["pft_class"].values)) <= set(range(5))
    miss = ~ok
    assert log_rmse(out["pigments"].values, train["pigments_true"].values, miss) < 0.4


def test_bad_input(data):
    train, test = data
    with pytest.raises(TypeError, match="xarray.Dataset"):
        fit_phyto(train["rrs"])
    with pytest.raises(ValueError, match=r"lacks variable\(s\) \['sst'\]"):
        fit_phyto(train.drop_vars("sst"))
    bad = train.copy()
    bad["rrs"] = bad["rrs"].rename(band="wavelength")
    with pytest.raises(ValueError, match="dims"):
        fit_phyto(bad)
    neg = train.copy(deep=True)
    neg["rrs"][3, 2] = -0.001
    with pytest.raises(ValueError, match="positive"):
        fit_phyto(neg)
    inf = train.copy(deep=True)
    inf["sst"][5] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        fit_phyto(inf)
    empty = train.copy(deep=True)
    empty["rrs"][7] = np.nan
    empty["sst"][7] = np.nan
    empty["chl"][7] = np.nan
    with pytest.raises(ValueError, match="no satellite value"):
        fit_phyto(empty)
    with pytest.raises(ValueError, match="all-NaN sample"):
        retrieve_pigments(fit_phyto(train, rows=4, cols=4, n_epochs=2), empty)
    with pytest.raises(ValueError, match="too large for 1500 samples"):
        fit_phyto(train, rows=40, cols=40)
    nopig = train.copy(deep=True)
    nopig["pigments"][:, 2] = np.nan
    with pytest.raises(ValueError, match="at least 2 observed"):
        fit_phyto(nopig)
    with pytest.raises(ValueError, match="valid: auto, minisom, climlearn"):
        mean_filled_baseline(train, test, engine="sompy")
    with pytest.raises(ValueError, match="n_types"):
        make_phyto_dataset(100, n_types=9)


def test_cli_demo_quick(tmp_path):
    from climlearn.cli import main
    assert main(["phyto", "demo", "--out", str(tmp_path), "--quick", "--baseline",
                 "climlearn"]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["baseline_engine"] == "climlearn"
    assert m["ratio_test_retrieval"] < 0.9 and m["target_met"]
    for f in ("umatrix.png", "component_planes.png", "class_map.png", "retrieval_scatter.png"):
        assert (tmp_path / f).stat().st_size > 1000
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
