"""Reference physics of the LMDZ-style column host (Fortran through f90wrap), checked
against numpy re-implementations and conservation laws."""

import numpy as np
import pytest
import xarray as xr

from climlearn.testbeds.column import physics as ph
from climlearn.testbeds.column.data import generate_reference

KAPPA = ph.RD / ph.CP


@pytest.fixture(scope="module")
def grid():
    return ph.ColumnGrid(klon=8, klev=20)


def _dp(grid):
    paprs = grid.paprs
    return paprs[:, :-1] - paprs[:, 1:]


def _enthalpy(grid, t, q):
    """Column-integrated cp T + L q (J m-2)."""
    return ((ph.CP * t + ph.LV * q) * _dp(grid)).sum(axis=1) / ph.GRAV


def _theta(grid, t):
    return t * (ph.P0 / grid.pplay) ** KAPPA


def _numpy_teq(grid):
    lat = np.deg2rad(grid.lat)[:, None]
    p = grid.pplay
    sig = p / grid.ps
    teq = (315.0 - 60.0 * np.sin(lat) ** 2 - 10.0 * np.log(p / ph.P0) * np.cos(lat) ** 2) \
        * (p / ph.P0) ** KAPPA
    teq = np.maximum(200.0, teq)
    ka, ks = 1 / (40 * 86400.0), 1 / (4 * 86400.0)
    k = ka + (ks - ka) * np.maximum(0.0, (sig - 0.7) / 0.3) * np.cos(lat) ** 4
    return teq, k


def _numpy_dry_adjust(grid, t):
    """Independent dry adjustment: repeated pairwise mixing until stable."""
    t = t.copy()
    dp = _dp(grid)
    pi = (grid.pplay / ph.P0) ** KAPPA
    for i in range(t.shape[0]):
        for _ in range(10000):
            th = t[i] / pi[i]
            bad = np.nonzero(th[1:] < th[:-1] - 1e-12)[0]
            if bad.size == 0:
                break
            k = bad[0]
            # mix the maximal unstable run around k as one layer
            lo, hi = k, k + 1
            while True:
                sl = slice(lo, hi + 1)
                thm = (t[i, sl] * dp[i, sl]).sum() / (pi[i, sl] * dp[i, sl]).sum()
                if hi + 1 < t.shape[1] and t[i, hi + 1] / pi[i, hi + 1] < thm:
                    hi += 1
                elif lo > 0 and t[i, lo - 1] / pi[i, lo - 1] > thm:
                    lo -= 1
                else:
                    break
            t[i, sl] = thm * pi[i, sl]
    return t


def _unstable_state(grid, seed=0):
    rng = np.random.default_rng(seed)
    teq, _ = ph.equilibrium(grid)
    t = teq + rng.normal(0.0, 6.0, teq.shape)
    t[:, :4] += np.linspace(8.0, 0.0, 4)  # super-adiabatic near the surface
    return t


def test_relaxation_matches_numpy_and_analytic_rate(grid):
    teq_np, k_np = _numpy_teq(grid)
    teq, krate = ph.equilibrium(grid)
    np.testing.assert_allclose(teq, teq_np, rtol=1e-13)
    np.testing.assert_allclose(krate, k_np, rtol=1e-13)
    t0 = teq + 10.0
    dtime, nsteps = 1800.0, 96
    t = t0
    for _ in range(nsteps):
        t = ph.relaxation(t, grid, dtime)
    expected = teq + (t0 - teq) * np.exp(-k_np * dtime * nsteps)
    np.testing.assert_allclose(t, expected, rtol=0, atol=1e-10)
    # Same through the physics driver with every other process switched off.
    q = np.zeros_like(t0)
    out = ph.physics_step(t0, q, grid, dtime, evap=False, dry=False, conv=False, lsc=False)
    np.testing.assert_allclose(out["t"], teq + 10.0 * np.exp(-k_np * dtime), atol=1e-11)


