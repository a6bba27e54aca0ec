"""The Fortran column host (run_column, MPI) with reference and emulated convection,
checked against the Python-driven physics, across rank counts, and for its errors."""

import json
import shutil

import numpy as np
import pytest

from climlearn.testbeds.column import physics as ph
from climlearn.testbeds.column.config import default_config, parse_config
from climlearn.testbeds.column.data import generate_reference
from climlearn.testbeds.column.emulators import get_emulator
from climlearn.testbeds.column.online import build_host, run_host
from climlearn.testbeds.column.train import train_emulator

pytestmark = pytest.mark.skipif(shutil.which("mpif90") is None or shutil.which("mpirun") is None,
                                reason="OpenMPI (mpif90, mpirun) not installed")


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    return build_host(tmp_path_factory.mktemp("host"))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small emulator trained for one epoch on a short reference run."""
    d = tmp_path_factory.mktemp("model")
    ds = generate_reference(ph.ColumnGrid(klon=4, klev=20), spinup_days=0, length_days=20,
                            every=2)
    em = {"name": "mlp", "options": {"hidden": [16, 16]}, "epochs": 1, "batch_size": 64,
          "lr": 1e-3, "test_fraction": 0.2, "max_samples": 2000}
    return train_emulator(ds, em, d / "conv.pt")["path"]


def test_reference_host_matches_python_physics(host, tmp_path):
    """physiq in Fortran (1 and 2 ranks) equals the Python-driven physics step loop."""
    grid = ph.ColumnGrid(klon=5, klev=20)
    nsteps = 96
    outs = [run_host(host, tmp_path, klon=5, klev=20, nsteps=nsteps, every=48, ranks=r,
                     name=f"ref{r}") for r in (1, 2)]
    t, q = ph.initial_state(grid)
    for _ in range(nsteps):
        st = ph.physics_step(t, q, grid, 1800.0)
        t, q = st["t"], st["q"]
    np.testing.assert_allclose(outs[0]["tfinal"], t, rtol=1e-12)
    np.testing.assert_allclose(outs[0]["qfinal"], q, rtol=1e-10, atol=1e-16)
    for key in ("tfinal", "qfinal", "tmean", "dtconv_mean", "prmean", "tcol"):
        np.testing.assert_array_equal(outs[0][key], outs[1][key])
    assert outs[1]["nranks"] == 2 and outs[0]["nonfinite_step"] == 0
    # Reference tendencies conserve column enthalpy to round-off.
    assert np.max(outs[0]["resid_mean_abs"]) < 1e-8


def test_emulator_online_finite_and_rank_independent(host, model, tmp_path):
    runs = [run_host(host, tmp_path, klon=7, klev=20, nsteps=48, every=24, scheme="ml",
                     model_path=model, ranks=r, name=f"ml{r}") for r in (1, 2)]
    assert runs[0]["nonfinite_step"] == 0
    assert np.isfinite(runs[0]["tfinal"]).all()
    for key in ("tfinal", "qfinal", "tmean", "dtconv_mean", "resid_raw_mean_abs"):
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
    # The constrained tendencies conserve column enthalpy; the raw network does not.
    assert np.max(runs[0]["resid_mean_abs"]) < 1e-6
    assert np.max(runs[0]["resid_raw_mean_abs"]) > 1e-3
    assert np.all(runs[0]["qfinal"] >= 0)


def test_namelist_errors_are_clear(host, tmp_path):
    with pytest.raises(RuntimeError, match=r"unknown scheme 'neural' \(valid: 'reference', "
                                           r"'ml'\)"):
        run_host(host, tmp_path, klon=2, klev=20, nsteps=1, scheme="neural", name="e1")
    with pytest.raises(RuntimeError, match=r"model_path '.*nope.pt' not found"):
        run_host(host, tmp_path, klon=2, klev=20, nsteps=1, scheme="ml",
                 model_path=tmp_path / "nope.pt", ranks=2, name="e2")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a model")
    with pytest.raises(RuntimeError, match="cannot load model"):
        run_host(host, tmp_path, klon=2, klev=20, nsteps=1, scheme="ml", model_path=bad,
                 name="e3")


def test_registry_and_config_errors():
    with pytest.raises(ValueError, match=r"unknown emulator 'gru'; valid names are "
                                         r"\['bm_mlp', 'cnn', 'gated_mlp', 'mlp'\]"):
        get_emulator("gru", klev=20)
    import torch
    x = torch.zeros(3, 40)
    assert get_emulator("cnn", klev=20)(x).shape == (3, 40)
    assert get_emulator("mlp", klev=20, hidden=[8])(x).shape == (3, 40)
    cfg = default_config(quick=True)
    cfg["emulator"]["name"] = "gru"
    with pytest.raises(ValueError, match="emulator.name: unknown emulator 'gru'"):
        parse_config(cfg)
    cfg = default_config(quick=True)
    cfg["grid"]["nlon"] = 3
    with pytest.raises(ValueError, match=r"config grid: unknown key\(s\) \['nlon'\]"):
        parse_config(cfg)


def test_quick_pipeline(tmp_path):
    from climlearn.cli import main

    assert main(["column", "pipeline", "--out", str(tmp_path), "--quick"]) == 0
    doc = json.loads((tmp_path / "metrics.json").read_text())
    assert len(doc["offline"]["r2_dt"]) == 20
    assert doc["mpi"]["identical"] is True
    assert doc["cost"]["reference_s_per_step"] > 0 and doc["cost"]["emulator_s_per_step"] > 0
    assert doc["cost"]["reference_cpu_s_per_step"] > 0
    assert doc["cost"]["emulator_cpu_s_per_step"] > 0
    assert doc["online"]["enthalpy_residual_W_m2"]["reference"] < 1e-8
    for f in ("profiles.png", "t_bias_section.png", "models/convection.pt",
              "data/reference.nc"):
        assert (tmp_path / f).is_file()


def _numpy_constrain(t, q, dt, dq, dp, dtime, max_dtdt=5e-4, max_dqdt=5e-7):
    """numpy version of ml_constrain (bounds, q >= 0, |dT|-weighted enthalpy fix)."""
    dt = np.clip(dt, -max_dtdt, max_dtdt)
    dq = np.clip(dq, -max_dqdt, max_dqdt)
    dq = np.maximum(dq, -np.maximum(q, 0) / dtime)
    resid = ((ph.CP * dt + ph.LV * dq) * dp).sum(axis=1) / ph.GRAV
    w = (np.abs(dt) * dp).sum(axis=1) / ph.GRAV
    dt = dt - (resid / (ph.CP * w))[:, None] * np.abs(dt)
    return dt, dq


def test_emulated_step_matches_python(host, model, tmp_path):
    """One host step with scheme='ml' (all columns in one call, transposed layout) equals
    the model applied column by column in Python, then the documented constraints."""
    import torch

    grid = ph.ColumnGrid(klon=6, klev=20)
    out = run_host(host, tmp_path, klon=6, klev=20, nsteps=1, every=1, scheme="ml",
                   model_path=model, name="one")
    t, q = ph.initial_state(grid)
    st = ph.physics_step(t, q, grid, 1800.0, conv=False, lsc=False)
    net = torch.jit.load(model)
    rows = []
    for i in range(grid.klon):  # a per-column loop
        x = torch.tensor(np.concatenate([st["t"][i], st["q"][i]])[None], dtype=torch.float32)
        rows.append(net(x).detach().double().numpy()[0])
    y = np.array(rows)
    dp = grid.paprs[:, :-1] - grid.paprs[:, 1:]
    dt, dq = _numpy_constrain(st["t"], st["q"], y[:, :20], y[:, 20:], dp, 1800.0)
    np.testing.assert_allclose(out["dtconv_mean"], dt, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(out["dqconv_mean"], dq, rtol=1e-4, atol=1e-12)
