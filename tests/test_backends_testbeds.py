"""Every backend reproduces TorchScript on the testbed networks of the column host
(issue 8, point 3): the convection emulators of ``climlearn.testbeds.column`` (MLP on the
whole column, which qualifies for the native kernel, and the 1-D CNN, which does not),
exported with their normalisation, called from Fortran at several batch sizes.

Weights are random (agreement does not need training); inputs are physical-looking T and q
columns, so the normalisation buffers matter.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climlearn.export import to_aot, to_torchscript
from climlearn.testbeds.column.emulators import get_emulator

from .test_aot_backend import FORMAT, TOL, _load, _pair

KLEV = 20


def _columns(n: int, seed: int) -> np.ndarray:
    """(n, 2*klev): T (K) decreasing upwards, q (kg/kg) decaying upwards, with noise."""
    rng = np.random.default_rng(seed)
    z = np.linspace(0.0, 1.0, KLEV)
    t = 300.0 - 80.0 * z + rng.normal(0.0, 2.0, (n, KLEV))
    q = 0.018 * np.exp(-4.0 * z) * rng.uniform(0.5, 1.0, (n, KLEV))
    return np.concatenate([t, q], axis=1)


def _export(name: str, d, **options) -> dict:
    torch.manual_seed(1)
    net = get_emulator(name, KLEV, **options)
    x = torch.tensor(_columns(256, 0), dtype=torch.float32)
    y_scale = torch.cat([torch.full((KLEV,), 1e-4), torch.full((KLEV,), 1e-8)])
    kw = dict(example_inputs=x, input_names=["state"], output_names=["tendency"],
              units={"state": "1", "tendency": "s-1"},
              normalisation={"state": (x.mean(0), x.std(0)),
                             "tendency": (torch.zeros(2 * KLEV), y_scale)}, seed=1)
    ts = to_torchscript(net, d / f"{name}.pt", **kw)
    aot = to_aot(net, d / f"{name}.pt2", batch_range=(1, 4096), **kw)
    return {"ts": ts, "aot": aot, "dtype": torch.float32, "n_in": 2 * KLEV,
            "n_out": 2 * KLEV}


@pytest.fixture(scope="module")
def column_mlp(tmp_path_factory):
    return _export("mlp", tmp_path_factory.mktemp("col_mlp"), hidden=[64, 64])


@pytest.fixture(scope="module")
def column_cnn(tmp_path_factory):
    return _export("cnn", tmp_path_factory.mktemp("col_cnn"), channels=[16, 16])


@pytest.mark.parametrize("which, backend", [
    ("column_mlp", "native"), ("column_mlp", "aot"), ("column_mlp", "auto"),
    ("column_cnn", "aot")])
def test_column_emulators_agree_across_backends(fortran_exe, tmp_path, which, backend,
                                                request):
    m = request.getfixturevalue(which)
    if backend == "native":
        m = {**m, "aot": m["ts"]}
    for ncol in (1, 32, 1000):
        x = _columns(ncol, seed=ncol).astype(np.float32)
        f, _, ts, other = _pair(fortran_exe, m, backend, ncol, tmp_path, x=x)
        assert f["BACKEND_OTHER"] == ("aot" if backend == "auto" else backend)
        scale = np.max(np.abs(ts))
        np.testing.assert_allclose(other, ts, rtol=TOL[torch.float32],
                                   atol=TOL[torch.float32] * scale,
                                   err_msg=f"{which} {backend} ncol={ncol}")
        if ncol > 1:
            assert np.std(ts) > 0


def test_column_cnn_does_not_qualify_for_native(fortran_exe, column_cnn, column_mlp):
    assert _load(fortran_exe, column_mlp["ts"], "auto")["BACKEND"] == "native"
    assert _load(fortran_exe, column_cnn["ts"], "auto")["BACKEND"] == "torchscript"
    f = _load(fortran_exe, column_cnn["ts"], "native")
    assert int(f["STAT"]) == FORMAT
    assert "no native description" in f["MSG"]
