"""The Betts-Miller input features of the ``bm_mlp`` convection emulator: the Fortran
routine (``cp_bm_features``) against numpy, their link to the scheme's tendencies, the
cloud-layer closure applied after the network, and the host computing the same features
as the Python training (one emulated host step, through cl_layout_forward, against
Python column by column)."""

import shutil

import numpy as np
import pytest
import torch

from climlearn.testbeds.column import physics as ph
from climlearn.testbeds.column.data import generate_reference
from climlearn.testbeds.column.emulators import cloud_layer_closure, get_emulator
from climlearn.testbeds.column.train import columns_xy, train_emulator

from .test_column_physics import _convective_states, _numpy_parcel

DTIME = 1800.0


def _dp(grid):
    return grid.paprs[:, :-1] - grid.paprs[:, 1:]


def _numpy_features(grid, t, q):
    """Independent numpy features: parcel T_ref, cloud layer to the highest buoyant level
    with p > 100 hPa and positive CAPE, departures on it."""
    dp, pl = _dp(grid), grid.pplay
    tdep, qdep, mask, deep = (np.zeros_like(t) for _ in range(4))
    for i in range(t.shape[0]):
        qc = np.maximum(q[i], 0.0)
        tref = _numpy_parcel(t[i, 0], qc[0], pl[i])
        buoyant = np.nonzero((pl[i, 1:] > 1e4) & (tref[1:] > t[i, 1:]))[0]
        if buoyant.size == 0:
            continue
        s = slice(0, buoyant[-1] + 2)
        if (ph.RD * (tref[s] - t[i, s]) * dp[i, s] / pl[i, s]).sum() <= 0:
            continue
        mask[i, s] = 1.0
        tdep[i, s] = tref[s] - t[i, s]
        qdep[i, s] = 0.7 * ph.qsat(tref[s], pl[i, s]) - qc[s]
        if (qdep[i, s] * dp[i, s]).sum() < 0 and (tdep[i, s] * dp[i, s]).sum() > 0:
            deep[i, s] = 1.0
    return tdep, qdep, mask, deep


def test_features_match_numpy_and_the_scheme():
    grid = ph.ColumnGrid(klon=24, klev=20)
    t, q = _convective_states(grid)
    q[[0, 3, 6, 9]] *= 0.05  # dry columns: no convection
    tdep, qdep, mask, deep = ph.bm_features(t, q, grid)
    ref = _numpy_features(grid, t, q)
    np.testing.assert_array_equal(mask, ref[2])
    np.testing.assert_array_equal(deep, ref[3])
    np.testing.assert_allclose(tdep, ref[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(qdep, ref[1], rtol=0, atol=1e-13)
    # The mask is where the scheme acts: it fires exactly on the masked columns, never
    # above the cloud top; it rains exactly on the deep columns, where it relaxes q to
    # q_ref: dq dt = r qdep.
    dtdt, dqdt, pr = ph.convection(t, q, grid, DTIME)
    fired = np.abs(dtdt).max(axis=1) > 0
    assert 0 < fired.sum() < grid.klon
    np.testing.assert_array_equal(fired, mask.max(axis=1) > 0)
    assert np.all(dtdt[mask == 0] == 0) and np.all(dqdt[mask == 0] == 0)
    r = 1.0 - np.exp(-DTIME / 7200.0)
    rains = pr > 0
    assert rains.sum() >= 3
    np.testing.assert_array_equal(rains, deep.max(axis=1) > 0)
    np.testing.assert_allclose(dqdt[rains] * DTIME, r * qdep[rains], rtol=0, atol=1e-13)


def test_cloud_layer_closure_zero_outside_and_conserves_enthalpy():
    """The closure the host applies to a bm_mlp's output: exactly zero outside the cloud
    layer, column enthalpy conserved, the correction a uniform dT over the layer."""
    klev = 20
    grid = ph.ColumnGrid(klon=24, klev=klev)
    t, q = _convective_states(grid, seed=3)
    q[[0, 3, 6, 9]] *= 0.05
    mask = ph.bm_features(t, q, grid)[2]
    assert 0 < mask[:, 0].sum() < grid.klon
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(0, 1e-4, (24, klev)), rng.normal(0, 1e-7, (24, klev))],
                       axis=1)
    dp = _dp(grid)
    out = cloud_layer_closure(torch.as_tensor(y), torch.as_tensor(mask),
                              torch.as_tensor(dp)).numpy()
    m2 = np.concatenate([mask, mask], axis=1)
    assert np.all(out[m2 == 0] == 0.0)
    np.testing.assert_array_equal(out[:, klev:], y[:, klev:] * mask)
    shift = out[:, :klev] - y[:, :klev] * mask
    resid = ((ph.CP * out[:, :klev] + ph.LV * out[:, klev:]) * dp).sum(axis=1)
    scale = ((ph.CP * np.abs(y[:, :klev]) + ph.LV * np.abs(y[:, klev:])) * dp).sum(axis=1)
    assert np.all(np.abs(resid) < 1e-12 * scale)
    for i in np.nonzero(mask[:, 0])[0]:
        on = mask[i] == 1
        np.testing.assert_allclose(shift[i, on], shift[i, on][0], rtol=1e-12)
    # The emulator itself is a plain MLP (runs on libclimlearn's native kernel).
    net = get_emulator("bm_mlp", klev, hidden=[8])
    assert net(torch.zeros(3, 6 * klev)).shape == (3, 2 * klev)


