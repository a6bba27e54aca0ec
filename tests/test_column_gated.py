"""The physically structured convection emulator (gated_mlp) and the on-policy (DAgger)
data path: enthalpy projection, exact zeros of the trigger, features, labelling."""

import numpy as np
import pytest
import torch

from climlearn.testbeds.column import physics as ph
from climlearn.testbeds.column.dagger import constrain, emulated_run, label_states
from climlearn.testbeds.column.emulators import get_emulator
from climlearn.testbeds.column.train import layer_thickness


def _grid_dp(grid):
    return grid.paprs[0, :-1] - grid.paprs[0, 1:]


def test_projection_conserves_enthalpy_and_trigger_gives_exact_zeros():
    torch.manual_seed(0)
    klev = 20
    grid = ph.ColumnGrid(klon=6, klev=klev)
    net = get_emulator("gated_mlp", klev, hidden=[16])
    dp = _grid_dp(grid)
    ys = np.array([1e-4] * klev + [1e-7] * klev)
    w = np.concatenate([ph.CP * dp, ph.LV * dp]) / ph.GRAV * ys
    active = np.ones(2 * klev, bool)
    active[[18, 19, 38, 39]] = False
    net.set_constraints(torch.as_tensor(w), torch.as_tensor(active))
    net.set_pressure(torch.as_tensor(grid.pplay[0]))
    t, q = ph.initial_state(grid)
    x = torch.as_tensor(np.concatenate([t, q], 1), dtype=torch.float32)
    net.set_feature_stats(x)
    with torch.no_grad():
        yp, logit = net.parts(x)
        y = net(x)
    yp = yp.double().numpy()
    # Enthalpy residual of the projected output is round-off of float32 sums.
    resid = yp @ w
    scale = np.abs(yp * w).sum(axis=1)
    assert np.all(np.abs(resid) <= 1e-5 * scale)
    assert np.all(yp[:, ~active] == 0)
    # Columns with a negative logit get exactly zero, the others the projected output.
    off = logit.numpy() <= 0
    assert np.all(y.numpy()[off] == 0)
    np.testing.assert_array_equal(y.numpy()[~off], yp[~off].astype(np.float32))
    with pytest.raises(ValueError, match="must have 40 values"):
        net.set_constraints(torch.ones(3), torch.ones(40))


def test_features_match_numpy():
    """RH and the moist-static-energy buoyancy proxy against a numpy computation."""
    grid = ph.ColumnGrid(klon=3, klev=20)
    net = get_emulator("gated_mlp", 20, hidden=[8]).double()
    net.set_pressure(torch.as_tensor(grid.pplay[0]))
    t, q = ph.initial_state(grid, rh=0.6)
    f = net.raw_features(torch.as_tensor(np.concatenate([t, q], 1))).numpy()
    p = grid.pplay
    qs = ph.qsat(t, p)
    np.testing.assert_allclose(f[:, 20:40], q / qs, rtol=1e-10)
    gz = np.zeros_like(t)
    for k in range(1, 20):
        gz[:, k] = gz[:, k - 1] + ph.RD * 0.5 * (t[:, k] + t[:, k - 1]) * np.log(
            p[:, k - 1] / p[:, k])
    b = (ph.CP * t[:, :1] + ph.LV * q[:, :1] - (ph.CP * t + gz + ph.LV * qs)) / ph.CP
    np.testing.assert_allclose(f[:, 40:], b, rtol=1e-9, atol=1e-9)


def test_layer_thickness_from_dataset():
    from climlearn.testbeds.column.data import generate_reference

    grid = ph.ColumnGrid(klon=2, klev=20)
    ds = generate_reference(grid, spinup_days=0, length_days=1, every=24)
    dp, pfull = layer_thickness(ds)
    np.testing.assert_allclose(dp, _grid_dp(grid), rtol=1e-12)
    np.testing.assert_allclose(pfull, grid.pplay[0], rtol=1e-12)


def test_constrain_and_labels(tmp_path):
    """constrain: bounds, q >= 0 after the step, zero column enthalpy change; labels are
    the reference tendencies; an emulated run collects states at the right cadence."""
    rng = np.random.default_rng(0)
    grid = ph.ColumnGrid(klon=4, klev=20)
    t, q = ph.initial_state(grid)
    dp = grid.paprs[:, :-1] - grid.paprs[:, 1:]
    d_t = rng.normal(0, 1e-4, t.shape)
    d_q = rng.normal(0, 1e-7, t.shape)
    ct, cq = constrain(t, q, d_t, d_q, dp, 1800.0)
    assert np.all(q + 1800.0 * cq >= -1e-18)  # q >= 0 up to round-off
    resid = ((ph.CP * ct + ph.LV * cq) * dp).sum(axis=1) / ph.GRAV
    np.testing.assert_allclose(resid, 0.0, atol=1e-9)
    ds = label_states(np.stack([t, t + 1.0]), np.stack([q, q]), grid, 1800.0)
    ref_t, ref_q, _ = ph.convection(t + 1.0, q, grid, 1800.0)
    np.testing.assert_array_equal(ds["tnta_conv"].values[1], ref_t)
    np.testing.assert_array_equal(ds["tnhus_conv"].values[1], ref_q)
    # A zero network (untrained gated_mlp with a closed trigger) leaves convection off.
    net = get_emulator("gated_mlp", 20, hidden=[4])
    with torch.no_grad():
        net.body.net[-1].bias[-1] = -1.0e3
        net.body.net[-1].weight[-1] = 0.0
    path = tmp_path / "zero.pt"
    torch.jit.script(net).save(str(path))
    res = emulated_run(path, grid, 1800.0, 12, every=4)
    assert res["t"].shape == (3, 4, 20) and res["blowup_step"] == 0
    st_t, st_q = ph.initial_state(grid)
    for _ in range(4):
        s = ph.physics_step(st_t, st_q, grid, 1800.0, conv=False, lsc=False)
        st_t, st_q = s["t"], s["q"]
        if _ < 3:
            st_t, st_q, _p = ph.large_scale_condensation(st_t, st_q, grid, 1800.0)
    np.testing.assert_allclose(res["t"][0], st_t, rtol=1e-12)