def test_dry_adjustment_conserves_enthalpy_and_removes_instability(grid):
    t = _unstable_state(grid)
    dp = _dp(grid)
    assert np.any(np.diff(_theta(grid, t), axis=1) < 0)
    ta = ph.dry_adjustment(t, grid)
    h0 = (ph.CP * t * dp).sum(axis=1)
    h1 = (ph.CP * ta * dp).sum(axis=1)
    np.testing.assert_allclose(h1, h0, rtol=1e-14)
    assert np.all(np.diff(_theta(grid, ta), axis=1) >= -1e-9)
    np.testing.assert_allclose(ta, _numpy_dry_adjust(grid, t), rtol=0, atol=1e-9)
    # A stable profile is left untouched.
    np.testing.assert_array_equal(ph.dry_adjustment(ta, grid), ta)


def _numpy_parcel(t1, q1, pl):
    """Parcel temperature: dry adiabat to saturation, then constant theta_e (Newton)."""
    lv, cp, rv, p0 = ph.LV, ph.CP, 461.5, ph.P0
    tref = np.empty_like(pl)
    tref[0] = t1
    sat = q1 >= ph.qsat(t1, pl[0])
    the = t1 * (p0 / pl[0]) ** KAPPA * np.exp(lv * ph.qsat(t1, pl[0]) / (cp * t1)) if sat else 0.0
    for k in range(1, pl.size):
        tp = t1 * (pl[k] / pl[0]) ** KAPPA
        if not sat and q1 >= ph.qsat(tp, pl[k]):
            sat = True
            the = tp * (p0 / pl[k]) ** KAPPA * np.exp(lv * q1 / (cp * tp))
        if sat:
            tp = tref[k - 1] * (pl[k] / pl[k - 1]) ** KAPPA
            for _ in range(30):
                qs = ph.qsat(tp, pl[k])
                f = np.log(tp) + KAPPA * np.log(p0 / pl[k]) + lv * qs / (cp * tp) - np.log(the)
                df = 1 / tp + lv / cp * (qs * lv / (rv * tp * tp) / tp - qs / (tp * tp))
                tp = tp - f / df
                if abs(f / df) < 1e-10:
                    break
        tref[k] = tp
    return tref


def _numpy_betts_miller(grid, t, q, dtime):
    """Independent numpy version of the simplified Betts-Miller scheme (Frierson 2007)."""
    dp = _dp(grid)
    pl = grid.pplay
    r = 1.0 - np.exp(-dtime / 7200.0)
    dtdt, dqdt, pr = np.zeros_like(t), np.zeros_like(q), np.zeros(t.shape[0])
    kind = np.zeros(t.shape[0], dtype=int)  # 0 none, 1 shallow, 2 deep
    for i in range(t.shape[0]):
        tref = _numpy_parcel(t[i, 0], max(q[i, 0], 0.0), pl[i])
        buoyant = np.nonzero((pl[i, 1:] > 1e4) & (tref[1:] > t[i, 1:]))[0]
        if buoyant.size == 0:
            continue
        n = buoyant[-1] + 2  # levels 0..n-1 take part
        s = slice(0, n)
        if (ph.RD * (tref[s] - t[i, s]) * dp[i, s] / pl[i, s]).sum() <= 0:
            continue
        qref = 0.7 * ph.qsat(tref[s], pl[i, s])
        pq = ((q[i, s] - qref) * dp[i, s]).sum()
        pt = ph.CP / ph.LV * ((tref[s] - t[i, s]) * dp[i, s]).sum()
        if pq > 0 and pt > 0:
            shift = (ph.LV * pq - ph.CP * ((tref[s] - t[i, s]) * dp[i, s]).sum()) \
                / (ph.CP * dp[i, s].sum())
            kind[i] = 2
        else:
            qref = qref * (q[i, s] * dp[i, s]).sum() / (qref * dp[i, s]).sum()
            shift = -((tref[s] - t[i, s]) * dp[i, s]).sum() / dp[i, s].sum()
            kind[i] = 1
        dtdt[i, s] = r * (tref[s] + shift - t[i, s]) / dtime
        dqdt[i, s] = r * (qref - q[i, s]) / dtime
        if kind[i] == 2:
            pr[i] = -(dqdt[i, s] * dp[i, s]).sum() / ph.GRAV
    return dtdt, dqdt, pr, kind


