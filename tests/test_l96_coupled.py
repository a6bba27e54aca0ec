"""Coupled Lorenz 96 runs: Fortran (climlearn module) and Python agree to round-off."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climlearn.export import to_torchscript
from climlearn.models import MLP
from climlearn.testbeds.lorenz96.coupled import run_fortran, run_python

F, DT = 20.0, 0.005


def _x0(nens: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return F / 4 + 3.0 * rng.standard_normal((nens, 8))


def _network(tmp_path, halfwidth: int, dtype=torch.float32):
    torch.manual_seed(halfwidth)
    width = 2 * halfwidth + 1
    net = MLP(width, 1, hidden=(16, 16), activation="tanh", dtype=dtype)
    # a plausible scale: U ~ 0.3 + 1.5 X (Wilks 2005), learned up to the random weights
    ex = torch.linspace(-10, 15, 64 * width, dtype=dtype).reshape(64, width)
    path = to_torchscript(net, tmp_path / f"net{halfwidth}.pt", example_inputs=ex,
                          input_names=["X"], output_names=["U"],
                          normalisation={"X": (2.5, 5.0), "U": (3.0, 8.0)})
    return {"kind": "network", "model_path": str(path), "halfwidth": halfwidth,
            "phi": 0.0, "sigma": 0.0}


@pytest.mark.parametrize("halfwidth", [0, 2])
def test_network_runs_agree_for_1000_steps(tmp_path, halfwidth):
    spec = _network(tmp_path, halfwidth)
    x0 = _x0(3)
    py = run_python(spec, x0, forcing=F, dt=DT, nsteps=1000, every=10)
    # TorchScript in Fortran runs the very kernels Python runs: agreement to round-off over
    # 1000 chaotic steps. The native kernel differs in the last bits (its own summation
    # order and activations), which chaos amplifies: see test_native_backend_stays_close.
    fo = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=1000, every=10, backend="torchscript")
    assert py.x.shape == fo.x.shape == (100, 3, 8)
    assert np.all(np.isfinite(fo.x)) and fo.nonfinite_step == 0
    np.testing.assert_allclose(fo.x, py.x, rtol=0, atol=1e-10)
    assert np.std(fo.x[-1]) > 0.1  # the state evolved


def test_float64_network_and_poly_agree(tmp_path):
    x0 = _x0(2, seed=1)
    for spec in (_network(tmp_path, 1, dtype=torch.float64),
                 {"kind": "poly", "coeffs": [0.275, 1.59, -0.019, -0.013, 0.000707],
                  "phi": 0.0, "sigma": 0.0}):
        py = run_python(spec, x0, forcing=F, dt=DT, nsteps=1000, every=50)
        fo = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=1000, every=50,
                         backend="torchscript")
        np.testing.assert_allclose(fo.x, py.x, rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_backend_stays_close(tmp_path, dtype):
    """The default backend (native for these MLPs) tracks Python over 100 steps."""
    spec = _network(tmp_path, 1, dtype=dtype)
    x0 = _x0(3, seed=2)
    py = run_python(spec, x0, forcing=F, dt=DT, nsteps=100, every=10)
    fo = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=100, every=10)
    native = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=100, every=10, backend="native")
    np.testing.assert_array_equal(fo.x, native.x)  # auto chose native
    atol = 1e-5 if dtype == torch.float32 else 1e-11
    np.testing.assert_allclose(native.x, py.x, rtol=0, atol=atol)
    with pytest.raises(RuntimeError, match="unknown backend 'fast'"):
        run_fortran(spec, x0, forcing=F, dt=DT, nsteps=1, backend="fast")


def test_poly_with_ar1_noise_is_seeded_and_spreads_an_ensemble():
    spec = {"kind": "poly", "coeffs": [0.275, 1.59, -0.019, -0.013, 0.000707], "phi": 0.98,
            "sigma": 0.5}
    x0 = np.repeat(_x0(1), 4, axis=0)  # 4 identical members
    a = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=400, every=400, seed=3)
    b = run_fortran(spec, x0, forcing=F, dt=DT, nsteps=400, every=400, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    assert np.std(a.x[-1], axis=0).mean() > 0.1  # the noise separated the members


def test_bad_coupled_inputs(tmp_path):
    spec = {"kind": "poly", "coeffs": [0.0, 1.0], "phi": 0.0, "sigma": 0.0}
    with pytest.raises(ValueError, match="dt must be positive, given -0.005"):
        run_fortran(spec, _x0(1), forcing=F, dt=-DT, nsteps=10)
    with pytest.raises(ValueError, match="kind must be 'network' or 'poly', given 'gan'"):
        run_python({"kind": "gan"}, _x0(1), forcing=F, dt=DT, nsteps=10)
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        run_fortran({"kind": "network", "model_path": str(tmp_path / "absent.pt"),
                     "halfwidth": 0}, _x0(1), forcing=F, dt=DT, nsteps=10)
    with pytest.raises(ValueError, match=r"shape \(nens, K\), given shape \(8,\)"):
        run_python(spec, _x0(1)[0], forcing=F, dt=DT, nsteps=10)
