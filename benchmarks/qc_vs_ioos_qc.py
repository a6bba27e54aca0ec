"""Quality control of a synthetic station network: SOM QC against classic QARTOD tests.

Methods, on the same data (``climlearn.casestudies.qc.make_network``: 8 stations, hourly,
90 days, injected spikes, stuck values, drifts and out-of-range values, truth known):

- ``ioos_qc``: the IOOS QARTOD implementation (PyPI ``ioos_qc``; optional, the row is
  skipped with a message when it is not installed): gross range, spike and flat line
  with the same spans and thresholds as the in-package classic tests;
- ``classic``: climlearn's own gross-range, spike and flat-line tests;
- ``som``: climlearn's SOM consistency QC (hour-of-day context);
- ``som+classic``: a value flagged by either.

Columns: precision, recall and F1 against all injected faults, recall on faults of at
least 5 noise standard deviations, false-flag rate on fault-free values of the faulty
data and on a separate clean network, and wall time with its ratio to ``ioos_qc`` (or to
``classic`` without ioos_qc). Each figure is the mean over the seeds.

With ``--profiles`` the same comparison runs on vertical ocean temperature profiles
(``make_profiles``: 1500 profiles on 26 levels, 0-500 m): the QARTOD tests along depth
(ioos_qc gets the level index as its time axis, so the flat-line counts are levels),
ocean spans, and ``som_profile_qc``.

Run with ``.venv/bin/python benchmarks/qc_vs_ioos_qc.py [--seeds 0 1 2] [--days 90]
[--profiles]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from climlearn.casestudies.qc import (
    OCEAN_FAIL_SPAN,
    OCEAN_SUSPECT_SPAN,
    classic_profile_qc,
    classic_qc,
    flag_scores,
    hour_context,
    make_network,
    make_profiles,
    som_profile_qc,
    som_qc,
)

SPANS = {"fail_span": (-40.0, 60.0), "suspect_span": (-20.0, 50.0)}
OCEAN_SPANS = {"fail_span": OCEAN_FAIL_SPAN, "suspect_span": OCEAN_SUSPECT_SPAN}
SPIKE_FACTOR = 4.0
FLAT = {"tolerance": 1e-3, "suspect": 3, "fail": 6}


def _spike_thresholds(x: np.ndarray, spans: dict = SPANS) -> tuple[float, float]:
    spk = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:]))
    ok = (x[1:-1] > spans["fail_span"][0]) & (x[1:-1] < spans["fail_span"][1])
    scale = 1.4826 * np.median(spk[ok])
    return SPIKE_FACTOR * scale, 2 * SPIKE_FACTOR * scale


def ioos_flags(temperature, spans: dict = SPANS, t_sec: np.ndarray | None = None
               ) -> np.ndarray:
    """Suspect-or-fail flags of ioos_qc's QARTOD tests, per station (or profile, with
    ``t_sec`` = level index * 3600 so that the flat-line counts are levels)."""
    from ioos_qc import qartod

    vals = temperature.values
    if t_sec is None:
        t_sec = temperature["time"].values.astype(np.float64) * 3600.0
    out = np.zeros(vals.shape, dtype=bool)
    for i, x in enumerate(vals):
        sus, fail = _spike_thresholds(x, spans)
        flags = [np.ma.filled(qartod.gross_range_test(x, **spans), 2),
                 np.ma.filled(qartod.spike_test(x, suspect_threshold=sus,
                                                fail_threshold=fail), 2),
                 np.ma.filled(qartod.flat_line_test(
                     x, t_sec, suspect_threshold=FLAT["suspect"] * 3600,
                     fail_threshold=FLAT["fail"] * 3600, tolerance=FLAT["tolerance"]), 2)]
        agg = np.maximum.reduce(flags)
        out[i] = (agg == 3) | (agg == 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--profiles", action="store_true",
                    help="ocean temperature profiles instead of the station network")
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        import ioos_qc  # noqa: F401

        have_ioos = True
    except ImportError:
        have_ioos = False
        print("ioos_qc is not installed (pip install ioos_qc): its row is skipped")
    rows: dict[str, list[dict]] = {}
    for seed in args.seeds:
        if args.profiles:
            ds = make_profiles(1500, seed=seed)
            clean = make_profiles(1500, seed=seed + 1000, faults=False)
        else:
            ds = make_network(n_days=args.days, seed=seed)
            clean = make_network(n_days=args.days, seed=seed + 1000, faults=False)
        truth = (ds["fault_type"].values, ds["fault_size"].values)
        flags, clean_flags, times = {}, {}, {}
        methods = _profile_methods(seed) if args.profiles else {
            "classic": lambda d: classic_qc(d["temperature"], **SPANS,
                                            spike_factor=SPIKE_FACTOR,
                                            flat_tolerance=FLAT["tolerance"],
                                            flat_suspect=FLAT["suspect"],
                                            flat_fail=FLAT["fail"])["flagged"].values,
            "som": lambda d, s=seed: som_qc(d["temperature"], context=hour_context(
                d["time"].values), seed=s)[0]["flagged"].values,
        }
        if have_ioos:
            methods = {"ioos_qc": ioos_profile_flags_ds if args.profiles else ioos_flags_ds,
                       **methods}
        for name, fn in methods.items():
            t0 = time.perf_counter()
            flags[name] = fn(ds)
            times[name] = time.perf_counter() - t0
            clean_flags[name] = fn(clean)
        flags["som+classic"] = flags["som"] | flags["classic"]
        clean_flags["som+classic"] = clean_flags["som"] | clean_flags["classic"]
        times["som+classic"] = times["som"] + times["classic"]
        for name in flags:
            s = flag_scores(flags[name], *truth)
            s["false_clean"] = float(clean_flags[name].mean())
            s["time"] = times[name]
            rows.setdefault(name, []).append(s)
    base = "ioos_qc" if have_ioos else "classic"
    t_base = np.mean([r["time"] for r in rows[base]])
    what = ("1500 profiles x 26 levels" if args.profiles else
            f"8 stations x {args.days} days hourly")
    print(f"\n{len(args.seeds)} seed(s), {what} (torch threads: 1); time ratio "
          f"against {base}")
    hdr = (f"{'method':12s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'rec>=5s':>8s} "
           f"{'false':>7s} {'false,clean':>11s} {'time s':>8s} {'ratio':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for name, rs in rows.items():
        m = {k: np.mean([r[k] for r in rs]) for k in ("precision", "recall", "f1",
                                                       "recall_ge_5sigma",
                                                       "false_flag_rate", "false_clean",
                                                       "time")}
        print(f"{name:12s} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} "
              f"{m['recall_ge_5sigma']:8.3f} {m['false_flag_rate']:7.4f} "
              f"{m['false_clean']:11.4f} {m['time']:8.3f} {m['time'] / t_base:6.1f}")
    print("\nrecall on faults >= 5 sigma by type (mean over seeds):")
    for name, rs in rows.items():
        by = {k: np.mean([r["recall_ge_5sigma_by_type"][k] for r in rs])
              for k in ("spike", "stuck", "drift", "out_of_range")}
        print(f"  {name:12s} " + "  ".join(f"{k} {v:.3f}" for k, v in by.items()))


def ioos_flags_ds(ds) -> np.ndarray:
    """:func:`ioos_flags` on a network Dataset."""
    return ioos_flags(ds["temperature"])


def ioos_profile_flags_ds(ds) -> np.ndarray:
    """:func:`ioos_flags` along depth on a profile Dataset."""
    t_sec = np.arange(ds.sizes["depth"], dtype=np.float64) * 3600.0
    return ioos_flags(ds["temperature"].transpose("profile", "depth"), OCEAN_SPANS, t_sec)


def _profile_methods(seed: int) -> dict:
    return {
        "classic": lambda d: classic_profile_qc(
            d["temperature"], spike_factor=SPIKE_FACTOR, flat_tolerance=FLAT["tolerance"],
            flat_suspect=FLAT["suspect"], flat_fail=FLAT["fail"])["flagged"].values,
        "som": lambda d: som_profile_qc(d["temperature"], seed=seed)[0]["flagged"].values,
    }


if __name__ == "__main__":
    main()
