"""Lorenz 96 truth data: CF NetCDF files made by the Fortran model through xarray."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest
import xarray as xr

from climlearn.testbeds.lorenz96 import data, physics
from climlearn.testbeds.lorenz96.physics import L96Params

STD = L96Params()


@pytest.fixture(scope="module")
def truth():
    # 6 MTU: longer than one integration chunk, so chunk boundaries are exercised
    return data.generate_truth(STD, seed=3, spinup_mtu=0.5, length_mtu=6.0, progress=False)


def test_truth_has_shapes_coordinates_and_units(truth):
    assert truth["X"].dims == ("time", "k") and truth["X"].shape == (1200, 8)
    assert truth["U"].dims == ("time", "k") and truth["U"].shape == (1200, 8)
    assert truth["Y"].dims == ("time", "k", "j") and truth["Y"].shape == (1200, 8, 32)
    np.testing.assert_allclose(truth["time"], 0.005 * np.arange(1, 1201))
    np.testing.assert_array_equal(truth["k"], np.arange(1, 9))
    np.testing.assert_array_equal(truth["j"], np.arange(1, 33))
    assert truth["time"].attrs["units"] == "MTU"
    assert truth["time"].attrs["long_name"] == "time in model time units"
    for name in ("X", "Y", "U", "k", "j"):
        assert truth[name].attrs["units"] == "1"
        assert truth[name].attrs["long_name"]
    assert all(np.isfinite(truth[v]).all() for v in ("X", "Y", "U"))
    # chaotic, of the attractor's size at F = 20 (X mostly within [-12, 17])
    assert -20 < float(truth["X"].min()) < -5 and 10 < float(truth["X"].max()) < 25


def test_truth_attributes_hold_parameters_and_seed(truth):
    a = truth.attrs
    assert a["Conventions"] == "CF-1.10"
    assert a["title"] and a["history"] and a["source"]
    for key, value in STD.as_dict().items():
        assert a[key] == value
    assert a["seed"] == 3 and a["dt"] == 0.001 and a["sample_interval"] == 0.005
    assert a["spinup"] == 0.5 and a["length"] == pytest.approx(6.0)
    assert a["integrator"] == "RK4"


def test_u_is_the_coupling_term_of_y(truth):
    u = STD.h * STD.c / STD.b * truth["Y"].values.sum(axis=-1)
    np.testing.assert_allclose(truth["U"].values, u, rtol=1e-12, atol=1e-12)


def test_truth_is_the_fortran_run_from_the_seeded_state(truth):
    """Chunked generation = one Fortran run after spin-up from initial_state(seed)."""
    x0, y0 = data.initial_state(STD, 3)
    *_, x, y = physics.run_two_scale(x0, y0, STD, 0.001, 500, 500, return_state=True)
    xs, ys, us = physics.run_two_scale(x, y, STD, 0.001, 6000, 5)
    np.testing.assert_array_equal(truth["X"].values, xs)
    np.testing.assert_array_equal(truth["Y"].values.reshape(1200, 256), ys)
    np.testing.assert_array_equal(truth["U"].values, us)


def test_seed_reproduces_and_differs():
    kw = {"spinup_mtu": 0.1, "length_mtu": 0.2, "progress": False}
    a = data.generate_truth(STD, 5, **kw)
    b = data.generate_truth(STD, 5, **kw)
    c = data.generate_truth(STD, 6, **kw)
    np.testing.assert_array_equal(a["X"], b["X"])
    assert not np.allclose(a["X"], c["X"])


def test_netcdf_round_trip_with_cf_attributes(tmp_path, truth):
    path = data.write_netcdf(truth, tmp_path / "sub" / "truth.nc")
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["truth.nc"]  # no temporary left
    with netCDF4.Dataset(path) as nc:  # the file itself, not xarray's view of it
        assert nc.getncattr("Conventions") == "CF-1.10"
        assert nc.getncattr("seed") == 3 and nc.getncattr("F") == 20.0
        assert nc["time"].units == "MTU"
        assert nc["time"].long_name == "time in model time units"
        for name in ("X", "Y", "U"):
            assert nc[name].units == "1" and nc[name].long_name
        assert nc["Y"].dimensions == ("time", "k", "j")
    back = data.load_truth(path)
    xr.testing.assert_identical(back, truth)


def test_float32_y_and_no_y(tmp_path):
    kw = {"spinup_mtu": 0.1, "length_mtu": 0.1, "progress": False}
    d64 = data.generate_truth(STD, 1, **kw)
    d32 = data.generate_truth(STD, 1, y_dtype="float32", **kw)
    assert d32["Y"].dtype == np.float32 and d32["X"].dtype == np.float64
    np.testing.assert_allclose(d32["Y"], d64["Y"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(d32["U"], d64["U"])  # U from the float64 state
    no_y = data.generate_truth(STD, 1, store_y=False, **kw)
    assert "Y" not in no_y and "j" not in no_y.coords
    np.testing.assert_array_equal(no_y["U"], d64["U"])
    back = data.load_truth(data.write_netcdf(d32, tmp_path / "t32.nc"))
    assert back["Y"].dtype == np.float32


def test_write_is_atomic(tmp_path, truth, monkeypatch):
    path = tmp_path / "truth.nc"
    path.write_bytes(b"old contents")

    def broken(self, target, *args, **kwargs):
        with open(target, "wb") as fh:
            fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        data.write_netcdf(truth, path)
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["truth.nc"]


def test_load_truth_errors(tmp_path):
    missing = tmp_path / "nope.nc"
    with pytest.raises(FileNotFoundError, match="nope.nc"):
        data.load_truth(missing)
    other = tmp_path / "other.nc"
    xr.Dataset({"T": ("t", np.zeros(3))}).to_netcdf(other)
    with pytest.raises(ValueError, match=r"lacks the variables \['X', 'U'\]"):
        data.load_truth(other)


def test_standard_datasets_quick(tmp_path):
    paths = data.standard_datasets(tmp_path, seed=4, quick=True, progress=False)
    assert set(paths) == {"train", "test"}
    train, test = data.load_truth(paths["train"]), data.load_truth(paths["test"])
    assert train.attrs["seed"] == 4 and test.attrs["seed"] == 4 + data.TEST_SEED_OFFSET
    assert train.sizes["time"] == round(data.QUICK["train_mtu"] / 0.005)
    assert test.sizes["time"] == round(data.QUICK["test_mtu"] / 0.005)
    assert train.attrs["spinup"] == data.QUICK["spinup_mtu"]
    assert train["Y"].dtype == np.float32
    assert not np.allclose(train["X"][:100], test["X"][:100])
    # a second call reuses files made with the same settings, overwrite regenerates
    mtimes = {k: p.stat().st_mtime_ns for k, p in paths.items()}
    again = data.standard_datasets(tmp_path, seed=4, quick=True, progress=False)
    assert {k: p.stat().st_mtime_ns for k, p in again.items()} == mtimes
    data.standard_datasets(tmp_path, seed=5, quick=True, store_y=False, progress=False)
    assert data.load_truth(paths["train"]).attrs["seed"] == 5
    assert "Y" not in data.load_truth(paths["train"])


@pytest.mark.parametrize("kwargs, match", [
    ({"dt": -0.001}, r"dt.*> 0.*-0\.001"),
    ({"spinup_mtu": -1.0}, r"spinup_mtu.*>= 0.*-1\.0"),
    ({"length_mtu": 0.0}, r"length_mtu.*> 0.*0\.0"),
    ({"length_mtu": 0.0123}, r"length_mtu.*multiple of 0\.005.*0\.0123"),
    ({"sample_mtu": 0.0025}, r"sample_mtu.*multiple of 0\.001.*0\.0025"),
    ({"seed": -1}, r"seed.*non-negative.*-1"),
    ({"y_dtype": "float16"}, r"y_dtype.*float16"),
    ({"params": "standard"}, r"L96Params"),
])
def test_bad_arguments_give_clear_errors(kwargs, match):
    args = {"params": STD, "seed": 0, "spinup_mtu": 0.1, "length_mtu": 0.1, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.generate_truth(**args, progress=False)
