"""The ocean basin's Fortran physics against numpy references and analytic properties."""

from __future__ import annotations

import numpy as np
import pytest

from climlearn.testbeds.ocean import physics as op

GRID = op.OceanGrid(jpi=12, jpj=10, jpk=20)


def pp_numpy(t, u, v, e3w, c):
    """Pacanowski & Philander (1981) + enhanced diffusion, written from the formulas."""
    n2 = c["grav"] * c["alpha_t"] * (t[..., :-1] - t[..., 1:]) / e3w
    s2 = ((u[..., :-1] - u[..., 1:]) ** 2 + (v[..., :-1] - v[..., 1:]) ** 2) / e3w**2
    ri = np.maximum(n2, 0.0) / np.maximum(s2, c["s2_min"])
    f = 1.0 / (1.0 + c["pp_alpha"] * ri)
    nu = c["pp_nu0"] * f ** c["pp_n"] + c["pp_nub"]
    kappa = nu * f + c["pp_kappab"]
    unstable = n2 <= c["n2_evd"]
    return np.where(unstable, c["rn_evd"], kappa), np.where(unstable, c["rn_evd"], nu)


def random_state(grid, seed=0):
    """The initial state plus noise: unstable, sheared and quiet interfaces all occur."""
    rng = np.random.default_rng(seed)
    s = op.initial_state(grid)
    shape = s["t"].shape
    return {"t": s["t"] + rng.normal(0, 0.3, shape),
            "u": rng.normal(0, 0.1, shape) * (rng.random(shape) < 0.7),
            "v": rng.normal(0, 0.05, shape)}


def test_constants_are_the_published_pp_values():
    c = op.constants()
    assert (c["pp_nu0"], c["pp_alpha"], c["pp_n"], c["pp_nub"], c["pp_kappab"]) == (
        1e-2, 5.0, 2.0, 1e-4, 1e-5)


def test_grid_geometry():
    e3t, e3w, gdept, gdepw = GRID.e3t, GRID.e3w, GRID.gdept, GRID.gdepw
    assert e3t[0] == pytest.approx(10.0) and e3t[-1] == pytest.approx(250.0)
    assert np.all(np.diff(e3t) > 0)
    np.testing.assert_allclose(gdepw[-1], e3t.sum(), rtol=1e-14)
    np.testing.assert_allclose(gdept, 0.5 * (gdepw[:-1] + gdepw[1:]), rtol=1e-14)
    np.testing.assert_allclose(e3w, 0.5 * (e3t[:-1] + e3t[1:]), rtol=1e-14)


def test_mask_is_a_closed_basin_with_land_inside():
    m = op.OceanGrid(jpi=24, jpj=20, jpk=4).mask
    assert m.dtype == np.int32 and set(np.unique(m)) == {0, 1}
    assert not m[0].any() and not m[-1].any() and not m[:, 0].any() and not m[:, -1].any()
    assert (m[1:-1, 1:-1] == 0).sum() > 0          # peninsula and island
    assert 0.6 < m[1:-1, 1:-1].mean() < 0.97


@pytest.mark.parametrize("seed", [0, 1])
def test_mixing_matches_numpy_reference(seed):
    s = random_state(GRID, seed)
    avt, avm = op.mixing(GRID, s["t"], s["u"], s["v"], fill=-999.0)
    want_t, want_m = pp_numpy(s["t"], s["u"], s["v"], GRID.e3w, op.constants())
    water = GRID.mask == 1
    np.testing.assert_allclose(avt[water], want_t[water], rtol=1e-13, atol=0)
    np.testing.assert_allclose(avm[water], want_m[water], rtol=1e-13, atol=0)
    # all three regimes are exercised
    assert (avt[water] == 10.0).any() and (avt[water] < 2e-5).any()
    assert ((avm[water] > 1e-3) & (avm[water] < 10.0)).any()
    assert np.all(avt[~water] == -999.0) and np.all(avm[~water] == -999.0)


def test_mixing_limits():
    """No shear and stable: background values; unstable: enhanced diffusion."""
    g = op.OceanGrid(jpi=3, jpj=3, jpk=3)
    t = np.zeros((3, 3, 3))
    t[1, 1] = [10.0, 5.0, 6.0]   # stable on top, unstable below
    zero = np.zeros_like(t)
    avt, avm = op.mixing(g, t, zero, zero)
    np.testing.assert_allclose(avm[1, 1], [1e-4, 10.0], rtol=1e-12)
    np.testing.assert_allclose(avt[1, 1], [1e-5, 10.0], rtol=1e-6)


