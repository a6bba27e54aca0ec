"""The pointwise (per-interface) ocean-mixing emulator: its features against the
Pacanowski-Philander formula, fit and export, and the Fortran host's pointwise path
(one step = Python, 1 rank = 2 ranks, the guard)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from climlearn.export import load, to_torchscript
from climlearn.testbeds.ocean import config as oc
from climlearn.testbeds.ocean import data, emulators, online
from climlearn.testbeds.ocean import physics as op
from climlearn.testbeds.ocean.emulator_pointwise import PointwiseEmulator, interface_features

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")

GRID = op.OceanGrid(jpi=9, jpj=8, jpk=20)
DT = 10800.0


def start_state():
    s, _ = op.run(GRID, op.initial_state(GRID), 0.0, DT, 40)
    return s


def columns(s):
    ii, jj = op.water_columns(GRID.mask)
    return np.concatenate([s[k][ii, jj] for k in "tuv"], axis=1), ii, jj


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cfg = oc.parse_config({
        "seed": 0, "grid": GRID.as_dict(), "dt": DT, "spinup_days": 5, "train_days": 20,
        "sample_every": 4, "online_days": 1,
        "emulators": {"pointwise": {"hidden": [8, 8], "epochs": 8, "batch_size": 256,
                                    "lr": 1e-2, "max_samples": 20000}}})
    ds, _ = data.generate(cfg, progress=False)
    res = emulators.train_all(cfg, ds, tmp_path_factory.mktemp("pw_models"), progress=False)
    return ds, res["pointwise"]


def test_features_give_the_pp_scheme_through_its_closed_form():
    """With r = Ri / (1 + Ri): 1 / (1 + alpha Ri) = (1 - r) / (1 + (alpha - 1) r); the
    scheme's avm, avt follow from [r, e] alone (e = 1: NEMO's enhanced diffusion)."""
    rng = np.random.default_rng(1)
    s = start_state()
    s = {k: s[k] + rng.normal(0, 2e-3 if k == "t" else 1e-3, s[k].shape) for k in "tuv"}
    avt, avm = op.mixing(GRID, s["t"], s["u"], s["v"])
    x, ii, jj = columns(s)
    f = interface_features(x, GRID.e3w)
    assert f.shape == (len(ii), GRID.jpk - 1, 2)
    c = op.constants()
    r, e = f[..., 0], f[..., 1]
    assert 0 < e.mean() < 1 and np.all((r >= 0) & (r < 1))     # both regimes present
    cc = (1 - r) / (1 + (c["pp_alpha"] - 1) * r)
    nu = c["pp_nu0"] * cc ** 2 + c["pp_nub"]
    want_m = np.where(e == 1, c["rn_evd"], nu)
    want_t = np.where(e == 1, c["rn_evd"], nu * cc + c["pp_kappab"])
    np.testing.assert_allclose(avm[ii, jj], want_m, rtol=1e-10)
    np.testing.assert_allclose(avt[ii, jj], want_t, rtol=1e-10)
    with pytest.raises(ValueError, match="x must be"):
        interface_features(x[:, :-1], GRID.e3w)


def test_fit_export_and_registry(trained, tmp_path):
    ds, res = trained
    em, info = res["emulator"], res["info"]
    assert isinstance(em, PointwiseEmulator) and "pointwise" in emulators.EMULATORS
    # a 1-D closure: fitted closely on the held-out snapshots (log10 units)
    assert info["val_rmse_log10"] < 0.1
    x = emulators.stack_inputs(ds)[:50]
    module, card = load(res["path"])
    f = interface_features(x, GRID.e3w).reshape(-1, 2)
    with torch.no_grad():
        got = module(torch.from_numpy(f.astype(np.float32))).numpy()
    assert card["inputs"][0]["dtype"] == "float32"
    # the export returns the coefficients themselves: 10**(log10 prediction), folded into
    # the last layer, in float32
    assert card["outputs"][0]["units"] == "m2 s-1"
    assert [layer["op"] for layer in card["native"]["layers"]][-1] == "exp"
    np.testing.assert_allclose(got, 10.0 ** em.predict_points(f), rtol=2e-5)
    y = em.predict(x)
    assert y.shape == (50, 2 * (GRID.jpk - 1))
    np.testing.assert_allclose(10.0 ** y[:, :GRID.jpk - 1], got[:, 0].reshape(50, -1),
                               rtol=2e-5)
    with pytest.raises(RuntimeError, match="e3w"):
        PointwiseEmulator(oc.EmulatorOptions()).fit(x, emulators.stack_outputs(ds)[:50])
    with pytest.raises(RuntimeError, match="not trained"):
        PointwiseEmulator(oc.EmulatorOptions(), GRID.e3w).predict(x)


def test_host_pointwise_step_equals_python_and_ranks_agree(trained):
    _, res = trained
    s0 = start_state()
    run = online.run_host(GRID, scheme="ml", model_path=res["path"], nsteps=1, dt=DT,
                          time0=40 * DT, init=s0)
    x, ii, jj = columns(s0)
    module, _ = load(res["path"])
    f = interface_features(x, GRID.e3w).reshape(-1, 2).astype(np.float32)
    with torch.no_grad():
        y = module(torch.from_numpy(f)).numpy().astype(np.float64)
    y = y.reshape(len(ii), GRID.jpk - 1, 2)
    avt = np.zeros((GRID.jpi, GRID.jpj, GRID.jpk - 1))
    avm = np.zeros_like(avt)
    avt[ii, jj], avm[ii, jj] = y[..., 0], y[..., 1]
    want, _ = op.step(GRID, s0, avt, avm, time=40 * DT, dt=DT)
    # float32 network, native kernel vs torch: avt, avm equal to a few float32 ulps
    for name in "tuv":
        np.testing.assert_allclose(getattr(run, name), want[name], rtol=1e-7, atol=1e-9)
    assert run.info["BACKEND"] == "native" and run.guard_fallback_columns == 0
    kw = {"scheme": "ml", "model_path": res["path"], "nsteps": 48, "dt": DT,
          "time0": 40 * DT, "init": s0}
    one, two = online.run_host(GRID, ranks=1, **kw), online.run_host(GRID, ranks=2, **kw)
    for name in ("tmean", "t", "u", "v", "qsum", "log10_avt_mean"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    water = GRID.mask == 1
    assert one.nonfinite_step == 0 and np.all(np.isfinite(one.t[water]))


class NanWhereStable(nn.Module):
    """[avt, avm] = 10**c, but NaN where r > thr (strong stratification)."""

    def __init__(self, thr: float, c: float) -> None:
        super().__init__()
        self.thr, self.c = thr, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(x.shape[0], 2, dtype=x.dtype) + 10.0 ** self.c
        bad = (x[:, :1] > self.thr).expand_as(y)
        return torch.where(bad, torch.full_like(y, float("nan")), y)


def test_host_pointwise_guard(tmp_path):
    """Columns with a NaN at any interface get the Fortran PP scheme, counted."""
    s0 = start_state()
    x0, _, _ = columns(s0)
    rmax = np.sort(interface_features(x0, GRID.e3w)[..., 0].max(axis=1))
    thr, c = float((rmax[len(rmax) // 2] + rmax[len(rmax) // 2 + 1]) / 2), -3.5
    path = to_torchscript(NanWhereStable(thr, c), tmp_path / "nan.pt",
                          example_inputs=torch.zeros(4, 2, dtype=torch.float64),
                          input_names=["x"], output_names=["y"])
    nsteps, time0 = 3, 40 * DT
    run = online.run_host(GRID, scheme="ml", model_path=path, nsteps=nsteps, dt=DT,
                          time0=time0, init=s0)
    cur, nbad = s0, 0
    water = GRID.mask == 1
    for n in range(nsteps):
        avt, avm = op.mixing(GRID, cur["t"], cur["u"], cur["v"])
        x, ii, jj = columns(cur)
        r = interface_features(x, GRID.e3w)[..., 0]
        ok = ~(r > thr).any(axis=1)
        nbad += int((~ok).sum())
        avt[ii[ok], jj[ok]] = 10.0 ** c
        avm[ii[ok], jj[ok]] = 10.0 ** c
        cur, _ = op.step(GRID, cur, avt, avm, time=time0 + n * DT, dt=DT)
    assert 0 < nbad < nsteps * int(water.sum())       # both paths taken
    assert run.guard_fallback_columns == nbad
    for name in "tuv":
        np.testing.assert_allclose(getattr(run, name), cur[name], rtol=1e-10, atol=1e-13)

