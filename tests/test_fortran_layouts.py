"""Host-model layouts of the Fortran module (cl_layout_forward), against numpy/torch.

LMDZ-style columns (klon, klev), NEMO-style masked (jpi, jpj, jpk) gather/scatter,
chunking, the guard with its reference fallback, and errors. The Fortran drivers are in
tests/fortran/ and are compiled against the installed package.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from climlearn.export import to_torchscript
from climlearn.models import MLP

from .conftest import run
from .test_fortran_bridge import assert_close, python_forward

KLON, KLEV = 37, 6
JPI, JPJ, JPK = 9, 7, 5
NP_DTYPE = {"32": np.float32, "64": np.float64}
TORCH_DTYPE = {"32": torch.float32, "64": torch.float64}
RTOL = {"32": 1e-6, "64": 1e-12}
# status codes of climlearn.h
OK, ARGUMENT, SHAPE, NONFINITE, STATE = 0, 1, 5, 7, 9


class ThreeInTwoOut(nn.Module):
    """T (n, 6), q (n, 6), ps (n, 1) -> dT (n, 6), dq (n, 6): several named inputs."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.a = nn.Linear(2 * KLEV + 1, 24, dtype=dtype)
        self.b = nn.Linear(24, 2 * KLEV, dtype=dtype)

    def forward(self, t: torch.Tensor, q: torch.Tensor,
                ps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.b(torch.tanh(self.a(torch.cat([t / 300.0, q * 100.0, ps / 1e5], dim=-1))))
        return y[:, :KLEV], y[:, KLEV:]


class Log(nn.Module):
    """y = log(x): NaN where x < 0, -Inf where x = 0 (a model that can go wrong)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.log(x)


def _mlp(path, n_in: int, n_out: int, tag: str, seed: int, scale: np.ndarray):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dt = TORCH_DTYPE[tag]
    net = MLP(n_in, n_out, hidden=(32, 32), activation="tanh", dtype=dt)
    x = torch.tensor(rng.normal(1.0, 1.0, (64, n_in)) * scale, dtype=dt)
    return to_torchscript(net, path, example_inputs=x, input_names=["x"], output_names=["y"],
                          normalisation={"x": (x.mean(0), x.std(0)), "y": (0.0, 1e-3)},
                          seed=seed)


@pytest.fixture(scope="module")
def lmodels(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("layout_models")
    out = {}
    col_scale = np.r_[np.full(KLEV, 280.0), np.full(KLEV, 0.01), 1e5]
    ocean_scale = np.r_[np.full(JPK, 15.0), np.full(JPK, 35.0), 0.1]
    for tag in ("32", "64"):
        dt = TORCH_DTYPE[tag]
        out[f"col{tag}"] = _mlp(d / f"col{tag}.pt", 2 * KLEV + 1, 2 * KLEV, tag, 1, col_scale)
        out[f"ocean{tag}"] = _mlp(d / f"ocean{tag}.pt", 2 * JPK + 1, JPK + 1, tag, 2,
                                  ocean_scale)
        torch.manual_seed(3)
        ex = (torch.rand(8, KLEV, dtype=dt) * 300, torch.rand(8, KLEV, dtype=dt) * 0.01,
              torch.rand(8, 1, dtype=dt) * 1e5)
        out[f"multi{tag}"] = to_torchscript(ThreeInTwoOut(dt), d / f"multi{tag}.pt",
                                            example_inputs=ex, input_names=["T", "q", "ps"],
                                            output_names=["dT", "dq"])
        out[f"log{tag}"] = to_torchscript(Log(), d / f"log{tag}.pt",
                                          example_inputs=torch.rand(8, 4, dtype=dt) + 0.5,
                                          input_names=["x"], output_names=["y"])
    return out


def host_cast(a: np.ndarray, kind: int) -> np.ndarray:
    """Values as a real(kind) host array holds them (real64 back for comparison)."""
    return a.astype(np.float32).astype(np.float64) if kind == 4 else a


# ---- LMDZ-style columns ----------------------------------------------------------------

@pytest.mark.parametrize("model,kind", [("col32", 4), ("col64", 8), ("col32", 8),
                                        ("col64", 4), ("multi64", 8), ("multi32", 4)])
def test_column_call(fortran_exe, lmodels, tmp_path, model, kind):
    tag = model[-2:]
    rng = np.random.default_rng(5)
    t = rng.normal(280.0, 15.0, (KLEV, KLON))          # numpy (klev, klon) = Fortran (klon, klev)
    q = rng.uniform(0.0, 0.02, (KLEV, KLON))
    ps = rng.normal(1e5, 1e3, KLON)
    fin, fout = tmp_path / "in.bin", tmp_path / "out.bin"
    np.concatenate([t.ravel(), q.ravel(), ps]).tofile(fin)
    chunk = 8
    proc = run([fortran_exe("columns_driver"), lmodels[model], kind, KLON, KLEV, chunk, fin,
                fout])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = np.fromfile(fout).reshape(8, KLEV, KLON)

    # what the model sees: host values converted to the model's dtype, features first
    ht, hq, hps = (host_cast(a, kind).astype(NP_DTYPE[tag]) for a in (t, q, ps))
    if model.startswith("multi"):
        want_t, want_q = python_forward(lmodels[model], ht.T.copy(), hq.T.copy(),
                                        hps[:, None].copy())
    else:
        (y,) = python_forward(lmodels[model], np.concatenate([ht, hq, hps[None]]).T.copy())
        want_t, want_q = y[:, :KLEV], y[:, KLEV:]
    want_t = host_cast(want_t.astype(np.float64), kind)
    want_q = host_cast(want_q.astype(np.float64), kind)
    rtol = RTOL["32"] if "32" in (tag, str(kind * 8)) else RTOL["64"]
    assert_close(res[0].T, want_t, rtol)
    assert_close(res[1].T, want_q, rtol)
    # chunked (8 columns per call, last chunk 5) equals one call, bit for bit
    np.testing.assert_array_equal(res[2:4], res[0:2])
    # in place (outputs are the input arrays) equals the out-of-place call
    np.testing.assert_array_equal(res[6:8], res[2:4])
    if not model.startswith("multi"):
        # the layout equals a per-column loop of cl_model_forward, bit for bit
        np.testing.assert_array_equal(res[4:6], res[0:2])


# ---- NEMO-style masked gather / scatter ------------------------------------------------

def ocean_case(seed: int = 7):
    """Fields, a basin mask with bathymetry, and the values the outputs hold before."""
    rng = np.random.default_rng(seed)
    shape3 = (JPK, JPJ, JPI)                            # numpy of Fortran (jpi, jpj, jpk)
    tn = rng.normal(15.0, 5.0, shape3)
    sn = rng.normal(35.0, 0.5, shape3)
    utau = rng.normal(0.0, 0.1, (JPJ, JPI))
    depth = rng.integers(0, JPK + 1, (JPJ, JPI))        # wet levels per column, 0 = land
    depth[0, :] = 0                                     # a land row
    depth[3, 4] = JPK
    tmask = (np.arange(JPK)[:, None, None] < depth[None]).astype(np.float64)
    tn[tmask == 0] = 0.0                                # as NEMO stores land
    kz0 = rng.normal(-5.0, 1.0, shape3)                 # random: any write shows
    hbl0 = rng.normal(-9.0, 1.0, (JPJ, JPI))
    return tn, sn, utau, tmask, kz0, hbl0


@pytest.mark.parametrize("maskdim", [2, 3])
@pytest.mark.parametrize("model,kind", [("ocean32", 4), ("ocean64", 8), ("ocean32", 8)])
def test_ocean_gather_scatter(fortran_exe, lmodels, tmp_path, model, kind, maskdim):
    tag = model[-2:]
    tn, sn, utau, tmask, kz0, hbl0 = ocean_case()
    water = tmask[0] > 0                                # (jpj, jpi)
    nwater = int(water.sum())
    assert 0 < nwater < JPI * JPJ and (tmask.sum(0)[water] < JPK).any()

    # reference: gather the water columns in numpy, run the exported model in Python
    x = np.concatenate([host_cast(tn, kind)[:, water], host_cast(sn, kind)[:, water],
                        host_cast(utau, kind)[water][None]]).T.astype(NP_DTYPE[tag])
    (y,) = python_forward(lmodels[model], x.copy())
    y = host_cast(y.astype(np.float64), kind)           # (nwater, jpk + 1)
    written = (tmask > 0) if maskdim == 3 else np.broadcast_to(water, tmask.shape)
    w = written[:, water]                               # (jpk, nwater): points written
    # the guard's threshold: half of the columns have a written value above it
    yw = np.where(np.r_[w, np.ones((1, nwater), bool)].T, y, -np.inf)
    colmax = np.sort(yw.max(axis=1))
    vmax = float(colmax[nwater // 2 - 1] + colmax[nwater // 2]) / 2
    assert np.abs(y - vmax).min() > 1e-4 * np.abs(y).max(), "a value sits at vmax"

    fin, fout = tmp_path / "in.bin", tmp_path / "out.bin"
    np.concatenate([a.ravel() for a in (tn, sn, utau, tmask, kz0, hbl0)]).tofile(fin)
    proc = run([fortran_exe("ocean_driver"), lmodels[model], kind, JPI, JPJ, JPK, 4, maskdim,
                f"{vmax:.17g}", fin, fout])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n3 = JPK * JPJ * JPI
    raw = np.fromfile(fout)
    kzs = raw[: 3 * n3].reshape(3, JPK, JPJ, JPI)
    hbls = raw[3 * n3: 3 * n3 + 3 * JPJ * JPI].reshape(3, JPJ, JPI)
    bad = raw[3 * n3 + 3 * JPJ * JPI:].reshape(JPJ, JPI) > 0.5
    out = dict(re.findall(r"^(\w+) (.*)$", proc.stdout, re.M))
    assert int(out["NWATER"]) == nwater

    rtol = RTOL["32"] if "32" in (tag, str(kind * 8)) else RTOL["64"]
    kz, hbl = kzs[0], hbls[0]
    # land (and, with the 3-D mask, below the bottom) bit-identical to what was there
    np.testing.assert_array_equal(kz[~written], host_cast(kz0, kind)[~written])
    np.testing.assert_array_equal(hbl[~water], host_cast(hbl0, kind)[~water])
    # ocean points: the model's output for their column
    want_kz = np.broadcast_to(y[:, :JPK].T, (JPK, nwater))
    got_kz = kz[:, water]
    assert_close(got_kz[w], want_kz[w], rtol)
    assert_close(hbl[water], y[:, JPK], rtol)
    # chunked (4 columns per call) equals one call, bit for bit
    np.testing.assert_array_equal(kzs[1], kzs[0])
    np.testing.assert_array_equal(hbls[1], hbls[0])

    # guard with valid_max: a column is rejected if any value it would write exceeds vmax
    want_bad = np.zeros_like(water)
    want_bad[water] = yw.max(axis=1) > vmax
    assert 0 < want_bad.sum() < nwater
    np.testing.assert_array_equal(bad, want_bad)
    assert int(out["NBAD"]) == want_bad.sum()
    assert out["COUNTS"].split() == ["2", str(2 * nwater), str(want_bad.sum())]
    good = water & ~want_bad
    np.testing.assert_array_equal(kzs[2][:, ~good], host_cast(kz0, kind)[:, ~good])
    np.testing.assert_array_equal(hbls[2][~good], host_cast(hbl0, kind)[~good])
    np.testing.assert_array_equal(kzs[2][:, good], kzs[0][:, good])


# ---- the guard --------------------------------------------------------------------------

@pytest.mark.parametrize("model,kind", [("log32", 4), ("log64", 8), ("log32", 8)])
def test_guard_falls_back_to_reference(fortran_exe, lmodels, tmp_path, model, kind):
    tag = model[-2:]
    ncol, nlev, chunk, vmin, vmax = 23, 4, 5, -4.0, 3.5
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 5.0, (nlev, ncol))            # log in [-0.7, 1.6]: all valid
    x[2, 2] = -1.0       # column 3: NaN
    x[0, 6] = 0.0        # column 7: -Inf
    x[3, 11] = 100.0     # column 12: log = 4.6 > vmax
    x[1, 17] = 0.01      # column 18: log = -4.6 < vmin
    x[:, 20] = 0.005     # column 21: every level < vmin
    bad_cols = [3, 7, 12, 18, 21]                      # 1-based, in three different chunks
    fin, fout = tmp_path / "in.bin", tmp_path / "out.bin"
    x.tofile(fin)
    proc = run([fortran_exe("guard_driver"), lmodels[model], kind, ncol, nlev, chunk, vmin,
                vmax, fin, fout])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines.count(f"NBAD {len(bad_cols)}") == 2
    assert f"REF {' '.join(map(str, bad_cols))}" in lines
    assert f"COUNTS 2 {2 * ncol} {2 * len(bad_cols)}" in lines
    raw = np.fromfile(fout)
    y, bad = raw[: ncol * nlev].reshape(nlev, ncol), raw[ncol * nlev:] > 0.5
    assert sorted(np.flatnonzero(bad) + 1) == bad_cols
    for c in bad_cols:                                   # the reference scheme's values
        np.testing.assert_array_equal(y[:, c - 1], 1000.0 + c)
    ok = ~bad
    xm = host_cast(x, kind).astype(NP_DTYPE[tag])
    with np.errstate(divide="ignore", invalid="ignore"):
        want = host_cast(np.log(xm).astype(np.float64), kind)
    rtol = RTOL["32"] if "32" in (tag, str(kind * 8)) else RTOL["64"]
    assert_close(y[:, ok], want[:, ok], rtol)


# ---- errors -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def error_cases(fortran_exe, lmodels) -> dict[str, tuple[int, str]]:
    proc = run([fortran_exe("layout_errors"), lmodels["col32"]])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "DONE", "the host did not go on to the end"
    out = {}
    for line in lines[:-1]:
        m = re.match(r"CASE (\S+) (\d+) \| ?(.*)$", line)
        assert m, line
        out[m.group(1)] = (int(m.group(2)), m.group(3))
    return out


ERRORS = {
    "load": (OK, []),
    "not_loaded": (STATE, ["not loaded"]),
    "no_inputs": (ARGUMENT, ["at least one input", "given 0 and 1"]),
    "column_count": (SHAPE, ["input field 2", "(12, 6)", "(10)"]),
    "input_features": (SHAPE, ["inputs take 13", "x: 13", "give 12",
                               "field 1: 6, field 2: 6"]),
    "input_features_levels": (SHAPE, ["inputs take 13", "give 12", "field 1: 5"]),
    "output_features": (SHAPE, ["outputs take 12", "y: 12", "give 7"]),
    "not_contiguous": (ARGUMENT, ["input field 1", "not contiguous"]),
    "undescribed": (ARGUMENT, ["input field 2", "not described"]),
    "valid_min_size": (ARGUMENT, ["valid_min has 3 values", "expected 1 or", "(2)"]),
    "bad_shape": (SHAPE, ["bad has shape (7)", "expected (10)"]),
    "chunk_negative": (ARGUMENT, ["chunk", ">= 0", "given -1"]),
    "init_mask2": (OK, []),
    "mask_shape": (SHAPE, ["input field 1", "(5, 3, 6)", "(4, 3)", "mask"]),
    "mask_rank": (SHAPE, ["input field 1", "(10, 6)", "(4, 3)"]),
    "init_mask3": (OK, []),
    "output_not_contiguous": (ARGUMENT, ["output field 1", "not contiguous"]),
    "mask3_output_levels": (SHAPE, ["output field 1", "(4, 3, 5)", "(4, 3, 6)",
                                    "surface field (4, 3)"]),
    "model_error": (NONFINITE, ["columns 4..6 of 10", "non-finite"]),
    "retry_ok": (OK, []),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_layout_errors(error_cases, name):
    status, fragments = ERRORS[name]
    got_status, msg = error_cases[name]
    assert got_status == status, f"{name}: status {got_status}, message: {msg}"
    for frag in fragments:
        assert frag.lower() in msg.lower(), f"{name}: {frag!r} not in message {msg!r}"
    if status != OK:
        assert msg.startswith("cl_layout_"), msg


def test_layout_error_stops_without_stat(fortran_exe, lmodels):
    proc = run([fortran_exe("layout_errors"), lmodels["col32"], "stop"])
    assert proc.returncode != 0
    assert "NOT REACHED" not in proc.stdout
    assert "climlearn: cl_layout_forward" in proc.stderr and "inputs take 13" in proc.stderr