def test_zdf_implicit_conserves_and_solves_the_linear_system():
    rng = np.random.default_rng(3)
    f = rng.normal(10, 3, GRID.jpk)
    kz = 10.0 ** rng.uniform(-5, 1, GRID.jpk - 1)
    dt = 3600.0
    new = op.zdf_implicit(GRID, dt, kz, f)
    e3t, e3w = GRID.e3t, GRID.e3w
    assert np.sum(e3t * new) == pytest.approx(np.sum(e3t * f), rel=1e-14)
    # independent: assemble the backward Euler matrix and solve it densely
    n = GRID.jpk
    w = dt * kz / e3w
    a = np.diag(e3t.copy())
    for k in range(n - 1):
        a[k, k] += w[k]
        a[k + 1, k + 1] += w[k]
        a[k, k + 1] -= w[k]
        a[k + 1, k] -= w[k]
    np.testing.assert_allclose(new, np.linalg.solve(a, e3t * f), rtol=1e-12)
    # large diffusivity over a long step mixes the column to its mean
    flat = op.zdf_implicit(GRID, 1e13, np.full(n - 1, 10.0), f)
    np.testing.assert_allclose(flat, np.sum(e3t * f) / e3t.sum(), rtol=1e-6)


def test_step_heat_budget_and_land_untouched():
    rng = np.random.default_rng(5)
    s = random_state(GRID, 2)
    water = GRID.mask == 1
    for k in "tuv":                      # land holds arbitrary values that must survive
        s[k][~water] = rng.normal(size=s[k][~water].shape)
    avt, avm = op.mixing(GRID, s["t"], s["u"], s["v"])
    dt = 3600.0
    new, q = op.step(GRID, s, avt, avm, time=1.0e6, dt=dt)
    for k in "tuv":
        assert np.array_equal(new[k][~water], s[k][~water])
    assert np.all(q[~water] == 0.0)
    dh = op.heat_content(GRID, new["t"]) - op.heat_content(GRID, s["t"])
    np.testing.assert_allclose(dh[water], q[water] * dt, rtol=1e-9,
                               atol=1e-12 * np.abs(op.heat_content(GRID, s["t"])).max())
    # the heat flux restores towards T*
    tstar = op.forcing(GRID, 1.0e6)["tstar"]
    c = op.constants()
    np.testing.assert_allclose(q[water], c["lambda"] * (tstar - s["t"][..., 0])[water],
                               rtol=1e-13)


def test_step_momentum_without_forcing_rotates_and_decays():
    """With no stress and no shear, (u, v) rotate by f dt and decay by the drag factor."""
    g = op.OceanGrid(jpi=3, jpj=3, jpk=4)
    s = {"t": np.zeros((3, 3, 4)), "u": np.zeros((3, 3, 4)), "v": np.zeros((3, 3, 4))}
    s["u"][1, 1] = 0.2
    s["v"][1, 1] = -0.1
    c = op.constants()
    kz = np.full((3, 3, 3), 1e-3)
    time = 0.25 * c["year"]  # cos(2 pi t / year) = 0: zonal stress still acts
    new, _ = op.step(g, s, kz, kz, time=time, dt=600.0)
    taux = op.forcing(g, time)["taux"][1, 1]
    f = 2 * c["omega"] * np.sin(np.deg2rad(g.lat[1]))
    r = 1.0 / (1.0 + 600.0 / c["tau_drag"])
    u_exp = r * (np.cos(f * 600) * 0.2 + np.sin(f * 600) * -0.1)
    # below the top layer the column is uniform and stays so; the stress adds momentum
    e3t = g.e3t
    total = np.sum(e3t * new["u"][1, 1])
    np.testing.assert_allclose(total, u_exp * e3t.sum() + 600 * taux / c["rho0"], rtol=1e-12)


def test_run_equals_repeated_mixing_and_steps():
    s = op.initial_state(GRID)
    dt = 3600.0
    ref, qsum = op.run(GRID, s, 0.0, dt, 5)
    cur, acc = s, np.zeros_like(qsum)
    for n in range(5):
        avt, avm = op.mixing(GRID, cur["t"], cur["u"], cur["v"])
        cur, q = op.step(GRID, cur, avt, avm, time=n * dt, dt=dt)
        acc += dt * q
    for k in "tuv":
        np.testing.assert_allclose(ref[k], cur[k], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(qsum, acc, rtol=1e-14)


def test_bad_input_is_rejected():
    s = op.initial_state(GRID)
    with pytest.raises(ValueError, match="shape"):
        op.mixing(GRID, s["t"][:, :, :5], s["u"], s["v"])
    bad = s["t"].copy()
    bad[3, 3, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        op.mixing(GRID, bad, s["u"], s["v"])
    with pytest.raises(ValueError, match="jpk"):
        op.OceanGrid(jpk=1)
    with pytest.raises(ValueError, match="kz must be >= 0"):
        op.zdf_implicit(GRID, 10.0, -np.ones(GRID.jpk - 1), np.ones(GRID.jpk))
