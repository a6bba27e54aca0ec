"""The Fortran ocean host run_ocean: reference = Python, ML = Python, 1 rank = 2 ranks,
the guard (non-finite network output -> reference scheme, counted), namelist errors.
Runs ``mpirun`` (allowed as root, oversubscribed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from climlearn.export import load, to_torchscript
from climlearn.testbeds.ocean import config as oc
from climlearn.testbeds.ocean import data, emulators, online
from climlearn.testbeds.ocean import physics as op

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")

GRID = op.OceanGrid(jpi=9, jpj=8, jpk=20)
DT = 10800.0


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> Path:
    return online.build_host(tmp_path_factory.mktemp("ocean_host"))


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A briefly trained column emulator for GRID."""
    cfg = oc.parse_config({
        "seed": 0, "grid": GRID.as_dict(), "dt": DT, "spinup_days": 5, "train_days": 20,
        "sample_every": 8, "online_days": 1,
        "emulators": {"mlp": {"hidden": [16, 16], "epochs": 2, "batch_size": 128}}})
    ds, _ = data.generate(cfg, progress=False)
    res = emulators.train_all(cfg, ds, tmp_path_factory.mktemp("ocean_models"),
                              progress=False)
    return res["mlp"]["path"]


def start_state():
    s, _ = op.run(GRID, op.initial_state(GRID), 0.0, DT, 40)
    return s


