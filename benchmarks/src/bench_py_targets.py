"""Python functions timed by bench_python.f90 (benchmarks/python_bridge_latency.py)."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from climlearn.export import load

_MODEL: list[torch.jit.ScriptModule] = []
# The inputs are read-only views of Fortran memory; torch only reads them here.
warnings.filterwarnings("ignore", message="The given NumPy array is not writable")


def setup(path: np.ndarray) -> None:
    """Load the model whose path arrives as character codes; one intra-op thread."""
    torch.set_num_threads(1)
    module, _ = load("".join(chr(int(c)) for c in path))
    _MODEL[:] = [module]


def identity(x: np.ndarray) -> dict[str, np.ndarray]:
    """y = x (the bridge's own cost: views in, one copy into the Fortran output)."""
    return {"y": x}


def mlp(x: np.ndarray) -> dict[str, np.ndarray]:
    """The exported MLP on x(nfeat, ncol): torch sees the (ncol, nfeat) tensor without a copy."""
    with torch.inference_mode():
        y = _MODEL[0](torch.from_numpy(x.T))
    return {"y": y.numpy().T}
