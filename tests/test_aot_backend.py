"""The AOTInductor backend: ``to_aot`` packages (.pt2) carry the model card, reproduce the
TorchScript export from Python and from Fortran (backends aot and native), and bad
packages or wrong backends give clear errors.

Each AOT compilation takes tens of seconds, so the module compiles three packages once
(module-scoped fixtures) and every test shares them: an MLP 8-64-64-8 (float32), and the
Lorenz 96 testbed networks mlp_local (float32) and mlp_nonlocal (float64).
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from climlearn.export import ExportError, load, read_card, to_aot, to_torchscript
from climlearn.models import MLP

from .conftest import clean_env, run

NP = {torch.float32: np.float32, torch.float64: np.float64}
TOL = {torch.float32: 1e-5, torch.float64: 1e-12}
ARGUMENT, FORMAT, SHAPE = 1, 3, 5
BATCH_MAX = 5000
K = 8


def _card_kwargs(card: dict) -> dict:
    """The export arguments a TorchScript card records, to export the same model again."""
    names = [e["name"] for e in card["inputs"] + card["outputs"]]
    entries = {e["name"]: e for e in card["inputs"] + card["outputs"]}
    std_keys = {"name", "units", "long_name", "shape", "batch_dim", "dtype"}
    return dict(
        input_names=[e["name"] for e in card["inputs"]],
        output_names=[e["name"] for e in card["outputs"]],
        units={n: entries[n]["units"] for n in names},
        long_names={n: entries[n]["long_name"] for n in names},
        normalisation={n: (v["mean"], v["std"]) for n, v in card["normalisation"].items()},
        io_attributes={n: {k: v for k, v in entries[n].items() if k not in std_keys}
                       for n in names if set(entries[n]) - std_keys},
        seed=card["seed"], training_data=card["training_data"], metrics=card["metrics"],
        metadata=card["metadata"])


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    """MLP 8-64-64-8 tanh (float32) with normalisation: TorchScript and AOT exports."""
    d = tmp_path_factory.mktemp("aot_mlp")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    net = MLP(8, 8, hidden=(64, 64), activation="tanh")
    x = torch.tensor(rng.normal(3.0, 2.0, (64, 8)), dtype=torch.float32)
    kw = dict(example_inputs=x, input_names=["x"], output_names=["y"],
              units={"x": "K", "y": "K s-1"},
              normalisation={"x": (x.mean(0), x.std(0)), "y": (0.5, 2.0)}, seed=0)
    ts = to_torchscript(net, d / "mlp.pt", **kw)
    aot = to_aot(net, d / "mlp.pt2", batch_range=(1, BATCH_MAX), **kw)
    return {"ts": ts, "aot": aot, "dtype": torch.float32, "n_in": 8, "n_out": 8}


def _l96_network(tmp_path_factory, name: str, **options):
    from climlearn.testbeds.lorenz96.parametrisations import get_parametrisation

    d = tmp_path_factory.mktemp(f"aot_{name}")
    rng = np.random.default_rng(5)
    t = np.arange(600)[:, None]
    x = 3.5 + 5.0 * np.sin(0.013 * t + rng.uniform(0, 2 * np.pi, K)) \
        + 1.5 * rng.standard_normal((600, K))
    u = 2.0 * np.sin(0.5 * x) + 0.05 * x ** 2
    p = get_parametrisation(name, hidden=[16, 16], epochs=2, batch_size=256, lr=1e-2,
                            max_samples=2000, patience=5, **options)
    p.fit(x, u, seed=3, progress=False)
    ts = Path(p.export(d)["model_path"])
    _, card = load(ts)
    dtype = p.dtype
    example = torch.tensor(rng.normal(3.5, 5.0, (32, p.n_inputs)), dtype=dtype)
    aot = to_aot(p.net, d / f"{name}.pt2", example_inputs=example, batch_range=(1, 4096),
                 **_card_kwargs(card))
    return {"ts": ts, "aot": aot, "dtype": dtype, "n_in": p.n_inputs, "n_out": 1}


@pytest.fixture(scope="module")
def l96_local(tmp_path_factory):
    """The Lorenz 96 mlp_local network (float32), trained briefly, in both formats."""
    return _l96_network(tmp_path_factory, "mlp_local")


@pytest.fixture(scope="module")
def l96_nonlocal(tmp_path_factory):
    """The Lorenz 96 mlp_nonlocal network (halfwidth 2, float64) in both formats."""
    return _l96_network(tmp_path_factory, "mlp_nonlocal", halfwidth=2, dtype="float64")


def _fields(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        out.setdefault(key, value)
    return out


def _pair(fortran_exe, m, backend, ncol, tmp_path, seed=0, x=None):
    """Fortran: the TorchScript file (backend torchscript) and the package (``backend``),
    on ``x`` (ncol, n_in), random normal from ``seed`` when not given."""
    dtype = m["dtype"]
    if x is None:
        x = np.random.default_rng(seed).normal(3.0, 4.0, (ncol, m["n_in"]))
    x = np.ascontiguousarray(x, dtype=NP[dtype])
    x.tofile(tmp_path / "x.bin")
    proc = run([fortran_exe("backend_driver"), "pair", m["ts"], m["aot"], backend,
                4 if dtype == torch.float32 else 8, m["n_in"], m["n_out"], ncol,
                tmp_path / "x.bin", tmp_path / "ts.bin", tmp_path / "other.bin"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    f = _fields(proc.stdout)
    ts = np.fromfile(tmp_path / "ts.bin", dtype=NP[dtype]).reshape(ncol, m["n_out"])
    other = np.fromfile(tmp_path / "other.bin", dtype=NP[dtype]).reshape(ncol, m["n_out"])
    return f, x, ts, other


def _load(fortran_exe, path, backend):
    proc = run([fortran_exe("backend_driver"), "load", path, backend])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _fields(proc.stdout)


# ---- the package and its card ------------------------------------------------------------

def test_package_carries_the_card(mlp):
    ts_card, aot_card = read_card(mlp["ts"]), read_card(mlp["aot"])
    assert aot_card["format"] == "aot" and ts_card["format"] == "torchscript"
    assert aot_card["export_method"] == "torch.export"
    assert aot_card["aot"]["batch_range"] == [1, BATCH_MAX]
    for key in ("inputs", "outputs", "normalisation", "seed"):
        assert aot_card[key] == ts_card[key], key
    assert "native" in ts_card and "native" not in aot_card
    assert aot_card["inputs"][0]["units"] == "K"
    with zipfile.ZipFile(mlp["aot"]) as zf:
        assert any(n.endswith("archive_format") for n in zf.namelist())


@pytest.mark.parametrize("which", ["mlp", "l96_local", "l96_nonlocal"])
def test_python_package_reproduces_torchscript(which, request):
    m = request.getfixturevalue(which)
    dtype = m["dtype"]
    module, _ = load(m["ts"])
    runner, card = load(m["aot"])
    assert card["format"] == "aot"
    rng = np.random.default_rng(1)
    for ncol in (1, 3, 200):
        x = torch.tensor(rng.normal(3.0, 4.0, (ncol, m["n_in"])), dtype=dtype)
        with torch.no_grad():
            want, got = module(x), runner(x)
        assert got.dtype == dtype and got.shape == want.shape
        scale = float(want.abs().max())
        torch.testing.assert_close(got, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


# ---- Fortran: every backend reproduces TorchScript ---------------------------------------

@pytest.mark.parametrize("which", ["mlp", "l96_local", "l96_nonlocal"])
@pytest.mark.parametrize("backend", ["aot", "native", "auto"])
def test_fortran_backends_reproduce_torchscript(fortran_exe, tmp_path, which, backend, request):
    """The package with backend aot (and auto, which picks aot for a package), and the
    TorchScript file with backend native, against the TorchScript file."""
    m = request.getfixturevalue(which)
    if backend == "native":
        m = {**m, "aot": m["ts"]}
    dtype = m["dtype"]
    for ncol in (1, 7, 64, 1000):
        f, _, ts, other = _pair(fortran_exe, m, backend, ncol, tmp_path, seed=ncol)
        assert f["BACKEND_TS"] == "torchscript"
        assert f["BACKEND_OTHER"] == ("aot" if backend == "auto" else backend)
        scale = np.max(np.abs(ts))
        np.testing.assert_allclose(other, ts, rtol=TOL[dtype], atol=TOL[dtype] * scale,
                                   err_msg=f"{which} {backend} ncol={ncol}")
        if ts.size > 1:
            assert np.std(ts) > 0  # not a constant map


def test_c_program_reads_the_package(c_exe, mlp, tmp_path):
    """The C program of test_c_api (metadata getters, dtype check, forward) on the package."""
    ncol = 37
    x = np.random.default_rng(5).normal(3.0, 2.0, size=(ncol, 8)).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    proc = run([c_exe("c_api"), mlp["aot"], ncol, tmp_path / "x.bin", tmp_path / "y.bin", 1])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "OK"
    module, _ = load(mlp["ts"])
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    got = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(ncol, 8)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.max(np.abs(want)))


# ---- selection and errors ------------------------------------------------------------------

def test_loading_leaves_no_unpacked_files(fortran_exe, mlp, tmp_path):
    """A program that loads a package and ends without freeing it (as a host model that
    stops) leaves nothing under TMPDIR: the unpacked package is removed once loaded."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = clean_env()
    env["TMPDIR"] = str(scratch)
    proc = subprocess.run([str(fortran_exe("backend_driver")), "load", str(mlp["aot"]), "aot"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _fields(proc.stdout)["BACKEND"] == "aot"
    assert sorted(p.name for p in scratch.iterdir()) == []


def test_backend_selection(fortran_exe, mlp):
    assert _load(fortran_exe, mlp["aot"], "auto")["BACKEND"] == "aot"
    assert _load(fortran_exe, mlp["aot"], "AOT")["BACKEND"] == "aot"
    assert _load(fortran_exe, mlp["ts"], "auto")["BACKEND"] == "native"
    f = _load(fortran_exe, mlp["aot"], "native")
    assert int(f["STAT"]) == FORMAT
    assert "with the native backend: model has no native description" in f["MSG"]
    f = _load(fortran_exe, mlp["aot"], "torchscript")
    assert int(f["STAT"]) == FORMAT
    assert "is an AOTInductor package (.pt2); backend 'torchscript' runs TorchScript" in f["MSG"]
    f = _load(fortran_exe, mlp["ts"], "aot")
    assert int(f["STAT"]) == FORMAT
    assert "is a TorchScript archive; backend 'aot' runs AOTInductor packages" in f["MSG"]
    f = _load(fortran_exe, mlp["aot"], "tvm")
    assert int(f["STAT"]) == ARGUMENT
    assert "valid names are auto, torchscript, aot, native" in f["MSG"]


def test_batch_outside_the_compiled_range(fortran_exe, mlp, tmp_path):
    ncol = BATCH_MAX + 1
    x = np.ones((ncol, 8), dtype=np.float32)
    x.tofile(tmp_path / "x.bin")
    proc = run([fortran_exe("backend_driver"), "pair", mlp["ts"], mlp["aot"], "aot", 4, 8, 8,
                ncol, tmp_path / "x.bin", tmp_path / "a.bin", tmp_path / "b.bin"])
    assert proc.returncode != 0
    assert f"batch of {ncol} columns is outside the range 1..{BATCH_MAX}" in \
        proc.stdout + proc.stderr


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a package, passing every metadata JSON file of the model through ``edit``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.endswith("_metadata.json"):
                data = json.dumps(edit(json.loads(data))).encode()
            zout.writestr(info, data)
    return dst


def test_bad_packages_give_clear_errors(fortran_exe, mlp, tmp_path):
    src = Path(mlp["aot"])
    data = src.read_bytes()
    (tmp_path / "half.pt2").write_bytes(data[: len(data) // 2])
    f = _load(fortran_exe, tmp_path / "half.pt2", "auto")
    assert int(f["STAT"]) == FORMAT and "truncated or corrupt file?" in f["MSG"], f

    def other_machine(meta):
        return {**meta, "AOTI_MACHINE": "aarch64", "AOTI_CPU_ISA": "NEON"}

    f = _load(fortran_exe, _rewrite(src, tmp_path / "arm.pt2", other_machine), "aot")
    assert int(f["STAT"]) == FORMAT
    assert "was compiled for architecture 'aarch64', this machine is 'x86_64'" in f["MSG"]
    assert "export the model again on this machine" in f["MSG"]

    def future_isa(meta):
        return {**meta, "AOTI_CPU_ISA": "AMX9000"}

    f = _load(fortran_exe, _rewrite(src, tmp_path / "isa.pt2", future_isa), "aot")
    assert int(f["STAT"]) == FORMAT and "AMX9000" in f["MSG"] and "this CPU lacks" in f["MSG"]

    def no_card(meta):
        return {k: v for k, v in meta.items() if k != "climlearn/meta.json"}

    f = _load(fortran_exe, _rewrite(src, tmp_path / "nocard.pt2", no_card), "auto")
    assert int(f["STAT"]) == FORMAT
    assert "has no climlearn model card" in f["MSG"] and "to_aot" in f["MSG"]
    with pytest.raises(ValueError, match="no climlearn model card"):
        read_card(tmp_path / "nocard.pt2")

    # an intact copy still loads: the rewrite itself is harmless
    f = _load(fortran_exe, _rewrite(src, tmp_path / "same.pt2", dict), "aot")
    assert int(f["STAT"]) == 0 and f["BACKEND"] == "aot"


# ---- what cannot be exported -------------------------------------------------------------

class DataDependent(nn.Module):
    """Control flow on values: torch.export cannot capture it."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.lin(x)
        return -x


class FixedBatch(nn.Module):
    """Bakes the batch size into a reshape: the batch cannot be dynamic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(6, 4) * 2.0


@pytest.mark.parametrize("model", [DataDependent(), FixedBatch()], ids=["data", "batch"])
def test_unexportable_models_fail_with_advice(model, tmp_path):
    with pytest.raises(ExportError) as info:
        to_aot(model, tmp_path / "m.pt2", example_inputs=torch.randn(6, 4), output_names=["y"])
    msg = str(info.value)
    assert "torch.export cannot capture this model" in msg
    assert "to_torchscript" in msg
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_bad_arguments(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"must be named \*.pt2"):
        to_aot(net, tmp_path / "m.pt", example_inputs=torch.randn(4, 3), output_names=["y"])
    with pytest.raises(ValueError, match=r"1 <= min <= max, given \(8, 2\)"):
        to_aot(net, tmp_path / "m.pt2", example_inputs=torch.randn(4, 3), output_names=["y"],
               batch_range=(8, 2))