def _convective_states(grid, seed=1):
    """Random moist states: some columns deep, some shallow, some stable."""
    rng = np.random.default_rng(seed)
    teq, _ = ph.equilibrium(grid)
    t = ph.dry_adjustment(teq + rng.normal(0, 2.0, teq.shape), grid)
    rh = np.clip(rng.uniform(0.75, 1.0, (grid.klon, 1)) + rng.normal(0, 0.05, t.shape), 0, 1)
    q = rh * ph.qsat(t, grid.pplay)
    q[::3, 6:] *= 0.1  # dry free troposphere: convection moistens it (shallow mode)
    return t, q


def test_betts_miller_matches_numpy_reference(grid):
    g = ph.ColumnGrid(klon=24, klev=20)
    dtime = 1800.0
    t, q = _convective_states(g)
    dtdt, dqdt, pr = ph.convection(t, q, g, dtime)
    ref_t, ref_q, ref_pr, kind = _numpy_betts_miller(g, t, q, dtime)
    assert (kind == 2).sum() >= 3 and (kind == 1).sum() >= 3, kind
    np.testing.assert_allclose(dtdt * dtime, ref_t * dtime, rtol=0, atol=1e-9)
    np.testing.assert_allclose(dqdt * dtime, ref_q * dtime, rtol=0, atol=1e-13)
    np.testing.assert_allclose(pr, ref_pr, rtol=1e-9, atol=1e-15)


def test_betts_miller_conserves_enthalpy_and_keeps_q_positive(grid):
    g = ph.ColumnGrid(klon=24, klev=20)
    t, q = _convective_states(g, seed=2)
    dtime = 1800.0
    dtdt, dqdt, precip = ph.convection(t, q, g, dtime)
    assert np.any(dtdt != 0), "convection should trigger on a moist near-surface layer"
    dp = _dp(g)
    # Column enthalpy: sum (cp dT + L dq) dp / g = 0 (so cp-weighted heating = L precip).
    dh = ((ph.CP * dtdt + ph.LV * dqdt) * dp).sum(axis=1) / ph.GRAV
    scale = ((ph.CP * np.abs(dtdt) + ph.LV * np.abs(dqdt)) * dp).sum(axis=1) / ph.GRAV
    assert np.all(np.abs(dh) <= 1e-12 * np.maximum(scale, 1e-300))
    heating = (ph.CP * dtdt * dp).sum(axis=1) / ph.GRAV
    np.testing.assert_allclose(heating, ph.LV * precip, rtol=1e-9, atol=1e-9)
    # Water: what leaves the column is the precipitation (zero for shallow columns).
    np.testing.assert_allclose(precip, -(dqdt * dp).sum(axis=1) / ph.GRAV, rtol=1e-9,
                               atol=1e-15)
    assert np.all(precip >= 0)
    # Very long steps (relaxation factor near 1) and dry air: q stays >= 0.
    for dt_long in (dtime, 86400.0 * 10):
        _, dq2, _ = ph.convection(t, q, g, dt_long)
        assert np.all(q + dt_long * dq2 >= -1e-18)


def test_convection_is_deep_in_the_tropics():
    """In the reference climate convection heats the upper troposphere of tropical columns
    and moistens the free troposphere (not only the lowest layers)."""
    g = ph.ColumnGrid(klon=4, klev=20, lat_min=0.0, lat_max=60.0)
    t0, q0 = ph.initial_state(g)
    spin = ph.run(t0, q0, g, 1800.0, 48 * 120, every=48 * 120)
    res = ph.run(spin["t_final"], spin["q_final"], g, 1800.0, 48 * 20, every=1)
    heat = res["dtdt"].mean(axis=0)[0] * 86400.0  # equatorial column, K/day
    upper = g.sigma < 0.5
    assert heat[upper].max() > 0.2, heat
    assert g.sigma[np.argmax(heat)] < 0.5, heat  # the peak is above mid-troposphere
    rh = (res["q"] / ph.qsat(res["t"], g.pplay)).mean(axis=0)[0]
    mid = (g.sigma > 0.3) & (g.sigma < 0.7)
    assert rh[mid].min() > 0.6, rh
    assert res["precip"][:, 0].mean() * 86400 > 0.1


