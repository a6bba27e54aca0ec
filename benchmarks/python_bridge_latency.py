"""Per-call cost of calling Python from Fortran (``cl_py_call``) next to the TorchScript
bridge (``cl_model_forward``), at 1, 64 and 4096 columns.

The model is the MLP 8-64-64-8 (float32) of ``bridge_latency.py``. From one Fortran
program (benchmarks/src/bench_python.f90), for x(8, ncol) -> y(8, ncol):

- ``py identity``: ``cl_py_call`` of a Python function returning its input: the bridge's
  own cost (zero-copy views in, one copy into the Fortran output);
- ``py MLP``: ``cl_py_call`` of a function running the same exported file with torch in the
  embedded interpreter (``torch.from_numpy`` on the view: no copy in);
- ``TorchScript``, ``native``: ``cl_model_forward`` with the two backends of libclimlearn.

Ratios are against the TorchScript bridge. One intra-op thread everywhere. Each figure is
the median over REPEATS timed loops after a warm-up; the whole program runs ROUNDS times
and the best round of each way is kept (background load on a shared machine).
Run: ``.venv/bin/python benchmarks/python_bridge_latency.py``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import torch

from climlearn import compile as cl_compile
from climlearn.config_tool import _value
from climlearn.export import to_torchscript
from climlearn.models import MLP

HERE = Path(__file__).resolve().parent
CALLS = {1: 2000, 64: 1000, 4096: 50}
REPEATS = 5
ROUNDS = 3
WAYS = ("py_identity", "py_mlp", "torchscript", "native")
LABELS = {"py_identity": "py identity", "py_mlp": "py MLP", "torchscript": "TorchScript",
          "native": "native"}


def run(exe: Path, model: Path, ncol: int, ncalls: int, env: dict[str, str]
        ) -> dict[str, float]:
    out = subprocess.run([str(exe), str(model), str(HERE / "src"), str(ncol), str(ncalls),
                          str(REPEATS)], env=env, capture_output=True, text=True,
                         check=True).stdout
    got = {}
    for line in out.splitlines():
        if line.startswith("US_PER_CALL"):
            _, way, us = line.split()
            got[way] = float(us)
    missing = [w for w in WAYS if w not in got]
    if missing:
        raise RuntimeError(f"no timing for {missing} in:\n{out}")
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items()
           if k not in ("LD_LIBRARY_PATH", "PYTHONPATH")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.manual_seed(0)
        model = to_torchscript(MLP(8, 8, hidden=(64, 64)), work / "mlp.pt",
                               example_inputs=torch.rand(16, 8), output_names=["y"])
        exe = cl_compile.fortran_program([HERE / "src" / "bench_python.f90"],
                                         work / "bench_python",
                                         extra_flags=shlex.split(_value("python-libs")))
        rows = []
        for ncol, ncalls in CALLS.items():
            best = {w: float("inf") for w in WAYS}
            for _ in range(args.rounds):
                for way, us in run(exe, model, ncol, ncalls, env).items():
                    best[way] = min(best[way], us)
            rows.append((ncol, best))
    head = f"{'columns':>8s}" + "".join(f"{LABELS[w] + ' us':>16s}" for w in WAYS)
    head += f"{'py id / TS':>12s}{'py MLP / TS':>13s}"
    print("MLP 8-64-64-8 float32, one thread; microseconds per call from Fortran "
          f"(best of {args.rounds} rounds of the median of {REPEATS} loops)")
    print(head)
    for ncol, b in rows:
        line = f"{ncol:8d}" + "".join(f"{b[w]:16.2f}" for w in WAYS)
        line += f"{b['py_identity'] / b['torchscript']:12.2f}"
        line += f"{b['py_mlp'] / b['torchscript']:13.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
