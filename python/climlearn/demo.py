"""The quick-start demo: train a small network in Python, export it, run it from Fortran.

The network learns the tendency of the one-scale Lorenz 96 model,
``dX_k/dt = (X_{k+1} - X_{k-2}) X_{k-1} - X_k + F`` with K = 8, F = 20, from states of
a seeded free run. It is exported with its normalisation inside, then the Fortran
example ``01_mlp_forward`` (compiled against the installed package with
``climlearn-config``) runs it, and the two outputs are printed side by side.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import compile as cl_compile
from . import paths
from .export import checksum, load, to_torchscript
from .models import get_model

log = logging.getLogger(__name__)

K, FORCING = 8, 20.0


def l96_tendency(x: np.ndarray, forcing: float = FORCING) -> np.ndarray:
    """One-scale Lorenz 96 tendency over the last axis (cyclic)."""
    return (np.roll(x, -1, -1) - np.roll(x, 2, -1)) * np.roll(x, 1, -1) - x + forcing


def l96_states(n: int, seed: int, dt: float = 0.005, every: int = 10,
               members: int = 100) -> np.ndarray:
    """``n`` states from ``members`` seeded RK4 free runs of one-scale Lorenz 96.

    The runs advance together (vectorised over members); each is spun up for 10 model
    time units before it is sampled every ``every`` steps.
    """
    rng = np.random.default_rng(seed)
    members = max(1, min(n, members))
    per_member = -(-n // members)
    x = FORCING + rng.standard_normal((members, K))
    spinup = 2000
    out = np.empty((per_member, members, K))
    for step in range(spinup + per_member * every):
        k1 = l96_tendency(x)
        k2 = l96_tendency(x + 0.5 * dt * k1)
        k3 = l96_tendency(x + 0.5 * dt * k2)
        k4 = l96_tendency(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if step >= spinup and (step - spinup) % every == 0:
            out[(step - spinup) // every] = x
    return out.reshape(-1, K)[:n]


def train(x: np.ndarray, y: np.ndarray, seed: int, epochs: int = 60):
    """Train an 8-64-64-8 MLP on standardised data; return net and statistics."""
    torch.manual_seed(seed)
    xm, xs = x.mean(0), x.std(0)
    ym, ys = y.mean(0), y.std(0)
    xt = torch.tensor((x - xm) / xs, dtype=torch.float32)
    yt = torch.tensor((y - ym) / ys, dtype=torch.float32)
    net = get_model("mlp", n_in=K, n_out=K, hidden=(64, 64), activation="tanh")
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    gen = torch.Generator().manual_seed(seed)
    bar = tqdm(range(epochs), desc="training", disable=None)
    for _ in bar:
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 256):
            idx = perm[i:i + 256]
            loss = torch.mean((net(xt[idx]) - yt[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.2e}")
    with torch.no_grad():
        mse = float(torch.mean((net(xt) - yt) ** 2))
    return net, (xm, xs), (ym, ys), mse


def run_demo(workdir: str | Path = "demo_out", seed: int = 0, ncol: int = 4) -> int:
    """Run the demo in ``workdir``; return 0 when Fortran matches Python."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"1. simulating one-scale Lorenz 96 (K={K}, F={FORCING}), seed {seed}")
    x = l96_states(20000, seed)
    y = l96_tendency(x)
    print("2. training an MLP 8-64-64-8 on (X -> dX/dt)")
    net, (xm, xs), (ym, ys), mse = train(x, y, seed)
    print(f"   training MSE (standardised units): {mse:.3e}")

    model_path = workdir / "l96_tendency.pt"
    example = torch.tensor(x[:64], dtype=torch.float32)
    to_torchscript(
        net, model_path, example_inputs=example, input_names=["X"], output_names=["dXdt"],
        units={"X": "1", "dXdt": "MTU-1"},
        long_names={"X": "Lorenz 96 large-scale state", "dXdt": "tendency of X"},
        normalisation={"X": (xm, xs), "dXdt": (ym, ys)}, seed=seed,
        training_data={"description": "one-scale Lorenz 96 free run, K=8, F=20",
                       "n_samples": len(x), "checksum": checksum(x, y)},
        metrics={"train_mse_standardised": mse},
    )
    print(f"3. exported {model_path} (normalisation inside; see `climlearn inspect`)")

    exe = workdir / "mlp_forward"
    src = paths.fortran_examples_dir() / "01_mlp_forward" / "main.f90"
    cl_compile.fortran_program([src], exe)
    print(f"4. compiled {src.name} with $(climlearn-config --fflags --libs)")

    test = l96_states(ncol, seed + 1).astype(np.float32)  # (ncol, K): Fortran x(K, ncol)
    in_bin, out_bin = workdir / "x.bin", workdir / "y.bin"
    test.tofile(in_bin)
    proc = subprocess.run([str(exe), str(model_path), str(ncol), str(in_bin), str(out_bin)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return 1
    print("   " + proc.stdout.strip().replace("\n", "\n   "))
    y_fortran = np.fromfile(out_bin, dtype=np.float32).reshape(ncol, K)
    module, _ = load(model_path)
    with torch.no_grad():
        y_python = module(torch.from_numpy(test)).numpy()
    truth = l96_tendency(test.astype(np.float64))

    print("5. dX/dt from Fortran and from Python (same file), and the true tendency")
    print(f"{'col':>4} {'k':>2} {'Fortran':>12} {'Python':>12} {'|diff|':>10} {'truth':>10}")
    for c in range(ncol):
        for k in range(K):
            print(f"{c + 1:>4} {k + 1:>2} {y_fortran[c, k]:>12.6f} {y_python[c, k]:>12.6f} "
                  f"{abs(y_fortran[c, k] - y_python[c, k]):>10.2e} {truth[c, k]:>10.4f}")
    rel = np.max(np.abs(y_fortran - y_python)) / np.max(np.abs(y_python))
    ok = rel <= 1e-6
    print(f"max relative difference Fortran vs Python: {rel:.2e} "
          f"({'OK' if ok else 'MISMATCH'}, tolerance 1e-6)")
    return 0 if ok else 1
