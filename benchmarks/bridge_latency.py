"""Per-call cost of running an exported MLP 8-64-64-8 (float32) from Fortran, from
Python, and through a bare libtorch C++ forward, at 1, 64 and 4096 columns; and the
growth of resident memory over 1,000,000 Fortran calls.

From Fortran the three backends of libclimlearn are timed: the TorchScript interpreter,
the AOTInductor package (.pt2, compiled here by ``climlearn.export.to_aot``; the compile
time is printed) and the native kernel for MLP-shaped models, with the speed-up of each
over TorchScript. Three more rows: the Lorenz 96 network (1-64-64-1 tanh on 8 columns), a
narrow per-point network (2-4-2 relu + exp on 10,603 points, the ocean host's mixing
emulator; the native kernel's fused path) and a wide column emulator (60 inputs, 4 hidden
layers of 256, 60 outputs) at 10,000 columns, with its GFLOP/s and the fraction of the
sgemm rate measured here on one thread.

Run with ``make bench`` or ``.venv/bin/python benchmarks/bridge_latency.py``.
One intra-op thread everywhere (the climlearn default, one per MPI rank; OMP_NUM_THREADS=1
and MKL_NUM_THREADS=1 are also set for every program, so no backend gets more). Each figure
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
from torch import nn

from climlearn import compile as cl_compile
from climlearn.export import load, to_aot, to_torchscript
from climlearn.models import MLP, Exp

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


def fortran_us(fexe: Path, model: Path, ncol: int, ncalls: int, backend: str,
               env: dict[str, str]) -> float:
    out = subprocess.run([str(fexe), str(model), str(ncol), str(ncalls), str(REPEATS), backend],
                         env=env, capture_output=True, text=True, check=True).stdout
    got = out.split("BACKEND ", 1)[1].split()[0]
    if got != backend:
        raise RuntimeError(f"asked for backend {backend!r}, the library ran {got!r}")
    return parse(out, "US_PER_CALL")[0]


def sgemm_gflops(n: int = 10_000, k: int = 256, m: int = 256) -> float:
    """Rate of one float32 matrix product (n, k) x (k, m) on one thread (torch.mm, i.e.
    the sgemm of the BLAS torch uses), best of 5."""
    torch.set_num_threads(1)
    a, b = torch.rand(n, k), torch.rand(k, m)
    out = torch.empty(n, m)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(5):
            torch.mm(a, b, out=out)
        best = min(best, (time.perf_counter() - t0) / 5)
    return 2.0 * n * k * m / best / 1e9


def compiled(make, what: str):
    """Run an AOT export and report its compile time."""
    t0 = time.perf_counter()
    path = make()
    print(f"  (AOTInductor compile of {what}: {time.perf_counter() - t0:.0f} s)", flush=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-calls", type=int, default=1_000_000)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        torch.manual_seed(0)
        net = MLP(8, 8, hidden=(64, 64))
        ex = torch.rand(16, 8)
        model = to_torchscript(net, work / "mlp.pt", example_inputs=ex, output_names=["y"])
        package = compiled(lambda: to_aot(net, work / "mlp.pt2", example_inputs=ex,
                                          output_names=["y"], batch_range=(1, 4096)),
                           "MLP 8-64-64-8")
        fexe, cexe = build(work)
        rows = []
        for ncol, ncalls in CALLS.items():
            argv = [str(model), str(ncol), str(ncalls), str(REPEATS)]
            f_all, a_all, n_all, c_all, p_all = [], [], [], [], []
            for _ in range(ROUNDS):
                f_all.append(fortran_us(fexe, model, ncol, ncalls, "torchscript", env))
                a_all.append(fortran_us(fexe, package, ncol, ncalls, "aot", env))
                n_all.append(fortran_us(fexe, model, ncol, ncalls, "native", env))
                c_all.append(parse(subprocess.run([str(cexe), *argv], env=env,
                                                  capture_output=True, text=True,
                                                  check=True).stdout, "US_PER_CALL")[0])
                p_all.append(time_python(model, ncol, ncalls))
            rows.append((ncol, min(f_all), min(a_all), min(n_all), min(p_all), min(c_all)))

        print(f"MLP 8-64-64-8 float32, 1 thread, best of {ROUNDS} rounds of the median of "
              f"{REPEATS} loops; torch {torch.__version__}, {os.cpu_count()} cores")
        print("per call from Fortran (us), speed-up over TorchScript; Python and bare C++ "
              "libtorch run the TorchScript file")
        print(f"{'ncol':>6} {'TorchScript':>12} {'AOT':>9} {'native':>9} {'AOT x':>7} "
              f"{'native x':>9} {'best x':>7} {'Python us':>10} {'C++ us':>8}")
        for ncol, f_us, a_us, n_us, p_us, c_us in rows:
            best = min(a_us, n_us)
            print(f"{ncol:>6} {f_us:>12.2f} {a_us:>9.2f} {n_us:>9.2f} {f_us / a_us:>6.1f}x "
                  f"{f_us / n_us:>8.1f}x {f_us / best:>6.1f}x {p_us:>10.2f} {c_us:>8.2f}")

        # the Lorenz 96 coupled network: 1-64-64-1 tanh, 8 columns (K = 8, one member)
        torch.manual_seed(0)
        l96 = to_torchscript(MLP(1, 1, hidden=(64, 64), activation="tanh"), work / "l96.pt",
                             example_inputs=torch.rand(16, 1), output_names=["U"],
                             normalisation={"x": (2.5, 5.0), "U": (3.0, 8.0)})
        ts = min(fortran_us(fexe, l96, 8, 20000, "torchscript", env) for _ in range(ROUNDS))
        nat = min(fortran_us(fexe, l96, 8, 20000, "native", env) for _ in range(ROUNDS))
        print(f"\nLorenz 96 network 1-64-64-1 tanh, 8 columns, from Fortran: TorchScript "
              f"{ts:.2f} us, native {nat:.2f} us per call ({ts / nat:.1f}x)")

        # a narrow per-point network, as the ocean host's mixing emulator: 2-4-2 relu ending
        # in exp, float32, on the 10,603 water interfaces of the ocean basin (fused path)
        torch.manual_seed(0)
        narrow = to_torchscript(nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2), Exp()),
                                work / "narrow.pt", example_inputs=torch.rand(16, 2),
                                output_names=["y"])
        ts = min(fortran_us(fexe, narrow, 10_603, 300, "torchscript", env) for _ in range(ROUNDS))
        nat = min(fortran_us(fexe, narrow, 10_603, 300, "native", env) for _ in range(ROUNDS))
        print(f"\nnarrow per-point network 2-4-2 relu + exp (float32), 10,603 points, from "
              f"Fortran: TorchScript {ts:.2f} us, native {nat:.2f} us per call "
              f"({ts / nat:.1f}x; {1000 * nat / 10_603:.2f} ns per point)")

        # a wide column emulator at 10,000 columns
        torch.manual_seed(0)
        wide_net = MLP(60, 60, hidden=(256,) * 4, activation="relu")
        wide = to_torchscript(wide_net, work / "wide.pt", example_inputs=torch.rand(16, 60),
                              output_names=["y"])
        ncol = 10_000
        wide_aot = compiled(lambda: to_aot(wide_net, work / "wide.pt2",
                                           example_inputs=torch.rand(16, 60),
                                           output_names=["y"], batch_range=(1, ncol)),
                            "wide emulator")
        flops = 2.0 * ncol * (60 * 256 + 3 * 256 * 256 + 256 * 60)
        timed = {"torchscript": [], "aot": [], "native": []}
        peaks = []
        for _ in range(ROUNDS):
            peaks.append(sgemm_gflops())
            for backend in timed:
                path = wide_aot if backend == "aot" else wide
                timed[backend].append(fortran_us(fexe, path, ncol, 10, backend, env))
        peak = max(peaks)
        print(f"\nwide emulator 60-256x4-60 relu, {ncol:,} columns, from Fortran "
              f"(sgemm (10000x256)x(256x256) on 1 thread here: {peak:.1f} GFLOP/s):")
        print(f"{'backend':>12} {'ms/call':>9} {'GFLOP/s':>9} {'of sgemm':>9}")
        for backend, all_us in timed.items():
            us = min(all_us)
            rate = flops / (us * 1e-6) / 1e9
            print(f"{backend:>12} {us / 1000:>9.2f} {rate:>9.1f} {rate / peak:>8.0%}")

        n = args.memory_calls
        out = subprocess.run([str(fexe), str(model), "1", str(n), "1"], env=env,
                             capture_output=True, text=True, check=True).stdout
        rss0, rss1 = parse(out, "RSS_KB")
        print(f"\nresident memory, Fortran (auto backend: native), ncol=1: "
              f"{rss0 / 1024:.1f} MiB after warm-up, "
              f"{rss1 / 1024:.1f} MiB after {n:,} more calls: growth "
              f"{(rss1 - rss0):.0f} KiB ({(rss1 - rss0) * 1024 / n:.3f} bytes/call)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
