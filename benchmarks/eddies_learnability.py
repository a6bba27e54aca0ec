"""Can EddyNet reach a mean Dice of 0.85 on the synthetic eddy maps? A learnability check.

Trains EddyNet (``train_eddynet``) on ``eddy_maps`` (seed 0) with the given size of
training set, epochs, depth and background strength, scores it on 50 unseen maps
(seed 1000; mean Dice over the 3 classes, ``climlearn.fields.verify.dice``) and breaks
the eddy Dice down by true amplitude and radius (per eddy: Dice of the predicted class
of the eddy's sign against the true disc, inside a ring of radius + 3 pixels). With
``--background 0`` (no large-scale SSH background) the class masks are a function of
the SSH alone: this is the ceiling of the network and training. The standard deviation
of the background's Laplacian is printed for comparison with the Laplacian at an eddy
centre, ``2 A / R**2``.

Usage: .venv/bin/python benchmarks/eddies_learnability.py [--n-train 480] [--epochs 20]
       [--depth 2] [--background 0.08] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from climlearn.casestudies.eddies import detect_eddynet, eddy_maps, train_eddynet
from climlearn.fields.synthetic import powerlaw_field
from climlearn.fields.verify import dice


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=480)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--background", type=float, default=0.08)
    parser.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_train, epochs, n_test = ((16, 1, 4) if args.quick
                               else (args.n_train, args.epochs, 50))
    bg = args.background
    b = bg * powerlaw_field((50, 64, 64), slope=5.0, seed=np.random.default_rng(0))
    lap = b[:, 1:-1, 2:] + b[:, 1:-1, :-2] + b[:, 2:, 1:-1] + b[:, :-2, 1:-1] \
        - 4 * b[:, 1:-1, 1:-1]
    print(f"background std {bg} m: std of its Laplacian {lap.std():.4f} m/px^2; Laplacian "
          f"at an eddy centre 2A/R^2 from {2 * 0.05 / 49:.4f} (A=0.05 m, R=7) to "
          f"{2 * 0.25 / 9:.4f} (A=0.25 m, R=3)")
    train, _ = eddy_maps(n_train, 64, 64, background=bg, seed=0)
    test, true = eddy_maps(n_test, 64, 64, background=bg, seed=1000)
    t0 = time.perf_counter()
    net = train_eddynet(train.ssh, train.classes, epochs=epochs, depth=args.depth)
    secs = time.perf_counter() - t0
    mask, _ = detect_eddynet(net, test.ssh)
    d = dice(mask, test.classes.astype(float), classes=[0, 1, 2]).values
    print(f"{n_train} maps, {epochs} epochs, depth {args.depth}: training {secs:.0f} s, "
          f"final loss {net.history[-1]:.3f}")
    print(f"Dice background {d[0]:.3f}, anticyclonic {d[1]:.3f}, cyclonic {d[2]:.3f}; "
          f"mean {d.mean():.3f}")
    m = mask.values
    yy, xx = np.mgrid[0:64, 0:64]
    rows = []
    for e in true.itertuples():
        r2 = (yy - e.y) ** 2 + (xx - e.x) ** 2
        disc, ring = r2 <= e.radius ** 2, r2 <= (e.radius + 3) ** 2
        p = (m[e.time] == (1 if e.sign > 0 else 2)) & ring
        rows.append((e.amplitude, e.radius, 2 * (p & disc).sum() / (p.sum() + disc.sum())))
    a = np.array(rows)
    print(f"{'eddies':<22}{'count':>6}{'mean Dice':>11}")
    for col, name, edges in ((0, "amplitude (m)", (0.05, 0.1, 0.15, 0.25)),
                             (1, "radius (px)", (3, 4.5, 6, 7))):
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (a[:, col] >= lo) & (a[:, col] < hi)
            if sel.any():
                print(f"{name} {lo}-{hi}".ljust(22) + f"{sel.sum():>6}{a[sel, 2].mean():>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