def test_large_scale_condensation_removes_supersaturation(grid):
    teq, _ = ph.equilibrium(grid)
    q = 1.2 * ph.qsat(teq, grid.pplay)
    t1, q1, pr = ph.large_scale_condensation(teq, q, grid, 1800.0)
    assert np.all(q1 < q) and np.all(t1 > teq) and np.all(pr > 0)
    np.testing.assert_allclose(_enthalpy(grid, t1, q1), _enthalpy(grid, teq, q), rtol=1e-13)
    assert np.all(q1 <= 1.01 * ph.qsat(t1, grid.pplay))


def test_multi_day_reference_run_is_plausible():
    grid = ph.ColumnGrid(klon=12, klev=20)
    t0, q0 = ph.initial_state(grid)
    res = ph.run(t0, q0, grid, 1800.0, 48 * 60, every=1)
    t, q = res["t"], res["q"]
    assert np.all(np.isfinite(t)) and np.all(np.isfinite(q))
    assert 180.0 < t.min() and t.max() < 320.0
    assert q.min() >= 0.0 and q.max() < 0.05
    tropics = grid.lat < 20.0
    last = slice(-480, None)  # the last 10 days
    active = (np.abs(res["dtdt"][last][:, tropics]).max(axis=2) > 0).mean(axis=0)
    assert np.all(active > 0.1), f"convection active too rarely in the tropics: {active}"
    assert res["precip"][last][:, tropics].mean() * 86400 > 0.1  # mm/day


def test_validation_errors_name_expected_and_given(grid):
    t = np.full((grid.klon, grid.klev), 250.0)
    with pytest.raises(ValueError, match=r"shape \(8, 20\).*given shape \(20, 8\)"):
        ph.relaxation(t.T, grid, 1800.0)
    with pytest.raises(ValueError, match="dtime must be a positive"):
        ph.convection(t, np.zeros_like(t), grid, -1.0)
    with pytest.raises(ValueError, match="q must be >= 0"):
        ph.convection(t, -np.ones_like(t), grid, 1800.0)
    with pytest.raises(ValueError, match="klev must be an integer >= 2"):
        ph.ColumnGrid(klev=1)


def test_training_data_netcdf(tmp_path):
    grid = ph.ColumnGrid(klon=4, klev=20)
    out = tmp_path / "column.nc"
    ds = generate_reference(grid, spinup_days=5, length_days=1, every=12, out=out)
    back = xr.load_dataset(out)
    assert back.sizes == {"time": 4, "lat": 4, "lev": 20}
    assert back["ta"].attrs["standard_name"] == "air_temperature"
    assert back["hus"].attrs["units"] == "kg kg-1"
    assert back["tnta_conv"].attrs["units"] == "K s-1"
    assert back["tnhus_conv"].attrs["units"] == "kg kg-1 s-1"
    assert back.attrs["dtime_s"] == 1800.0 and back.attrs["klev"] == 20
    np.testing.assert_array_equal(back["ta"].values, ds["ta"].values)
    # The stored tendencies are exactly what convection_reference gives for the inputs.
    d_t, d_q, _ = ph.convection(back["ta"].values[-1], back["hus"].values[-1], grid, 1800.0)
    np.testing.assert_array_equal(d_t, back["tnta_conv"].values[-1])
    np.testing.assert_array_equal(d_q, back["tnhus_conv"].values[-1])
    assert not list(tmp_path.glob(".*.tmp"))