def test_reference_host_equals_python(exe):
    s0 = start_state()
    nsteps, time0 = 12, 40 * DT
    run = online.run_host(GRID, scheme="reference", nsteps=nsteps, dt=DT, time0=time0,
                          init=s0)
    cur, tsum, qsum = s0, np.zeros_like(s0["t"]), np.zeros(GRID.mask.shape)
    for n in range(nsteps):
        avt, avm = op.mixing(GRID, cur["t"], cur["u"], cur["v"])
        cur, q = op.step(GRID, cur, avt, avm, time=time0 + n * DT, dt=DT)
        tsum += cur["t"]
        qsum += DT * q
    for got, want in ((run.t, cur["t"]), (run.u, cur["u"]), (run.v, cur["v"]),
                      (run.tmean, tsum / nsteps), (run.qsum, qsum)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
    assert run.nonfinite_step == 0 and run.info["BACKEND"] == "reference"
    assert int(run.info["NWATER"]) == int((GRID.mask == 1).sum())


def test_ml_host_step_equals_python(exe, model):
    """One step with the network: gather/scatter order and 10**y as in Python."""
    s0 = start_state()
    run = online.run_host(GRID, scheme="ml", model_path=model, nsteps=1, dt=DT,
                          time0=40 * DT, init=s0)
    module, _ = load(model)
    ii, jj = op.water_columns(GRID.mask)
    x = np.concatenate([s0[k][ii, jj] for k in "tuv"], axis=1)
    with torch.no_grad():
        y = module(torch.tensor(x, dtype=torch.float32)).double().numpy()
    k = GRID.jpk - 1
    avt = np.zeros((GRID.jpi, GRID.jpj, k))
    avm = np.zeros_like(avt)
    avt[ii, jj], avm[ii, jj] = 10.0 ** y[:, :k], 10.0 ** y[:, k:]
    want, _ = op.step(GRID, s0, avt, avm, time=40 * DT, dt=DT)
    # float32 network, native kernel vs torch (tanh approximations): close, not equal; a
    # column in the wrong place would differ by O(1)
    for name in "tuv":
        np.testing.assert_allclose(getattr(run, name), want[name], rtol=1e-3, atol=1e-6)
    assert not np.allclose(run.t, s0["t"], rtol=1e-3, atol=1e-6)   # the step did change T
    water = GRID.mask == 1
    assert np.all(run.t[~water] == 0.0)          # land untouched (zero at rest)


def test_ml_host_one_and_two_ranks_identical_and_finite(exe, model):
    s0 = start_state()
    kw = {"scheme": "ml", "model_path": model, "nsteps": 240, "dt": DT, "time0": 40 * DT,
          "init": s0}
    one = online.run_host(GRID, ranks=1, **kw)
    two = online.run_host(GRID, ranks=2, **kw)
    assert one.info["NRANKS"] == "1" and two.info["NRANKS"] == "2"
    for name in ("tmean", "t", "u", "v", "qsum", "log10_avt_mean"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    water = GRID.mask == 1
    assert one.nonfinite_step == 0 and np.all(np.isfinite(one.t[water]))
    # the emulated run conserves heat: content change = surface input
    h0 = op.heat_content(GRID, s0["t"])[water].sum()
    h1 = op.heat_content(GRID, one.t)[water].sum()
    assert abs(h1 - h0 - one.qsum[water].sum()) < 1e-9 * np.abs(one.qsum[water]).sum()


class NanWhereWarm(nn.Module):
    """log10 avt = log10 avm = ``c`` on every level, but NaN in the columns whose surface
    temperature (float32) exceeds ``thr``: a network the host's guard must overrule."""

    def __init__(self, thr: float, c: float, nout: int) -> None:
        super().__init__()
        self.thr, self.c, self.nout = thr, c, nout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.zeros(x.shape[0], self.nout, dtype=x.dtype) + self.c
        warm = (x[:, :1] > self.thr).expand_as(y)
        return torch.where(warm, torch.full_like(y, float("nan")), y)


def _nan_model(path: Path, thr: float, c: float) -> Path:
    # example inputs below every threshold: the export's own check compares finite values
    x = torch.full((4, 3 * GRID.jpk), -3e38, dtype=torch.float32)
    return to_torchscript(NanWhereWarm(thr, c, 2 * (GRID.jpk - 1)), path, example_inputs=x,
                          input_names=["x"], output_names=["y"])


def test_guard_gives_nonfinite_columns_to_the_reference_scheme(exe, tmp_path):
    """Columns with a NaN output get the Fortran PP scheme, the others 10**c; the host
    counts the overruled columns over the steps."""
    s0 = start_state()
    water = GRID.mask == 1
    sst = np.unique(s0["t"][:, :, 0][water].astype(np.float32))
    thr = float((sst[len(sst) // 2] + sst[len(sst) // 2 + 1]) / 2)   # between two columns
    c = -3.25
    path = _nan_model(tmp_path / "nan_warm.pt", thr, c)
    nsteps, time0 = 4, 40 * DT
    run = online.run_host(GRID, scheme="ml", model_path=path, nsteps=nsteps, dt=DT,
                          time0=time0, init=s0)
    lc = np.exp(np.log(10.0) * float(np.float32(c)))
    cur, nbad = s0, 0
    for n in range(nsteps):
        avt, avm = op.mixing(GRID, cur["t"], cur["u"], cur["v"])
        net = water & ~(cur["t"][:, :, 0].astype(np.float32) > np.float32(thr))
        nbad += int((water & ~net).sum())
        avt[net], avm[net] = lc, lc
        cur, _ = op.step(GRID, cur, avt, avm, time=time0 + n * DT, dt=DT)
    for name in "tuv":
        np.testing.assert_allclose(getattr(run, name), cur[name], rtol=1e-12, atol=1e-13)
    assert 0 < nbad < nsteps * int(water.sum())       # both paths taken
    assert run.guard_fallback_columns == nbad
    assert run.nonfinite_step == 0


def test_guard_on_every_column_equals_the_reference_run(exe, tmp_path):
    """A network that is NaN everywhere: the ML run is the reference run, bit for bit."""
    s0 = start_state()
    path = _nan_model(tmp_path / "nan_all.pt", -1e30, 0.0)
    kw = {"nsteps": 3, "dt": DT, "time0": 40 * DT, "init": s0}
    ref = online.run_host(GRID, scheme="reference", **kw)
    emu = online.run_host(GRID, scheme="ml", model_path=path, ranks=2, **kw)
    for name in ("tmean", "t", "u", "v", "qsum", "log10_avt_mean"):
        assert np.array_equal(getattr(emu, name), getattr(ref, name)), name
    assert emu.guard_fallback_columns == 3 * int((GRID.mask == 1).sum())
    assert ref.guard_fallback_columns == 0 and ref.info["GUARD_FALLBACK_COLUMNS"] == "0"


def _run_nml(exe: Path, tmp_path: Path, scheme: str,
             model_path: str) -> subprocess.CompletedProcess:
    nml = online.write_namelist(
        tmp_path / "x.nml",
        {"jpi": 5, "jpj": 5, "jpk": 4, "nsteps": 1, "out_file": str(tmp_path / "o.bin")},
        {"model_path": model_path, "scheme": scheme})
    return subprocess.run(["mpirun", "-n", "2", "--oversubscribe", str(exe), str(nml)],
                          capture_output=True, text=True, env=online.mpi_env(), timeout=120)


def test_namelist_errors_are_clear(exe, tmp_path):
    proc = _run_nml(exe, tmp_path, "ml", str(tmp_path / "missing.pt"))
    assert proc.returncode != 0
    assert f"model file not found: {tmp_path / 'missing.pt'}" in proc.stderr
    proc = _run_nml(exe, tmp_path, "magic", "")
    assert proc.returncode != 0
    assert "unknown scheme 'magic' (valid: 'reference', 'ml')" in proc.stderr
    proc = _run_nml(exe, tmp_path, "reference", "")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "o.bin.partial").exists() and (tmp_path / "o.bin").exists()


def test_wrong_model_for_the_grid_is_reported(exe, model):
    g = op.OceanGrid(jpi=6, jpj=6, jpk=8)
    s = op.initial_state(g)
    with pytest.raises(RuntimeError, match="model forward failed"):
        online.run_host(g, scheme="ml", model_path=model, nsteps=1, dt=DT, init=s)
