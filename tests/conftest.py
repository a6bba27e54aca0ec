"""Shared fixtures: exported test models and programs compiled against the INSTALLED
climlearn with the flags of ``climlearn-config``."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from climlearn.export import to_torchscript
from climlearn.models import MLP

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NCOL = 37


def config_flags(*keys: str) -> list[str]:
    """Flags from the installed ``climlearn-config`` console script."""
    exe = shutil.which("climlearn-config") or str(Path(os.sys.executable).parent /
                                                  "climlearn-config")
    out = subprocess.run([exe, *[f"--{k}" for k in keys]], check=True,
                         capture_output=True, text=True).stdout
    return shlex.split(out)


def clean_env() -> dict[str, str]:
    """The environment without LD_LIBRARY_PATH: programs must run through their RPATHs."""
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    return env


def run(cmd, **kw) -> subprocess.CompletedProcess:
    """Run a program in the clean environment, capturing text output."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                          env=clean_env(), timeout=kw.pop("timeout", 300), **kw)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a whole test module (small case-study runs are fastest so, and
    robust on a busy machine); use with ``pytestmark = pytest.mark.usefixtures(...)``."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


# ---- models --------------------------------------------------------------------------

class TwoInTwoOut(torch.nn.Module):
    """x (n, 8), z (n, 3) -> y (n, 8), w (n, 2)."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.a = torch.nn.Linear(11, 16, dtype=dtype)
        self.b = torch.nn.Linear(16, 8, dtype=dtype)
        self.c = torch.nn.Linear(16, 2, dtype=dtype)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.a(torch.cat([x, z], dim=-1)))
        return self.b(h), self.c(h)


class Elementwise(torch.nn.Module):
    """Same-shape map for any rank: y = 2 sin(x) + 0.5 x^2 + s * position weight."""

    def __init__(self, feature_shape: tuple[int, ...], dtype: torch.dtype) -> None:
        super().__init__()
        n = int(np.prod(feature_shape)) if feature_shape else 1
        w = torch.arange(1, n + 1, dtype=dtype).reshape(feature_shape) / n
        self.register_buffer("w", w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * torch.sin(x) + 0.5 * x * x + self.w


def _seeded(seed: int) -> np.random.Generator:
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def export_mlp(path: Path, dtype: torch.dtype, seed: int = 0) -> Path:
    rng = _seeded(seed)
    net = MLP(8, 8, hidden=(64, 64), activation="tanh", dtype=dtype)
    x = torch.tensor(rng.normal(3.0, 2.0, (64, 8)), dtype=dtype)
    xm, xs = x.mean(0), x.std(0)
    return to_torchscript(net, path, example_inputs=x, input_names=["x"],
                          output_names=["y"], units={"x": "K", "y": "K s-1"},
                          normalisation={"x": (xm, xs), "y": (0.5, 2.0)}, seed=seed)


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    """Exported models, by name."""
    d = tmp_path_factory.mktemp("models")
    out = {
        "mlp32": export_mlp(d / "mlp32.pt", torch.float32),
        "mlp64": export_mlp(d / "mlp64.pt", torch.float64),
    }
    rng = _seeded(1)
    for dt, tag in ((torch.float32, "32"), (torch.float64, "64")):
        ex = (torch.tensor(rng.normal(size=(16, 8)), dtype=dt),
              torch.tensor(rng.normal(size=(16, 3)), dtype=dt))
        out[f"multi{tag}"] = to_torchscript(
            TwoInTwoOut(dt), d / f"multi{tag}.pt", example_inputs=ex,
            input_names=["x", "z"], output_names=["y", "w"])
        for shape in ((), (6,), (4, 5), (2, 3, 4)):
            rank = len(shape) + 1
            ex1 = torch.tensor(rng.normal(size=(16, *shape)), dtype=dt)
            out[f"rank{rank}_{tag}"] = to_torchscript(
                Elementwise(shape, dt), d / f"rank{rank}_{tag}.pt", example_inputs=ex1,
                input_names=["x"], output_names=["y"])
    return out


# ---- programs ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("programs")


@pytest.fixture(scope="session")
def fortran_exe(build_dir):
    """Compile ``tests/fortran/<name>.f90`` against the installed package (cached)."""
    cache: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in cache:
            exe = build_dir / name
            src = HERE / "fortran" / f"{name}.f90"
            cmd = ["gfortran", "-O2", "-Wall", str(src), *config_flags("fflags"),
                   "-J", str(build_dir), *config_flags("libs"), "-o", str(exe)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"{shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
            cache[name] = exe
        return cache[name]

    return build


@pytest.fixture(scope="session")
def c_exe(build_dir):
    """Compile ``tests/c/<name>.c`` using only climlearn.h and the C library."""
    cache: dict[str, Path] = {}

    def build(name: str) -> Path:
        if name not in cache:
            exe = build_dir / f"c_{name}"
            src = HERE / "c" / f"{name}.c"
            cmd = ["gcc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", str(src),
                   *config_flags("cflags"), *config_flags("clibs"), "-o", str(exe)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            assert proc.returncode == 0, f"{shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
            cache[name] = exe
        return cache[name]

    return build
