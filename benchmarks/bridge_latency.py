"""Per-call cost of running an exported MLP 8-64-64-8 (float32) from Fortran, from
Python, and through a bare libtorch C++ forward, at 1, 64 and 4096 columns; and the
growth of resident memory over 1,000,000 Fortran calls.

Run with ``make bench`` or ``.venv/bin/python benchmarks/bridge_latency.py``.
One intra-op thread everywhere (the climlearn default, one per MPI rank). Each figure
is the median over REPEATS timed loops after a warm-up; the three ways are run in
ROUNDS interleaved rounds and the best round is kept, so background load on a shared
machine biases none of them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from climlearn import compile as cl_compile
from climlearn.export import load, to_torchscript
from climlearn.models import MLP

HERE = Path(__file__).resolve().parent
CALLS = {1: 20000, 64: 10000, 4096: 300}
REPEATS = 5
ROUNDS = 3


def build(workdir: Path) -> tuple[Path, Path]:
    fexe = cl_compile.fortran_program([HERE / "src" / "bench_fortran.f90"],
                                      workdir / "bench_fortran")
    tdir = Path(torch.__file__).parent
    cexe = workdir / "bench_libtorch"
    abi = int(torch.compiled_with_cxx11_abi())
    cmd = ["g++", "-O2", "-std=c++17", f"-D_GLIBCXX_USE_CXX11_ABI={abi}",
           "-isystem", str(tdir / "include"),
           "-isystem", str(tdir / "include/torch/csrc/api/include"),
           str(HERE / "src" / "bench_libtorch.cpp"), f"-L{tdir / 'lib'}",
           f"-Wl,-rpath,{tdir / 'lib'}", "-ltorch", "-ltorch_cpu", "-lc10", "-o", str(cexe)]
    subprocess.run(cmd, check=True)
    return fexe, cexe


def parse(out: str, key: str) -> list[float]:
    for line in out.splitlines():
        if line.startswith(key):
            return [float(v) for v in line.split()[1:]]
    raise RuntimeError(f"{key} not in output:\n{out}")


def time_python(model: Path, ncol: int, ncalls: int) -> float:
    torch.set_num_threads(1)
    module, _ = load(model)
    x = torch.rand(ncol, 8)
    with torch.inference_mode():
        for _ in range(1000):
            module(x)
        us = []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            for _ in range(ncalls):
                module(x)
            us.append((time.perf_counter() - t0) * 1e6 / ncalls)
    return statistics.median(us)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-calls", type=int, default=1_000_000)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.manual_seed(0)
        model = to_torchscript(MLP(8, 8, hidden=(64, 64)), work / "mlp.pt",
                               example_inputs=torch.rand(16, 8), output_names=["y"])
        fexe, cexe = build(work)
        rows = []
        for ncol, ncalls in CALLS.items():
            argv = [str(model), str(ncol), str(ncalls), str(REPEATS)]
            f_all, c_all, p_all = [], [], []
            for _ in range(ROUNDS):
                f_all.append(parse(subprocess.run([str(fexe), *argv], env=env,
                                                  capture_output=True, text=True,
                                                  check=True).stdout, "US_PER_CALL")[0])
                c_all.append(parse(subprocess.run([str(cexe), *argv], env=env,
                                                  capture_output=True, text=True,
                                                  check=True).stdout, "US_PER_CALL")[0])
                p_all.append(time_python(model, ncol, ncalls))
            rows.append((ncol, min(f_all), min(p_all), min(c_all)))

        print(f"MLP 8-64-64-8 float32, 1 thread, best of {ROUNDS} rounds of the median of "
              f"{REPEATS} loops; torch "
              f"{torch.__version__}, {os.cpu_count()} cores")
        print(f"{'ncol':>6} {'Fortran us':>11} {'Python us':>10} {'C++ us':>8} "
              f"{'Fortran/Python':>15} {'Fortran-C++ us':>15}")
        for ncol, f_us, p_us, c_us in rows:
            print(f"{ncol:>6} {f_us:>11.2f} {p_us:>10.2f} {c_us:>8.2f} {f_us / p_us:>15.2f} "
                  f"{f_us - c_us:>15.2f}")

        n = args.memory_calls
        out = subprocess.run([str(fexe), str(model), "1", str(n), "1"], env=env,
                             capture_output=True, text=True, check=True).stdout
        rss0, rss1 = parse(out, "RSS_KB")
        print(f"\nresident memory, Fortran, ncol=1: {rss0 / 1024:.1f} MiB after warm-up, "
              f"{rss1 / 1024:.1f} MiB after {n:,} more calls: growth "
              f"{(rss1 - rss0):.0f} KiB ({(rss1 - rss0) * 1024 / n:.3f} bytes/call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
