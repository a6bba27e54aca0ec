"""Fortran programs built against the installed package reproduce Python outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climlearn.export import load

from .conftest import NCOL, run

FEATURES = {1: (), 2: (6,), 3: (4, 5), 4: (2, 3, 4)}
NP_DTYPE = {"32": np.float32, "64": np.float64}
RTOL = {"32": 1e-6, "64": 1e-12}


def python_forward(path, *xs: np.ndarray) -> list[np.ndarray]:
    module, _ = load(path)
    with torch.no_grad():
        out = module(*[torch.from_numpy(x) for x in xs])
    out = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in out]


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def run_forward(exe, model, tag, x_torch_layout, out_shape, tmp_path, threads=1):
    """Run forward_driver on an array given in torch layout (batch first)."""
    fin, fout = tmp_path / "in.bin", tmp_path / "out.bin"
    np.ascontiguousarray(x_torch_layout).tofile(fin)
    rank = x_torch_layout.ndim
    fshape_in = list(reversed(x_torch_layout.shape))
    fshape_out = list(reversed(out_shape))
    proc = run([exe, model, 4 if tag == "32" else 8, rank, *fshape_in, *fshape_out,
                fin, fout, threads])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return np.fromfile(fout, dtype=NP_DTYPE[tag]).reshape(out_shape)


@pytest.mark.parametrize("tag", ["32", "64"])
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_ranks_and_kinds_match_python(fortran_exe, models, tmp_path, rank, tag):
    rng = np.random.default_rng(rank)
    x = rng.normal(size=(NCOL, *FEATURES[rank])).astype(NP_DTYPE[tag])
    model = models[f"rank{rank}_{tag}"]
    (want,) = python_forward(model, x)
    got = run_forward(fortran_exe("forward_driver"), model, tag, x, want.shape, tmp_path)
    assert_close(got, want, RTOL[tag])
    # independent reference: the analytic map the test model implements
    n = int(np.prod(FEATURES[rank])) if FEATURES[rank] else 1
    w = (np.arange(1, n + 1) / n).reshape(FEATURES[rank])
    ref = 2 * np.sin(x.astype(np.float64)) + 0.5 * x.astype(np.float64) ** 2 + w
    assert_close(got, ref, 1e-6 if tag == "32" else 1e-12)


def numpy_mlp(path, x: np.ndarray) -> np.ndarray:
    """Independent float64 numpy evaluation of an exported tanh MLP with normalisation."""
    module, card = load(path)
    sd = {k: v.double().numpy() for k, v in module.state_dict().items()}
    norm = card["normalisation"]
    h = (x - np.array(norm["x"]["mean"])) / np.array(norm["x"]["std"])
    layers = sorted({k.rsplit(".", 1)[0] for k in sd if k.startswith("core.net.")},
                    key=lambda s: int(s.split(".")[-1]))
    for i, layer in enumerate(layers):
        h = h @ sd[f"{layer}.weight"].T + sd[f"{layer}.bias"]
        if i < len(layers) - 1:
            h = np.tanh(h)
    return h * np.array(norm["y"]["std"]) + np.array(norm["y"]["mean"])


@pytest.mark.parametrize("tag", ["32", "64"])
@pytest.mark.parametrize("threads", [1, 2])
def test_mlp_with_normalisation(fortran_exe, models, tmp_path, tag, threads):
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=(NCOL, 8)).astype(NP_DTYPE[tag])
    model = models[f"mlp{tag}"]
    (want,) = python_forward(model, x)
    got = run_forward(fortran_exe("forward_driver"), model, tag, x, want.shape, tmp_path,
                      threads=threads)
    assert_close(got, want, RTOL[tag])
    assert_close(got, numpy_mlp(model, x.astype(np.float64)),
                 1e-5 if tag == "32" else 1e-12)


@pytest.mark.parametrize("tag", ["32", "64"])
def test_several_inputs_and_outputs(fortran_exe, models, tmp_path, tag):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(NCOL, 8)).astype(NP_DTYPE[tag])
    z = rng.normal(size=(NCOL, 3)).astype(NP_DTYPE[tag])
    model = models[f"multi{tag}"]
    want_y, want_w = python_forward(model, x, z)
    fin, fout = tmp_path / "in.bin", tmp_path / "out.bin"
    with open(fin, "wb") as fh:
        x.tofile(fh)
        z.tofile(fh)
    proc = run([fortran_exe("multi_driver"), model, 4 if tag == "32" else 8, NCOL, fin, fout])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = np.fromfile(fout, dtype=NP_DTYPE[tag])
    got_y, got_w = raw[: 8 * NCOL].reshape(NCOL, 8), raw[8 * NCOL:].reshape(NCOL, 2)
    assert_close(got_y, want_y, RTOL[tag])
    assert_close(got_w, want_w, RTOL[tag])


def test_demo_example_program(models, tmp_path):
    """The installed example 01 compiles with climlearn.compile and reproduces Python."""
    from climlearn import compile as cl_compile
    from climlearn import paths

    exe = cl_compile.fortran_program(
        [paths.fortran_examples_dir() / "01_mlp_forward" / "main.f90"], tmp_path / "ex01")
    x = np.random.default_rng(11).normal(3.0, 2.0, size=(5, 8)).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    proc = run([exe, models["mlp32"], 5, tmp_path / "x.bin", tmp_path / "y.bin"])
    assert proc.returncode == 0, proc.stderr
    assert "model input  x [K]" in proc.stdout
    got = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(5, 8)
    assert_close(got, python_forward(models["mlp32"], x)[0], 1e-6)
