"""climlearn SOM against MiniSom on the same complete data: fit time, quantisation and
topographic errors.

Data: 10,000 samples x 20 features (seeded: 12 Gaussian clusters of different widths on
top of a smooth 2-D manifold embedded in 20-D), standardised. Map: 20 x 20 rectangular,
Gaussian neighbourhood, PCA initialisation for both.

Comparable settings: both libraries see every sample ``EPOCHS`` times (default 10).
MiniSom trains online (its only mode): ``train(data, EPOCHS, use_epochs=True,
random_order=True)``, i.e. EPOCHS x 10,000 single-sample updates, radius decaying
linearly from SIGMA to 1 (``sigma_decay_function="linear_decay_to_one"``), learning rate
0.5 with MiniSom's default asymptotic decay. climlearn trains in batch mode for EPOCHS
epochs (one codebook update per epoch), radius decaying from SIGMA to 1 (same end
radius). A second climlearn row ends at radius 0.5 (its default), a third trains online
like MiniSom. Both errors are computed for every codebook by the same numpy function in
this script (mean Euclidean distance to the best-matching unit; fraction of samples whose
two best units are not 8-neighbours, MiniSom's definition), and checked against MiniSom's
own ``quantization_error`` for the MiniSom row.

Run with ``.venv/bin/python benchmarks/som_vs_minisom.py [--threads 1] [--device cuda]``.
MiniSom is optional (``pip install minisom``, or the ``bench`` extra); without it only
the climlearn rows are printed. Times are the best of ``--repeats`` fits.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from climlearn.casestudies.som import SOM


def make_data(n: int = 10_000, f: int = 20, seed: int = 0) -> np.ndarray:
    """Seeded clusters plus a smooth 2-D manifold, standardised."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-1, 1, size=(n, 2))
    A = rng.normal(size=(6, f))
    base = np.concatenate([np.sin(2 * u), np.cos(3 * u), u ** 2], axis=1) @ A
    centres = rng.normal(scale=2.0, size=(12, f))
    lab = rng.integers(0, 12, size=n)
    widths = rng.uniform(0.2, 0.8, size=12)
    X = base + centres[lab] + widths[lab, None] * rng.normal(size=(n, f))
    return (X - X.mean(0)) / X.std(0)


def errors(X: np.ndarray, code: np.ndarray, cols: int) -> tuple[float, float]:
    """Quantisation error and topographic error (8-neighbourhood) of a codebook."""
    d2 = (X ** 2).sum(1)[:, None] - 2 * X @ code.T + (code ** 2).sum(1)[None]
    order = np.argsort(d2, axis=1)[:, :2]
    qe = np.linalg.norm(X - code[order[:, 0]], axis=1).mean()
    r0, c0 = np.divmod(order[:, 0], cols)
    r1, c1 = np.divmod(order[:, 1], cols)
    te = np.mean(np.maximum(abs(r0 - r1), abs(c0 - c1)) > 1)
    return float(qe), float(te)


def best_time(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--sigma", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--skip-online", action="store_true", help="skip the climlearn online row")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows, cols = 20, 20
    X = make_data()
    print(f"data {X.shape}, map {rows}x{cols}, {args.epochs} epochs, sigma {args.sigma}, "
          f"torch threads {args.threads}, device {args.device}")
    results = []

    try:
        from minisom import MiniSom
    except ImportError:
        MiniSom = None
        print("MiniSom not installed (pip install minisom): climlearn rows only")
    if MiniSom is not None:
        def fit_minisom():
            m = MiniSom(rows, cols, X.shape[1], sigma=args.sigma, learning_rate=0.5,
                        sigma_decay_function="linear_decay_to_one", random_seed=0)
            m.pca_weights_init(X)
            m.train(X, args.epochs, use_epochs=True, random_order=True)
            return m
        t, m = best_time(fit_minisom, 1)
        code = m.get_weights().reshape(rows * cols, -1)
        qe, te = errors(X, code, cols)
        assert abs(qe - m.quantization_error(X)) < 1e-8 * max(qe, 1.0)
        results.append(("MiniSom online (baseline)", t, qe, te))

    def ours(**kw):
        def fit():
            s = SOM(rows, cols, sigma_start=args.sigma, n_epochs=args.epochs, seed=0,
                    device=args.device, progress=False, **kw).fit(X)
            if args.device != "cpu":
                torch.cuda.synchronize()
            return s
        return fit

    configs = [("climlearn batch f32, sigma->1", dict(sigma_end=1.0)),
               ("climlearn batch f64, sigma->1", dict(sigma_end=1.0, dtype=torch.float64)),
               ("climlearn batch f32, sigma->0.5", dict(sigma_end=0.5))]
    if not args.skip_online:
        configs.append(("climlearn online f32, sigma->1",
                        dict(sigma_end=1.0, mode="online", learning_rate=0.5)))
    for name, kw in configs:
        reps = 1 if kw.get("mode") == "online" else args.repeats
        ours(**kw)() if reps > 1 else None                      # warm-up
        t, s = best_time(ours(**kw), reps)
        qe, te = errors(X, s.codebook, cols)
        assert abs(qe - s.quantization_error(X)) < 1e-4 * qe
        results.append((name, t, qe, te))

    base = results[0] if MiniSom is not None else None
    print(f"{'method':34s} {'fit s':>9s} {'speed-up':>9s} {'QE':>8s} {'QE ratio':>9s} "
          f"{'TE':>7s} {'TE ratio':>9s}")
    for name, t, qe, te in results:
        if base is None:
            print(f"{name:34s} {t:9.3f} {'-':>9s} {qe:8.4f} {'-':>9s} {te:7.4f} {'-':>9s}")
        else:
            ter = f"{te / base[3]:9.2f}" if base[3] > 0 else f"{'-':>9s}"
            print(f"{name:34s} {t:9.3f} {base[1] / t:9.1f} {qe:8.4f} {qe / base[2]:9.3f} "
                  f"{te:7.4f} {ter}")


if __name__ == "__main__":
    main()
