"""Can EddyNet reach a mean Dice of 0.85 on the synthetic eddy maps? A learnability check.

First measures how consistent the generator's truth is: the geometric (closed-contour)
detector is run on 50 maps of background + noise only (``n_eddies=(0, 0)``), where
every detection is an eddy-like extremum labelled "background", and the number of
detections per map (all, amplitude >= 0.05 m, and amplitude >= 0.05 m with an
eddy-sized radius <= 8 pixels) is printed next to the number of labelled eddies per
map. The standard deviation of the Laplacian of the background alone (no noise) is
printed for comparison with the Laplacian at an eddy centre, ``2 A / R**2``.

Then trains EddyNet (``train_eddynet``) on ``eddy_maps`` (seed 0) with the given size of
training set, epochs, depth, crop and background, scores it and the geometric detector
(on the SSH, and after removing its Gaussian smoothing of 4 pixels) on 50 unseen
maps (seed 1000; mean Dice over the 3 classes,
``climlearn.fields.verify.dice``; EddyNet with and without averaging over the 8 flips
and quarter turns) and breaks the eddy Dice down by true amplitude and radius (per
eddy: Dice of the predicted class of the eddy's sign against the true disc, inside a
ring of radius + 3 pixels). ``--background-wavelength 0`` uses the unfiltered slope-5
background of the earlier generator; ``--background 0`` no background at all (the class
masks are then a function of the SSH alone: the ceiling of network and training).

Usage: .venv/bin/python benchmarks/eddies_learnability.py [--n-train 480] [--epochs 30]
       [--depth 2] [--crop 32] [--background 0.08] [--background-wavelength 32]
       [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from climlearn.casestudies.eddies import (
    detect_eddynet,
    detect_geometric,
    eddy_maps,
    train_eddynet,
)
from climlearn.casestudies.eddies.demo import HIGHPASS
from climlearn.fields.verify import dice


def _dice(mask, classes) -> np.ndarray:
    return dice(mask, classes.astype(float), classes=[0, 1, 2]).values


def _line(name: str, d: np.ndarray) -> str:
    return (f"{name:<25}{d[0]:>10.3f}{d[1]:>14.3f}{d[2]:>10.3f}{d.mean():>7.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=480)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--crop", type=int, default=32, help="training crop (0: whole maps)")
    parser.add_argument("--background", type=float, default=0.08)
    parser.add_argument("--background-wavelength", type=float, default=32.0,
                        help="shortest background wavelength in pixels (0: unfiltered)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny run (smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    n_train, epochs, n_test = ((16, 1, 4) if args.quick
                               else (args.n_train, args.epochs, 50))
    bg, wl = args.background, (args.background_wavelength or None)
    only, _ = eddy_maps(50, 64, 64, n_eddies=(0, 0), background=bg,
                        background_wavelength=wl, seed=1000)
    smooth, _ = eddy_maps(50, 64, 64, n_eddies=(0, 0), background=bg, noise=0.0,
                          background_wavelength=wl, seed=1000)
    b = smooth.ssh.values
    lap = b[:, 1:-1, 2:] + b[:, 1:-1, :-2] + b[:, 2:, 1:-1] + b[:, :-2, 1:-1] \
        - 4 * b[:, 1:-1, 1:-1]
    print(f"background std {bg} m, shortest wavelength {wl} px: std of the Laplacian of "
          f"the background (no noise) {lap.std():.4f} m/px^2; Laplacian at an eddy centre 2A/R^2 "
          f"from {2 * 0.05 / 49:.4f} (A=0.05 m, R=7) to {2 * 0.25 / 9:.4f} (A=0.25 m, R=3)")
    _, fake = detect_geometric(only.ssh)
    strong = fake.amplitude >= 0.05
    train, _ = eddy_maps(n_train, 64, 64, background=bg, background_wavelength=wl, seed=0)
    test, true = eddy_maps(n_test, 64, 64, background=bg, background_wavelength=wl,
                           seed=1000)
    print(f"eddy-like extrema in background-only maps (geometric detector), per map: "
          f"{len(fake) / 50:.2f} (amplitude >= 0.05 m: {strong.sum() / 50:.2f}; and "
          f"radius <= 8 px: {(strong & (fake.radius <= 8)).sum() / 50:.2f}); labelled "
          f"eddies per map: {len(true) / n_test:.2f}")
    t0 = time.perf_counter()
    net = train_eddynet(train.ssh, train.classes, epochs=epochs, depth=args.depth,
                        crop=args.crop or None)
    secs = time.perf_counter() - t0
    mask, _ = detect_eddynet(net, test.ssh)
    mask1, _ = detect_eddynet(net, test.ssh, symmetries=False)
    mask_geo, _ = detect_geometric(test.ssh)
    mask_hp, _ = detect_geometric(test.ssh, highpass=HIGHPASS)
    print(f"{n_train} maps, {epochs} epochs, depth {args.depth}, crop {args.crop}: "
          f"training {secs:.0f} s, final loss {net.history[-1]:.3f}")
    print(f"{'Dice':<25}{'background':>10}{'anticyclonic':>14}{'cyclonic':>10}{'mean':>7}")
    print(_line("EddyNet (8 symmetries)", _dice(mask, test.classes)))
    print(_line("EddyNet (one pass)", _dice(mask1, test.classes)))
    print(_line("geometric", _dice(mask_geo, test.classes)))
    print(_line(f"geometric, high-pass {HIGHPASS:g}px", _dice(mask_hp, test.classes)))
    m = mask.values
    yy, xx = np.mgrid[0:64, 0:64]
    rows = []
    for e in true.itertuples():
        r2 = (yy - e.y) ** 2 + (xx - e.x) ** 2
        disc, ring = r2 <= e.radius ** 2, r2 <= (e.radius + 3) ** 2
        p = (m[e.time] == (1 if e.sign > 0 else 2)) & ring
        rows.append((e.amplitude, e.radius, 2 * (p & disc).sum() / (p.sum() + disc.sum())))
    a = np.array(rows)
    print(f"{'EddyNet, eddies':<22}{'count':>6}{'mean Dice':>11}")
    for col, name, edges in ((0, "amplitude (m)", (0.05, 0.1, 0.15, 0.25)),
                             (1, "radius (px)", (3, 4.5, 6, 7))):
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            sel = (a[:, col] >= lo) & (a[:, col] < hi)
            if sel.any():
                print(f"{name} {lo}-{hi}".ljust(22) + f"{sel.sum():>6}{a[sel, 2].mean():>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
