"""Scores of ``som_qc`` on synthetic profiles for one set of settings (exploration).

``make_profiles(n, seed=0)`` with faults and ``make_profiles(n, seed=1000,
faults=False)``; prints the settings, the wall time (both runs), ``flag_scores`` on the
faulty profiles and the false-flag rate on the clean ones.

Run with ``.venv/bin/python benchmarks/qc_profile_settings.py "{'som_shape': (15, 15),
'n_epochs': 30, 'max_rounds': 8, 'threshold': 4.0}"`` (a Python dict literal of
``som_qc`` keywords, plus ``n`` for the number of profiles, default 1500).
"""

from __future__ import annotations

import ast
import sys
import time

import torch

from climlearn.casestudies.qc import flag_scores, make_profiles, som_qc


def main() -> None:
    torch.set_num_threads(1)
    kw = dict(ast.literal_eval(sys.argv[1])) if len(sys.argv) > 1 else {}
    n = kw.pop("n", 1500)
    ds = make_profiles(n, seed=0)
    clean = make_profiles(n, seed=1000, faults=False)
    t0 = time.perf_counter()
    q, _ = som_qc(ds["temperature"], sample_dim="profile", member_dim="depth",
                  reference="none", **kw)
    q2, _ = som_qc(clean["temperature"], sample_dim="profile", member_dim="depth",
                   reference="none", **kw)
    s = flag_scores(q["flagged"].values, ds["fault_type"].values, ds["fault_size"].values)
    print(kw, f"time {time.perf_counter() - t0:.1f} s")
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in s.items()})
    print(f"false flags on clean profiles: {float(q2['flagged'].values.mean()):.4f}")


if __name__ == "__main__":
    main()