@pytest.fixture(scope="module")
def bm_model(tmp_path_factory):
    """A small bm_mlp trained for two epochs on a short reference run."""
    d = tmp_path_factory.mktemp("bm")
    ds = generate_reference(ph.ColumnGrid(klon=4, klev=20), spinup_days=0, length_days=20,
                            every=2)
    x, y = columns_xy(ds, "bm")
    assert x.shape == (ds.sizes["time"] * 4, 120) and y.shape[1] == 40
    with pytest.raises(ValueError, match="valid"):
        columns_xy(ds, "tqz")
    em = {"name": "bm_mlp", "options": {"hidden": [16, 16]}, "epochs": 2,
          "batch_size": 64, "lr": 1e-3, "test_fraction": 0.2, "max_samples": 2000}
    fit = train_emulator(ds, em, d / "conv.pt")
    assert fit["features"] == "bm" and fit["trigger_accuracy"] == 1.0
    from climlearn.export import read_card

    assert "native" in read_card(fit["path"])
    return fit["path"]


@pytest.mark.skipif(shutil.which("mpif90") is None, reason="OpenMPI (mpif90) not installed")
def test_host_features_equal_python(bm_model, tmp_path):
    """One host step with a 6*klev-input model (features computed by the host, the
    network called through cl_layout_forward) equals the Python features + the model
    per column + the cloud-layer closure + the documented constraints."""
    from climlearn.testbeds.column.dagger import constrain
    from climlearn.testbeds.column.online import build_host, run_host

    grid = ph.ColumnGrid(klon=6, klev=20)
    exe = build_host(tmp_path / "host")
    out = run_host(exe, tmp_path, klon=6, klev=20, nsteps=1, every=1, scheme="ml",
                   model_path=bm_model, name="one")
    t, q = ph.initial_state(grid)
    st = ph.physics_step(t, q, grid, DTIME, conv=False, lsc=False)
    feats = ph.bm_features(st["t"], st["q"], grid)
    assert feats[2].max(axis=1).sum() > 0  # some columns convect
    net = torch.jit.load(bm_model)
    rows = []
    for i in range(grid.klon):
        x = np.concatenate([st["t"][i], st["q"][i], *(f[i] for f in feats)])
        rows.append(net(torch.tensor(x[None], dtype=torch.float32)).detach().double()
                    .numpy()[0])
    y = cloud_layer_closure(torch.as_tensor(np.array(rows)), torch.as_tensor(feats[2]),
                            torch.as_tensor(_dp(grid))).numpy()
    dt, dq = constrain(st["t"], st["q"], y[:, :20], y[:, 20:], _dp(grid), DTIME)
    np.testing.assert_allclose(out["dtconv_mean"], dt, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(out["dqconv_mean"], dq, rtol=1e-4, atol=1e-12)
    assert np.abs(out["dtconv_mean"]).max() > 0
    # A model whose input size is neither 2*klev nor 6*klev: a clear error.
    from climlearn.export import to_torchscript
    from climlearn.models import MLP

    bad = to_torchscript(MLP(60, 40, hidden=[4]), tmp_path / "bad.pt",
                         example_inputs=torch.zeros(2, 60), output_names=["y"])
    with pytest.raises(RuntimeError, match=r"takes 60 inputs per column; the host provides "
                                           r"2\*klev = 40 .* or 6\*klev = 120"):
        run_host(exe, tmp_path, klon=6, klev=20, nsteps=1, scheme="ml", model_path=bad,
                 name="bad")
