"""Scores of ``som_profile_qc`` on synthetic profiles for one set of settings.

``make_profiles(n, seed=S)`` with faults and ``make_profiles(n, seed=S + 1000,
faults=False)``; prints the settings, the wall time (both runs), ``flag_scores`` on the
faulty profiles and the false-flag rate on the clean ones.

Run with ``.venv/bin/python benchmarks/qc_profile_settings.py "{'segment_threshold_run':
4.5}"`` (a Python dict literal of ``som_profile_qc`` keywords, plus ``n`` for the number
of profiles, default 1500, and ``data_seed``, default 0; ``{'segment_test': False}`` gives
the leave-one-out test alone).
"""

from __future__ import annotations

import ast
import sys
import time

import torch

from climlearn.casestudies.qc import flag_scores, make_profiles, som_profile_qc


def main() -> None:
    torch.set_num_threads(1)
    kw = dict(ast.literal_eval(sys.argv[1])) if len(sys.argv) > 1 else {}
    n = kw.pop("n", 1500)
    seed = kw.pop("data_seed", 0)
    ds = make_profiles(n, seed=seed)
    clean = make_profiles(n, seed=seed + 1000, faults=False)
    t0 = time.perf_counter()
    q, _ = som_profile_qc(ds["temperature"], **kw)
    q2, _ = som_profile_qc(clean["temperature"], **kw)
    s = flag_scores(q["flagged"].values, ds["fault_type"].values, ds["fault_size"].values)
    print(kw, f"data seed {seed}, time {time.perf_counter() - t0:.1f} s")
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()})
    print(f"false flags on clean profiles: {float(q2['flagged'].values.mean()):.4f}")


if __name__ == "__main__":
    main()
