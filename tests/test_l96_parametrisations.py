"""Lorenz 96 parametrisations: registry, fits against known answers, export, training.

Truth comes from a small numpy two-scale Lorenz 96 (RK4) in this file, or from synthetic
``U = f(X) + AR(1) noise`` with known ``f``, ``phi`` and ``sigma``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from climlearn.export import checksum, load
from climlearn.testbeds.lorenz96.config import parse_config
from climlearn.testbeds.lorenz96.metrics import r2
from climlearn.testbeds.lorenz96.parametrisations import (
    AR1Noise,
    Parametrisation,
    available_parametrisations,
    get_parametrisation,
    stencil,
)
from climlearn.testbeds.lorenz96.train import SUMMARY_NAME, train_all

K = 8

# ---- truth ---------------------------------------------------------------------------


def two_scale_tendencies(x, y, forcing=20.0, h=1.0, b=10.0, c=10.0):
    """Two-scale Lorenz 96 (REFERENCE.md section 2); y is one ring of K*J values."""
    nk = x.shape[-1]
    hcb = h * c / b
    ysum = y.reshape(nk, -1).sum(-1)
    dx = (-np.roll(x, 1) * (np.roll(x, 2) - np.roll(x, -1)) - x + forcing - hcb * ysum)
    dy = (-c * b * np.roll(y, -1) * (np.roll(y, -2) - np.roll(y, 1)) - c * y
          + hcb * np.repeat(x, y.size // nk))
    return dx, dy


def two_scale_truth(nsamples: int, seed: int = 0, j: int = 32, dt: float = 0.001,
                    every: int = 5, spinup: int = 1000):
    """X and U = (h c / b) sum_j Y (h c / b = 1), sampled every 0.005 MTU after spin-up."""
    rng = np.random.default_rng(seed)
    x = 2.0 + 2.0 * rng.standard_normal(K)
    y = 0.1 * rng.standard_normal(K * j)

    def rk4(x, y):
        a1, b1 = two_scale_tendencies(x, y)
        a2, b2 = two_scale_tendencies(x + dt / 2 * a1, y + dt / 2 * b1)
        a3, b3 = two_scale_tendencies(x + dt / 2 * a2, y + dt / 2 * b2)
        a4, b4 = two_scale_tendencies(x + dt * a3, y + dt * b3)
        return (x + dt / 6 * (a1 + 2 * a2 + 2 * a3 + a4),
                y + dt / 6 * (b1 + 2 * b2 + 2 * b3 + b4))

    for _ in range(spinup):
        x, y = rk4(x, y)
    xs, us = np.empty((nsamples, K)), np.empty((nsamples, K))
    for n in range(nsamples):
        xs[n], us[n] = x, y.reshape(K, j).sum(-1)
        for _ in range(every):
            x, y = rk4(x, y)
    return xs, us


@pytest.fixture(scope="module")
def truth():
    return two_scale_truth(1500)


def ar1_series(ntime: int, phi: float, sigma: float, rng) -> np.ndarray:
    return AR1Noise(phi, sigma).sample(ntime, (K,), rng)


def smooth_state(ntime: int, rng) -> np.ndarray:
    """A state with L96-like range, varying smoothly in time (so noise, not x, is AR)."""
    t = np.arange(ntime)[:, None]
    phase = rng.uniform(0, 2 * np.pi, K)
    return 3.5 + 5.0 * np.sin(0.013 * t + phase) + 1.5 * rng.standard_normal((ntime, K))


NET_FAST = dict(hidden=[32, 32], epochs=40, batch_size=512, lr=1e-2, max_samples=16000,
                patience=40)


# ---- registry ------------------------------------------------------------------------

def test_registry_names_and_errors():
    assert available_parametrisations() == ["mlp_local", "mlp_nonlocal", "poly", "poly_ar1"]
    for name in available_parametrisations():
        p = get_parametrisation(name)
        assert isinstance(p, Parametrisation) and p.name == name and not p.fitted
    with pytest.raises(ValueError, match="unknown parametrisation 'rnn'; valid names are: "
                                         "mlp_local, mlp_nonlocal, poly, poly_ar1"):
        get_parametrisation("rnn")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['hidden'\]"):
        get_parametrisation("poly", hidden=[3])
    with pytest.raises(ValueError, match="'epochs' must be an integer >= 1, given 0"):
        get_parametrisation("mlp_local", epochs=0)


def test_stochastic_flags():
    assert not get_parametrisation("poly").stochastic
    assert get_parametrisation("poly_ar1").stochastic
    assert not get_parametrisation("mlp_local").stochastic
    assert get_parametrisation("mlp_nonlocal", noise="ar1").stochastic


def test_bad_training_data_and_unfitted_use(tmp_path):
    p = get_parametrisation("poly")
    with pytest.raises(ValueError, match="shape"):
        p.fit(np.zeros((10, K)), np.zeros((10, K - 1)), seed=0)
    with pytest.raises(ValueError, match="NaN"):
        p.fit(np.full((10, K), np.nan), np.zeros((10, K)), seed=0)
    with pytest.raises(RuntimeError, match="fit"):
        p.predict(np.zeros(K))
    with pytest.raises(RuntimeError, match="fit"):
        p.export(tmp_path)
    with pytest.raises(ValueError, match="2 s \\+ 1 <= K = 8, given s = 4"):
        get_parametrisation("mlp_nonlocal", halfwidth=4).fit(
            np.random.default_rng(0).normal(size=(50, K)), np.ones((50, K)), seed=0)


# ---- stencil -------------------------------------------------------------------------

def test_stencil_order_matches_a_hand_written_example():
    x = np.arange(8.0) * 10
    want = np.array([[60, 70, 0, 10, 20], [70, 0, 10, 20, 30], [0, 10, 20, 30, 40],
                     [10, 20, 30, 40, 50], [20, 30, 40, 50, 60], [30, 40, 50, 60, 70],
                     [40, 50, 60, 70, 0], [50, 60, 70, 0, 10]], dtype=float)
    np.testing.assert_array_equal(stencil(x, 2), want)
    np.testing.assert_array_equal(stencil(x, 0), x[:, None])
    batch = np.stack([x, x + 1])[None]  # leading shape (1, 2)
    out = stencil(batch, 1)
    assert out.shape == (1, 2, 8, 3)
    np.testing.assert_array_equal(out[0, 1, 0], [71, 1, 11])
    with pytest.raises(ValueError, match="halfwidth"):
        stencil(x, -1)


# ---- AR(1) noise ---------------------------------------------------------------------

def test_ar1_fit_recovers_phi_and_sigma():
    rng = np.random.default_rng(0)
    e = ar1_series(20000, 0.9, 1.5, rng)
    noise = AR1Noise.fit(e)
    # standard errors: phi sqrt((1 - phi^2) / n) = 0.0011; sigma about 0.8 %
    assert noise.phi == pytest.approx(0.9, abs=0.006)
    assert noise.sigma == pytest.approx(1.5, rel=0.04)
    assert noise.to_dict() == {"phi": noise.phi, "sigma": noise.sigma}
    with pytest.raises(ValueError, match="phi"):
        AR1Noise(1.0, 1.0)


def test_ar1_step_has_the_published_form():
    noise = AR1Noise(0.8, 2.0)
    e, z = np.array([1.0, -2.0]), np.array([0.5, 0.1])
    np.testing.assert_allclose(noise.step(e, z=z), 0.8 * e + 2.0 * np.sqrt(1 - 0.64) * z)


# ---- polynomials ---------------------------------------------------------------------

def test_poly_recovers_known_coefficients_and_exports_them(tmp_path):
    rng = np.random.default_rng(1)
    coeffs = [0.275, 1.59, -0.0190, -0.0130, 0.000707]  # Wilks 2005, F = 18
    x = smooth_state(2000, rng)
    u = np.polynomial.polynomial.polyval(x, coeffs) + 0.01 * rng.standard_normal(x.shape)
    p = get_parametrisation("poly")
    info = p.fit(x, u, seed=0)
    np.testing.assert_allclose(p.coeffs, coeffs, rtol=0.02, atol=2e-4)
    assert info["train_r2"] > 0.9999 and info["degree"] == 4
    assert p.noise_params() is None
    spec = p.export(tmp_path)
    assert spec == {"kind": "poly", "coeffs": list(p.coeffs), "phi": 0.0, "sigma": 0.0}
    assert all(isinstance(v, float) for v in spec["coeffs"])
    record = json.loads((tmp_path / "poly.json").read_text())
    assert record["spec"] == spec and record["options"] == {"degree": 4}
    # predict: any leading shape, float64
    assert p.predict(x[None, :5]).shape == (1, 5, K)
    assert p.predict(x.astype(np.float32)).dtype == np.float64


def test_poly_ar1_recovers_cubic_phi_and_sigma(tmp_path):
    rng = np.random.default_rng(2)
    coeffs, phi, sigma = [0.34, 1.3, -0.0136, -0.00235], 0.95, 1.0
    x = smooth_state(20000, rng)
    u = np.polynomial.polynomial.polyval(x, coeffs) + ar1_series(20000, phi, sigma, rng)
    p = get_parametrisation("poly_ar1")
    info = p.fit(x, u, seed=0)
    assert len(p.coeffs) == 4
    np.testing.assert_allclose(p.coeffs, coeffs, rtol=0.1, atol=0.02)
    # sampling errors: phi about 0.001, sigma about 1.3 % (effective n = n (1-phi)/(1+phi))
    assert p.noise.phi == pytest.approx(phi, abs=0.006)
    assert p.noise.sigma == pytest.approx(sigma, rel=0.06)
    assert info["phi"] == p.noise.phi and info["sigma"] == p.noise.sigma
    spec = p.export(tmp_path)
    assert set(spec) == {"kind", "coeffs", "phi", "sigma"} and spec["kind"] == "poly"
    assert (spec["phi"], spec["sigma"]) == (p.noise.phi, p.noise.sigma)
    assert p.noise_params() == {"phi": spec["phi"], "sigma": spec["sigma"]}


# ---- networks ------------------------------------------------------------------------

def known_function(x):
    return 2.0 * np.sin(0.5 * x) + 0.05 * x ** 2


@pytest.fixture(scope="module")
def local_fit(tmp_path_factory):
    rng = np.random.default_rng(3)
    x = smooth_state(2000, rng)
    u = known_function(x)
    p = get_parametrisation("mlp_local", **NET_FAST)
    info = p.fit(x, u, seed=11, progress=False)
    out = tmp_path_factory.mktemp("mlp_local")
    return p, info, x, u, p.export(out, metadata={"forcing": 20.0}), out


def test_mlp_local_fits_a_smooth_function(local_fit):
    p, info, x, u, _, _ = local_fit
    assert info["val_r2"] > 0.999
    assert r2(u, p.predict(x)) > 0.999
    assert info["best_val_loss"] == min(info["history"]["val"])
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= 40
    if info["stopped_early"]:
        assert info["epochs_run"] - info["best_epoch"] == 40


def test_best_checkpoint_is_restored(local_fit):
    p, info, x, u, _, _ = local_fit
    n_val = round(0.1 * len(x))
    x_va, u_va = x[-n_val:], u[-n_val:]  # all validation samples are used: 200 * 8 < 16000
    mse = np.mean((p.predict(x_va) - u_va) ** 2) / p.u_stats[1] ** 2
    assert mse == pytest.approx(info["best_val_loss"], rel=1e-4)


def test_exported_network_reproduces_predict_and_carries_its_card(local_fit):
    p, info, x, u, spec, out = local_fit
    assert spec == {"kind": "network", "model_path": str((out / "mlp_local.pt").resolve()),
                    "halfwidth": 0, "phi": 0.0, "sigma": 0.0}
    module, card = load(spec["model_path"])
    xs = torch.tensor(stencil(x[:300], 0).reshape(-1, 1), dtype=torch.float32)
    with torch.no_grad():
        got = module(xs).numpy().reshape(300, K)
    np.testing.assert_allclose(got, p.predict(x[:300]), rtol=1e-5, atol=1e-5)
    assert card["inputs"][0]["name"] == "X" and card["inputs"][0]["shape"] == [None, 1]
    assert card["outputs"][0]["name"] == "U" and card["outputs"][0]["shape"] == [None, 1]
    assert card["inputs"][0]["units"] == "1" and card["outputs"][0]["units"] == "1"
    assert card["inputs"][0]["dtype"] == "float32"
    assert "sub-grid" in card["outputs"][0]["long_name"]
    assert card["seed"] == 11
    assert card["training_data"]["checksum"] == checksum(x, u)
    assert card["metrics"]["best_val_loss"] == pytest.approx(info["best_val_loss"])
    assert card["metadata"]["forcing"] == 20.0
    assert json.loads((out / "mlp_local.json").read_text())["spec"] == spec


def test_mlp_nonlocal_learns_stencil_weights_in_order(tmp_path):
    """A linear network (no hidden layer) on U_k = sum_j a_j X_{k-2+j}: its weights, in
    physical units, are a_0..a_4 in stencil order, in the network and in the file."""
    rng = np.random.default_rng(4)
    a = np.array([0.5, -1.0, 2.0, 0.25, -0.75])
    x = smooth_state(1500, rng)
    u = stencil(x, 2) @ a
    p = get_parametrisation("mlp_nonlocal", halfwidth=2, hidden=[], epochs=40,
                            batch_size=256, lr=2e-2, max_samples=12000, patience=40,
                            dtype="float64")
    p.fit(x, u, seed=0, progress=False)
    w = p.net.net[0].weight.detach().numpy().ravel() * p.u_stats[1] / p.x_stats[1]
    np.testing.assert_allclose(w, a, atol=1e-4)
    spec = p.export(tmp_path)
    assert spec["halfwidth"] == 2 and spec["kind"] == "network"
    module, card = load(spec["model_path"])
    assert card["inputs"][0]["shape"] == [None, 5] and card["inputs"][0]["dtype"] == "float64"
    probe = np.zeros((1, 5))
    probe[0, 3] = 1.0  # only X_{k+1} differs from zero: the response is a_3 (+ offset)
    base = module(torch.zeros(1, 5, dtype=torch.float64)).item()
    assert module(torch.tensor(probe)).item() - base == pytest.approx(a[3], abs=1e-4)
    with torch.no_grad():
        got = module(torch.tensor(stencil(x[:50], 2).reshape(-1, 5))).numpy()
    np.testing.assert_allclose(got.reshape(50, K), p.predict(x[:50]), rtol=1e-12,
                               atol=1e-12)


def test_seeded_training_is_reproducible():
    rng = np.random.default_rng(5)
    x = smooth_state(600, rng)
    u = known_function(x)
    opts = dict(NET_FAST, epochs=3, halfwidth=1)
    fits = []
    for seed in (7, 7, 8):
        p = get_parametrisation("mlp_nonlocal", **opts)
        p.fit(x, u, seed=seed, progress=False)
        fits.append(p)
    a, b, c = (f.net.state_dict() for f in fits)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert fits[0].info["history"] == fits[1].info["history"]
    np.testing.assert_array_equal(fits[0].predict(x), fits[1].predict(x))


def test_network_with_ar1_noise_fits_its_residuals(tmp_path):
    rng = np.random.default_rng(6)
    x = smooth_state(4000, rng)
    u = known_function(x) + ar1_series(4000, 0.9, 1.0, rng)
    p = get_parametrisation("mlp_local", noise="ar1", **NET_FAST)
    p.fit(x, u, seed=0, progress=False)
    # the residuals are the noise plus a small fitting error
    assert p.noise.phi == pytest.approx(0.9, abs=0.05)
    assert p.noise.sigma == pytest.approx(1.0, rel=0.1)
    spec = p.export(tmp_path)
    assert (spec["phi"], spec["sigma"]) == (p.noise.phi, p.noise.sigma)
    assert load(spec["model_path"])[1]["metadata"]["noise"]["kind"] == "ar1"


# ---- train_all on two-scale Lorenz 96 ------------------------------------------------

def test_train_all_on_two_scale_truth(truth, tmp_path):
    x, u = truth
    net = {"hidden": [16, 16], "epochs": 3, "batch_size": 512, "max_samples": 4000}
    cfg = parse_config({"seed": 3, "forcing": 20.0, "parametrisations": {
        "poly_ar1": None, "mlp_nonlocal": dict(net, halfwidth=1), "poly": {"degree": 4},
        "mlp_local": net}})
    results = train_all(cfg, x, u, tmp_path, progress=False)
    assert list(results) == ["mlp_local", "mlp_nonlocal", "poly", "poly_ar1"]
    for name, res in results.items():
        assert res["param"].fitted and res["param"].name == name
        spec = res["spec"]
        assert set(spec) == ({"kind", "model_path", "halfwidth", "phi", "sigma"}
                             if name.startswith("mlp") else {"kind", "coeffs", "phi", "sigma"})
        if spec["kind"] == "network":
            assert load(spec["model_path"])[1]["seed"] == 3
    # U is mostly a function of X: the quartic explains most of its variance
    assert results["poly"]["info"]["train_r2"] > 0.7
    # the residual noise is red at the 0.005 MTU sampling interval
    assert 0.5 < results["poly_ar1"]["spec"]["phi"] < 1.0
    summary = json.loads((tmp_path / SUMMARY_NAME).read_text())
    assert summary["training_data"]["checksum"] == checksum(x, u)
    assert summary["config"]["seed"] == 3
    assert summary["parametrisations"]["poly"]["spec"] == results["poly"]["spec"]
