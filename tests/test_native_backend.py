"""The native kernel for MLP-shaped models: what the exporter records, backend selection
and its errors, and agreement with the TorchScript backend run from Fortran."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from climlearn.export import load, to_torchscript
from climlearn.models import MLP, Exp

from .conftest import TwoInTwoOut, run

NP = {torch.float32: np.float32, torch.float64: np.float64}
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
ARGUMENT, FORMAT, SHAPE, DTYPE, NONFINITE = 1, 3, 5, 6, 7


def _export(path, dtype=torch.float32, activation="tanh", norm=True, n_in=5, n_out=3,
            hidden=(17, 33), seed=0):
    torch.manual_seed(seed)
    net = MLP(n_in, n_out, hidden=hidden, activation=activation, dtype=dtype)
    ex = torch.randn(10, n_in, dtype=dtype) * 3 + 1
    normalisation = None
    if norm:
        normalisation = {"x": (1.0, torch.linspace(1.0, 4.0, n_in)),
                         "y": (torch.linspace(-1.0, 2.0, n_out), 2.5)}
    return to_torchscript(net, path, example_inputs=ex, output_names=["y"],
                          normalisation=normalisation)


def _fields(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, value)
    return out


# ---- the exporter's description --------------------------------------------------------

def test_card_describes_an_mlp(tmp_path):
    _, card = load(_export(tmp_path / "m.pt", activation="gelu"))
    native = card["native"]
    assert native["version"] == 1
    assert native["layers"] == [
        {"op": "linear", "weight": "core.net.0.weight", "bias": "core.net.0.bias"},
        {"op": "gelu"},
        {"op": "linear", "weight": "core.net.2.weight", "bias": "core.net.2.bias"},
        {"op": "gelu"},
        {"op": "linear", "weight": "core.net.4.weight", "bias": "core.net.4.bias"},
    ]
    assert native["norm_in"] == {"mean": "norm_in_0.mean", "std": "norm_in_0.std"}
    assert native["norm_out"] == {"mean": "norm_out_0.mean", "std": "norm_out_0.std"}


def test_card_describes_a_nested_sequential(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.SiLU(), nn.Linear(4, 2, bias=False)),
                        nn.GELU(approximate="tanh"), nn.Identity(), nn.Sigmoid())
    path = to_torchscript(net, tmp_path / "s.pt", example_inputs=torch.randn(4, 3),
                          output_names=["y"])
    module, card = load(path)
    native = card["native"]
    assert [layer["op"] for layer in native["layers"]] == ["linear", "silu", "linear",
                                                           "gelu_tanh", "sigmoid"]
    assert native["layers"][2] == {"op": "linear", "weight": "core.1.1.weight", "bias": None}
    assert native["norm_in"] is None and native["norm_out"] is None
    state = dict(module.named_parameters())
    assert "core.1.1.weight" in state


def test_no_description_for_other_models(tmp_path):
    ex = (torch.randn(4, 8), torch.randn(4, 3))
    _, card = load(to_torchscript(TwoInTwoOut(torch.float32), tmp_path / "t.pt",
                                  example_inputs=ex, output_names=["y", "w"]))
    assert "native" not in card
    # an unsupported activation, a non-Sequential module, a rank-3 input
    _, card = load(_export(tmp_path / "elu.pt", activation="elu"))
    assert "native" not in card
    seq = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1), nn.Linear(4, 2))
    _, card = load(to_torchscript(seq, tmp_path / "d.pt", example_inputs=torch.randn(3, 4),
                                  output_names=["y"]))
    assert "native" not in card
    lin = nn.Sequential(nn.Linear(4, 2))
    _, card = load(to_torchscript(lin, tmp_path / "r3.pt", example_inputs=torch.randn(3, 5, 4),
                                  output_names=["y"]))
    assert "native" not in card


# ---- Fortran: native reproduces TorchScript ----------------------------------------------

def _compare(fortran_exe, path, dtype, n_in, n_out, ncol, tmp_path, seed=0):
    x = np.random.default_rng(seed).normal(1.0, 3.0, (ncol, n_in)).astype(NP[dtype])
    x.tofile(tmp_path / "x.bin")
    proc = run([fortran_exe("backend_driver"), "compare", path, 4 if dtype == torch.float32
                else 8, n_in, n_out, ncol, tmp_path / "x.bin", tmp_path / "ts.bin",
                tmp_path / "auto.bin"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    f = _fields(proc.stdout)
    ts = np.fromfile(tmp_path / "ts.bin", dtype=NP[dtype]).reshape(ncol, n_out)
    auto = np.fromfile(tmp_path / "auto.bin", dtype=NP[dtype]).reshape(ncol, n_out)
    return f, x, ts, auto


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu", "silu", "sigmoid"])
@pytest.mark.parametrize("norm", [True, False], ids=["norm", "raw"])
def test_native_reproduces_torchscript(fortran_exe, tmp_path, dtype, activation, norm):
    if activation == "sigmoid":
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(5, 17, dtype=dtype), nn.Sigmoid(),
                            nn.Linear(17, 33, dtype=dtype), nn.Sigmoid(),
                            nn.Linear(33, 3, dtype=dtype))
        path = to_torchscript(net, tmp_path / "m.pt",
                              example_inputs=torch.randn(10, 5, dtype=dtype),
                              output_names=["y"],
                              normalisation={"x": (1.0, 3.0), "y": (0.5, 2.0)} if norm else None)
    else:
        path = _export(tmp_path / "m.pt", dtype=dtype, activation=activation, norm=norm)
    for ncol in (1, 7, 64, 1000):
        f, x, ts, native = _compare(fortran_exe, path, dtype, 5, 3, ncol, tmp_path, seed=ncol)
        assert f["BACKEND_AUTO"] == "native" and f["BACKEND_TS"] == "torchscript"
        scale = np.max(np.abs(ts))
        np.testing.assert_allclose(native, ts, rtol=TOL[dtype], atol=TOL[dtype] * scale,
                                   err_msg=f"ncol={ncol}")
        if ncol == 7:  # and both agree with Python
            module, _ = load(path)
            with torch.no_grad():
                want = module(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(native, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


def test_wide_network_large_batch(fortran_exe, tmp_path):
    """The BLAS path (large batches) on a wider network, float32 and float64."""
    for dtype in (torch.float32, torch.float64):
        path = _export(tmp_path / "w.pt", dtype=dtype, n_in=60, n_out=50,
                       hidden=(256, 256, 256, 256), activation="silu")
        f, _, ts, native = _compare(fortran_exe, path, dtype, 60, 50, 3000, tmp_path)
        assert f["BACKEND_AUTO"] == "native"
        scale = np.max(np.abs(ts))
        np.testing.assert_allclose(native, ts, rtol=TOL[dtype], atol=TOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("widths", [(2, 4, 2), (5, 16, 7, 3)], ids=["2-4-2", "5-16-7-3"])
def test_narrow_networks_fused_path(fortran_exe, tmp_path, dtype, widths):
    """Every width <= 16: the fused path (blocks of 16 columns, all layers at once), at
    batch sizes around the block size, with normalisation and a final exponential."""
    torch.manual_seed(1)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b, dtype=dtype), nn.Tanh() if len(widths) > 3 else nn.ReLU()]
    net = nn.Sequential(*layers[:-1], Exp())
    n_in, n_out = widths[0], widths[-1]
    path = to_torchscript(net, tmp_path / "n.pt", example_inputs=torch.randn(4, n_in, dtype=dtype),
                          output_names=["y"],
                          normalisation={"x": (1.0, torch.linspace(2.0, 4.0, n_in)),
                                         "y": (torch.linspace(-1.0, 1.0, n_out), 0.5)})
    assert load(path)[1]["native"]["layers"][-1] == {"op": "exp"}
    for ncol in (1, 15, 16, 17, 1000):
        f, x, ts, native = _compare(fortran_exe, path, dtype, n_in, n_out, ncol, tmp_path,
                                    seed=ncol)
        assert f["BACKEND_AUTO"] == "native"
        np.testing.assert_allclose(native, ts, rtol=TOL[dtype], atol=TOL[dtype],
                                   err_msg=f"ncol={ncol}")


def test_native_exp_range(fortran_exe, tmp_path):
    """exp below / above the range of normal results gives 0 / inf, as torch.exp."""
    net = nn.Sequential(nn.Linear(1, 1, dtype=torch.float64), Exp())
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.zero_()
    path = to_torchscript(net, tmp_path / "e.pt",
                          example_inputs=torch.zeros(2, 1, dtype=torch.float64),
                          output_names=["y"])
    x = np.array([-800.0, -700.0, -1.5, 0.0, 0.7, 300.0, 709.0, 800.0, np.nan])
    x.tofile(tmp_path / "x.bin")
    proc = run([fortran_exe("backend_driver"), "compare", path, 8, 1, 1, x.size,
                tmp_path / "x.bin", tmp_path / "ts.bin", tmp_path / "auto.bin"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    native = np.fromfile(tmp_path / "auto.bin")
    assert native[0] == 0.0 and np.isinf(native[-2]) and np.isnan(native[-1])
    np.testing.assert_allclose(native[1:-2], np.exp(x[1:-2]), rtol=1e-14)


# ---- selection and errors -------------------------------------------------------------------

def _load(fortran_exe, path, backend):
    proc = run([fortran_exe("backend_driver"), "load", path, backend])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _fields(proc.stdout)


def test_backend_selection_and_errors(fortran_exe, models, tmp_path):
    assert _load(fortran_exe, models["mlp32"], "auto")["BACKEND"] == "native"
    assert _load(fortran_exe, models["mlp64"], "Native")["BACKEND"] == "native"
    assert _load(fortran_exe, models["mlp32"], "torchscript")["BACKEND"] == "torchscript"
    assert _load(fortran_exe, models["multi32"], "auto")["BACKEND"] == "torchscript"
    f = _load(fortran_exe, models["multi32"], "native")
    assert int(f["STAT"]) == FORMAT
    assert "model has no native description (not an MLP-shaped climlearn export)" in f["MSG"]
    f = _load(fortran_exe, models["mlp32"], "tensorrt")
    assert int(f["STAT"]) == ARGUMENT
    assert "unknown backend 'tensorrt': valid names are auto, torchscript, aot, native" in f["MSG"]


def test_bad_inputs_are_checked_under_native(fortran_exe, models):
    proc = run([fortran_exe("backend_driver"), "bad", models["mlp32"], 8, 8])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "BACKEND native"
    cases = {}
    for head, msg in zip(lines[1::2], lines[2::2], strict=True):
        _, name, _, stat = head.split()
        cases[name] = (int(stat), msg.removeprefix("MSG ").strip())
    assert cases["wrong_shape"][0] == SHAPE and "expected Fortran shape (8, ncol)" in \
        cases["wrong_shape"][1]
    assert cases["wrong_dtype"][0] == DTYPE and "expected float32" in cases["wrong_dtype"][1]
    assert cases["wrong_batch"][0] == SHAPE and "given (8, 4)" in cases["wrong_batch"][1]
    assert cases["nan"][0] == NONFINITE and "first at Fortran index (2, 3)" in cases["nan"][1]
    assert cases["ok"][0] == 0


def test_c_api_backend_functions_are_declared():
    from climlearn import paths

    header = (paths.include_dir() / "climlearn.h").read_text()
    assert "int cl_model_load_backend(const char *path, const char *device, const char " \
           "*backend,\n" in header
    assert "int cl_model_backend(const cl_model *model, char *buf" in header
