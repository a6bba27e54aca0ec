"""Lorenz 96 physics in Fortran (l96_physics, through f90wrap) against an independent numpy
reference written here from the equations (REFERENCE section 2)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from climlearn import compile as cl_compile
from climlearn import paths
from climlearn.testbeds.lorenz96 import physics
from climlearn.testbeds.lorenz96.physics import L96Params

# ---- numpy reference ---------------------------------------------------------------------


def ref_two_scale(x, y, p: L96Params, damping=1.0):
    """dX/dt, dY/dt with np.roll: roll(z, 1)[i] = z[i-1], roll(z, -1)[i] = z[i+1]."""
    hcb = p.h * p.c / p.b
    dx = (-np.roll(x, 1) * (np.roll(x, 2) - np.roll(x, -1)) - damping * x + p.F
          - hcb * y.reshape(p.K, p.J).sum(axis=1))
    dy = (-p.c * p.b * np.roll(y, -1) * (np.roll(y, -2) - np.roll(y, 1))
          - damping * p.c * y + hcb * np.repeat(x, p.J))
    return dx, dy


def ref_subgrid(y, p: L96Params):
    return p.h * p.c / p.b * y.reshape(*y.shape[:-1], p.K, p.J).sum(axis=-1)


def ref_rk4(f, state, dt):
    k1 = f(state)
    k2 = f(state + 0.5 * dt * k1)
    k3 = f(state + 0.5 * dt * k2)
    k4 = f(state + dt * k3)
    return state + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def ref_run_two_scale(x, y, p: L96Params, dt, nsteps, every):
    nk = p.K

    def f(s):
        return np.concatenate(ref_two_scale(s[:nk], s[nk:], p))

    s = np.concatenate([x, y])
    out = []
    for step in range(1, nsteps + 1):
        s = ref_rk4(f, s, dt)
        if step % every == 0:
            out.append(s.copy())
    out = np.array(out)
    return out[:, :nk], out[:, nk:], ref_subgrid(out[:, nk:], p)


def ref_coarse(x, u, forcing):
    """x, u: (..., K)."""
    return (-np.roll(x, 1, axis=-1) * (np.roll(x, 2, axis=-1) - np.roll(x, -1, axis=-1))
            - x + forcing - u)


# ---- fixtures ---------------------------------------------------------------------------

STD = L96Params()
ODD = L96Params(K=5, J=3, F=8.0, h=0.5, b=7.0, c=3.0)


def _state(p: L96Params, seed: int = 0):
    rng = np.random.default_rng(seed)
    return p.F / 2 + 4.0 * rng.standard_normal(p.K), 0.5 * rng.standard_normal(p.K * p.J)


@pytest.fixture(scope="module")
def attractor_state():
    """A state on the standard attractor (1 MTU after a random start)."""
    x, y = _state(STD, 1)
    *_, x, y = physics.run_two_scale(x, y, STD, 0.001, 1000, 1000, return_state=True)
    return x, y


# ---- tendencies -------------------------------------------------------------------------

@pytest.mark.parametrize("p", [STD, ODD], ids=["standard", "K5J3"])
@pytest.mark.parametrize("damping", [1.0, 0.0, 0.3])
def test_two_scale_tendency_matches_numpy(p, damping):
    for seed in range(3):
        x, y = _state(p, seed)
        dx, dy = physics.two_scale_tendency(x, y, p, damping=damping)
        rx, ry = ref_two_scale(x, y, p, damping)
        np.testing.assert_allclose(dx, rx, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dy, ry, rtol=1e-12, atol=1e-12)
        # Y given as (K, J) gives the same numbers in that shape
        dx2, dy2 = physics.two_scale_tendency(x, y.reshape(p.K, p.J), p, damping=damping)
        assert dy2.shape == (p.K, p.J)
        np.testing.assert_array_equal(dy2.ravel(), dy)
        np.testing.assert_array_equal(dx2, dx)


def test_two_scale_tendency_on_attractor(attractor_state):
    x, y = attractor_state
    dx, dy = physics.two_scale_tendency(x, y, STD)
    rx, ry = ref_two_scale(x, y, STD)
    np.testing.assert_allclose(dx, rx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, ry, rtol=1e-12, atol=1e-12)


def test_hand_computed_x_tendency():
    # Y = 0: dX_1/dt = -X_K (X_{K-1} - X_2) - X_1 + F, checked by hand for X_k = k.
    p = L96Params(K=4, J=2, F=1.0)
    dx, dy = physics.two_scale_tendency(np.array([1.0, 2, 3, 4]), np.zeros(8), p)
    np.testing.assert_allclose(dx, [-4 * (3 - 2) - 1 + 1, -1 * (4 - 3) - 2 + 1,
                                    -2 * (1 - 4) - 3 + 1, -3 * (2 - 1) - 4 + 1])
    np.testing.assert_allclose(dy, np.repeat([1.0, 2, 3, 4], 2))  # (h c / b) X_k = X_k


@pytest.mark.parametrize("p", [STD, ODD], ids=["standard", "K5J3"])
def test_energy_conserved_without_forcing_and_damping(p, attractor_state):
    """F = 0, damping 0: sum_k X_k dX_k/dt + sum Y dY/dt = 0 (advection and coupling)."""
    p0 = L96Params(K=p.K, J=p.J, F=0.0, h=p.h, b=p.b, c=p.c)
    states = [_state(p, s) for s in range(3)]
    if p == STD:
        states.append(attractor_state)
    for x, y in states:
        dx, dy = physics.two_scale_tendency(x, y, p0, damping=0.0)
        scale = np.abs(x * dx).sum() + np.abs(y * dy).sum()
        assert scale > 1.0  # the individual terms are not small
        assert abs(x @ dx + y @ dy) <= 1e-13 * scale
        # with damping (and forcing) the energy is not conserved
        dx1, dy1 = physics.two_scale_tendency(x, y, p0, damping=1.0)
        assert abs(x @ dx1 + y @ dy1) > 1e-3 * scale


def test_subgrid_tendency_matches_numpy_and_batches(attractor_state):
    _, y = attractor_state
    u = physics.subgrid_tendency(y, STD)
    np.testing.assert_allclose(u, ref_subgrid(y, STD), rtol=1e-13, atol=1e-13)
    rng = np.random.default_rng(3)
    ys = rng.standard_normal((4, 3, ODD.K * ODD.J))
    ub = physics.subgrid_tendency(ys, ODD)
    assert ub.shape == (4, 3, ODD.K)
    np.testing.assert_allclose(ub, ref_subgrid(ys, ODD), rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(physics.subgrid_tendency(ys.reshape(4, 3, ODD.K, ODD.J),
                                                           ODD), ub)
    assert physics.subgrid_tendency(np.zeros((0, ODD.K * ODD.J)), ODD).shape == (0, ODD.K)


# ---- two-scale RK4 ----------------------------------------------------------------------

@pytest.mark.parametrize("p", [STD, ODD], ids=["standard", "K5J3"])
def test_two_scale_run_matches_numpy_rk4(p, attractor_state):
    x0, y0 = attractor_state if p == STD else _state(p, 4)
    x0c, y0c = x0.copy(), y0.copy()
    xs, ys, us, x, y = physics.run_two_scale(x0, y0, p, 0.001, 203, 5, return_state=True)
    np.testing.assert_array_equal(x0, x0c)  # inputs untouched
    np.testing.assert_array_equal(y0, y0c)
    assert xs.shape == (40, p.K) and ys.shape == (40, p.K * p.J) and us.shape == (40, p.K)
    rx, ry, ru = ref_run_two_scale(x0, y0, p, 0.001, 203, 5)
    np.testing.assert_allclose(xs, rx, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(ys, ry, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(us, ru, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(us, ref_subgrid(ys, p), rtol=1e-13, atol=1e-13)
    # final state = three more steps after the last sample
    fx, fy, _ = ref_run_two_scale(xs[-1], ys[-1], p, 0.001, 3, 3)
    np.testing.assert_allclose(x, fx[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, fy[0], rtol=1e-12, atol=1e-12)
    # a single step agrees too, and a run continued in pieces equals one run
    sx, sy = physics.two_scale_rk4_step(x0, y0, p, 0.001)
    ox, oy, _ = ref_run_two_scale(x0, y0, p, 0.001, 1, 1)
    np.testing.assert_allclose(sx, ox[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(sy, oy[0], rtol=1e-13, atol=1e-13)
    *_, xa, ya = physics.run_two_scale(x0, y0, p, 0.001, 100, 100, return_state=True)
    xb, yb, _ = physics.run_two_scale(xa, ya, p, 0.001, 103, 103)
    np.testing.assert_array_equal(xb[0], x)
    np.testing.assert_array_equal(yb[0], y)


def test_zero_steps_gives_no_samples():
    x0, y0 = _state(STD)
    xs, ys, us, x, y = physics.run_two_scale(x0, y0, STD, 0.001, 0, 5, return_state=True)
    assert xs.shape == (0, 8) and ys.shape == (0, 256) and us.shape == (0, 8)
    np.testing.assert_array_equal(x, x0)
    xs, ys, us = physics.run_two_scale(x0, y0, STD, 0.001, 4, 5)
    assert xs.shape == (0, 8)


# ---- coarse model -----------------------------------------------------------------------

def test_coarse_tendency_and_step_match_numpy():
    rng = np.random.default_rng(5)
    x = 5 + 4 * rng.standard_normal((6, 8))
    u = rng.standard_normal((6, 8))
    np.testing.assert_allclose(physics.coarse_tendency(x, u, 20.0), ref_coarse(x, u, 20.0),
                               rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(physics.coarse_tendency(x[2], u[2], 20.0),
                               ref_coarse(x[2], u[2], 20.0), rtol=1e-13, atol=1e-13)
    x_copy = x.copy()
    new = physics.coarse_rk4_step(x, u, 20.0, 0.005)
    np.testing.assert_array_equal(x, x_copy)
    ref = ref_rk4(lambda s: ref_coarse(s, u, 20.0), x, 0.005)
    np.testing.assert_allclose(new, ref, rtol=1e-13, atol=1e-13)
    # in place: out=x really updates x
    out = physics.coarse_rk4_step(x, u, 20.0, 0.005, out=x)
    assert out is x
    np.testing.assert_array_equal(x, new)
    # a single member
    np.testing.assert_array_equal(physics.coarse_rk4_step(x_copy[1], u[1], 20.0, 0.005),
                                  new[1])


def _ref_poly_run(x0, forcing, dt, nsteps, every, coef, phi, sigma, z=None):
    x = x0.copy()
    e = np.zeros_like(x)
    out = []
    for step in range(1, nsteps + 1):
        u = np.polynomial.polynomial.polyval(x, coef)
        if sigma > 0:
            e = phi * e + sigma * np.sqrt(1 - phi**2) * z[step - 1]
            u = u + e
        x = ref_rk4(lambda s, u=u: ref_coarse(s, u, forcing), x, dt)
        if step % every == 0:
            out.append(x.copy())
    return np.array(out)


COEF = [0.275, 1.59, -0.0190, -0.0130, 0.000707]


def test_coarse_poly_run_deterministic_matches_numpy():
    rng = np.random.default_rng(6)
    x0 = 5 + 3 * rng.standard_normal((3, 8))
    xs = physics.run_coarse_poly(x0, 18.0, 0.005, 200, 10, COEF)
    assert xs.shape == (20, 3, 8)
    ref = _ref_poly_run(x0, 18.0, 0.005, 200, 10, COEF, 0.0, 0.0)
    np.testing.assert_allclose(xs, ref, rtol=1e-11, atol=1e-11)
    one = physics.run_coarse_poly(x0[1], 18.0, 0.005, 200, 10, COEF)
    np.testing.assert_array_equal(one, xs[:, 1])


def test_coarse_poly_run_with_ar1_noise_uses_the_seeded_stream():
    rng = np.random.default_rng(7)
    x0 = 5 + 3 * rng.standard_normal((2, 8))
    nsteps, phi, sigma, seed = 150, 0.9, 1.7, 11
    xs = physics.run_coarse_poly(x0, 20.0, 0.005, nsteps, 3, COEF, phi, sigma, seed=seed)
    # the run draws nk*nens (even) normals per step, member by member: the same stream
    z = physics.standard_normal(nsteps * 2 * 8, seed).reshape(nsteps, 2, 8)
    ref = _ref_poly_run(x0, 20.0, 0.005, nsteps, 3, COEF, phi, sigma, z)
    np.testing.assert_allclose(xs, ref, rtol=1e-11, atol=1e-11)
    again = physics.run_coarse_poly(x0, 20.0, 0.005, nsteps, 3, COEF, phi, sigma, seed=seed)
    np.testing.assert_array_equal(again, xs)
    other = physics.run_coarse_poly(x0, 20.0, 0.005, nsteps, 3, COEF, phi, sigma, seed=12)
    assert not np.allclose(other, xs)


def test_seeded_normals_are_standard_normal():
    z = physics.standard_normal(200_001, 3)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(np.mean(z**4) - 3) < 0.05  # Gaussian kurtosis
    assert abs(np.corrcoef(z[:-1], z[1:])[0, 1]) < 0.01
    np.testing.assert_array_equal(physics.standard_normal(10, 3), z[:10])
    assert not np.allclose(physics.standard_normal(10, 4), z[:10])


# ---- the f90wrap-generated Python interface ---------------------------------------------

def test_f90wrap_python_module_calls_the_same_code():
    pytest.importorskip("f90wrap")
    from climlearn.testbeds.lorenz96 import l96f

    x, y = _state(ODD, 2)
    dx, dy = np.zeros(ODD.K), np.zeros(ODD.K * ODD.J)  # outputs pre-allocated by the caller
    l96f.l96_physics.l96_two_scale_tendency(ODD.K, ODD.J, x, y, ODD.F, ODD.h, ODD.b, ODD.c,
                                            1.0, dx, dy)
    rx, ry = physics.two_scale_tendency(x, y, ODD)
    np.testing.assert_array_equal(dx, rx)
    np.testing.assert_array_equal(dy, ry)


# ---- validation in the Python wrapper ---------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: physics.run_two_scale(*_state(STD), STD, -0.001, 10, 1), r"dt.*positive.*-0\.001"),
    (lambda: physics.run_two_scale(*_state(STD), STD, 0.0, 10, 1), r"dt.*positive.*0\.0"),
    (lambda: physics.run_two_scale(*_state(STD), STD, 0.001, -1, 1), r"nsteps.*>= 0.*-1"),
    (lambda: physics.run_two_scale(*_state(STD), STD, 0.001, 10, 0), r"every.*>= 1.*0"),
    (lambda: physics.run_two_scale(*_state(STD), STD, 0.001, 2.5, 1), r"nsteps.*integer.*2\.5"),
    (lambda: physics.run_two_scale(np.zeros(7), np.zeros(256), STD, 0.001, 1, 1),
     r"x0.*\(8,\).*\(7,\)"),
    (lambda: physics.run_two_scale(np.zeros(8), np.zeros(255), STD, 0.001, 1, 1),
     r"y0.*\(256,\).*\(255,\)"),
    (lambda: physics.two_scale_tendency(np.zeros(8), np.zeros((8, 31)), STD),
     r"y.*\(256,\).*\(8, 32\).*\(8, 31\)"),
    (lambda: physics.two_scale_tendency(np.zeros(8), np.zeros(256), "std"), r"L96Params"),
    (lambda: physics.two_scale_tendency(np.zeros(8), np.zeros(256), STD, damping=np.nan),
     r"damping.*finite"),
    (lambda: physics.subgrid_tendency(np.zeros((3, 250)), STD), r"\(\.\.\., 256\).*\(3, 250\)"),
    (lambda: physics.coarse_tendency(np.zeros((2, 8)), np.zeros((2, 7)), 20.0),
     r"u.*\(2, 8\).*\(2, 7\)"),
    (lambda: physics.coarse_rk4_step(np.zeros((2, 3)), np.zeros((2, 3)), 20.0, 0.005),
     r"K >= 4.*\(2, 3\)"),
    (lambda: physics.coarse_rk4_step(np.zeros(8), np.zeros(8), 20.0, -0.005),
     r"dt.*positive.*-0\.005"),
    (lambda: physics.coarse_rk4_step(np.zeros(8), np.zeros(8), 20.0, 0.005,
                                     out=np.zeros(8, np.float32)), r"out.*float64.*float32"),
    (lambda: physics.coarse_rk4_step(np.zeros((2, 2, 8)), np.zeros((2, 2, 8)), 20.0, 0.005),
     r"\(nens, K\).*\(2, 2, 8\)"),
    (lambda: physics.run_coarse_poly(np.zeros((2, 8)), 20.0, 0.005, -5, 1, COEF),
     r"nsteps.*-5"),
    (lambda: physics.run_coarse_poly(np.zeros((2, 8)), 20.0, 0.005, 5, 1, []),
     r"coef.*1 to 64.*\(0,\)"),
    (lambda: physics.run_coarse_poly(np.zeros((2, 8)), 20.0, 0.005, 5, 1, COEF, phi=1.5),
     r"phi.*\[-1, 1\].*1\.5"),
    (lambda: physics.run_coarse_poly(np.zeros((2, 8)), 20.0, 0.005, 5, 1, COEF, sigma=-1),
     r"sigma.*>= 0.*-1"),
    (lambda: physics.run_coarse_poly(np.zeros((2, 8)), 20.0, 0.005, 5, 1, COEF, seed=-3),
     r"seed.*-3"),
])
def test_bad_input_gives_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("kwargs, match", [
    ({"J": 0}, r"J.*>= 1.*0"),
    ({"K": 3}, r"K.*>= 4.*3"),
    ({"J": 2.5}, r"J.*integer.*2\.5"),
    ({"b": 0.0}, r"b.*positive.*0\.0"),
    ({"c": -1.0}, r"c.*positive.*-1\.0"),
    ({"F": float("inf")}, r"F.*finite.*inf"),
])
def test_bad_params_give_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        L96Params(**kwargs)


def test_params_are_frozen_with_standard_defaults():
    p = L96Params()
    assert p.as_dict() == {"K": 8, "J": 32, "F": 20.0, "h": 1.0, "b": 10.0, "c": 10.0}
    assert p.coupling == 1.0
    with pytest.raises(AttributeError):
        p.F = 10.0  # type: ignore[misc]


# ---- Fortran callers: the installed library and the installed source --------------------

_PROGRAM = """
program check_l96
  use, intrinsic :: iso_fortran_env, only: real64
  use l96_physics, only: l96_coarse_rk4_step, l96_two_scale_tendency
  implicit none
  real(real64) :: x(8, 2), u(8, 2), xt(8), y(256), dx(8), dy(256)
  integer :: i
  do i = 1, 8
    x(i, 1) = real(i, real64)
    x(i, 2) = -0.5_real64 * i
  end do
  u = 0.25_real64
  call l96_coarse_rk4_step(8, 2, x, 20.0_real64, u, 0.005_real64)
  xt = x(:, 1)
  y = 0.01_real64
  call l96_two_scale_tendency(8, 32, xt, y, 20.0_real64, 1.0_real64, 10.0_real64, &
                              10.0_real64, 1.0_real64, dx, dy)
  write (*, '(es25.17)') x, dx, dy(1:3)
end program check_l96
"""


@pytest.mark.parametrize("route", ["library", "source"])
def test_fortran_program_uses_installed_physics(tmp_path, route):
    src = tmp_path / "check_l96.f90"
    src.write_text(_PROGRAM)
    if route == "library":  # the .mod next to climlearn's, -lclimlearn_l96
        exe = cl_compile.fortran_program([src], tmp_path / "check", ["-lclimlearn_l96"])
    else:  # the installed source compiled alongside
        physics_src = paths.PACKAGE_DIR / "fortran" / "physics" / "lorenz96.f90"
        exe = cl_compile.fortran_program([physics_src, src], tmp_path / "check")
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=60)
    vals = np.array(out.stdout.split(), dtype=float)
    x0 = np.stack([np.arange(1.0, 9), -0.5 * np.arange(1.0, 9)])
    xnew = physics.coarse_rk4_step(x0, np.full((2, 8), 0.25), 20.0, 0.005)
    dx, dy = physics.two_scale_tendency(xnew[0], np.full(256, 0.01), STD)
    np.testing.assert_allclose(vals, np.concatenate([xnew.ravel(), dx, dy[:3]]),
                               rtol=1e-14, atol=0)
