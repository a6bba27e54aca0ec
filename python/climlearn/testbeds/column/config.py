"""Configuration of the column convection-emulator pipeline, read from YAML.

Keys (all required; ``configs/full.yaml`` and ``configs/quick.yaml`` ship with the
package)::

    seed: 0
    grid: {klon: 32, klev: 20, lat_min: 0.0, lat_max: 60.0}
    dtime: 1800.0                                   # physics step, s
    data: {length_days: 1095, every: 3,             # reference run sampled for training
           augment_copies: 2, t_sigma: 1.0, q_sigma: 0.1}   # perturbed copies (augment)
    online: {days: 1095, mean_start_days: 180, ranks: 1}
    emulator: {name: mlp, options: {...}, epochs: 25, batch_size: 512, lr: 2.0e-3,
               test_fraction: 0.2, max_samples: 300000}
    dagger: {rounds: 2, days: 365, every: 3, epochs: 10}   # on-policy rounds (.dagger)

``dagger``: after the first training, ``rounds`` times: run the emulator online in
Python for ``days``, label the states it reached (every ``every`` steps) with the
reference scheme, add them to the training set and fine-tune for ``epochs`` epochs
(``rounds: 0`` switches this off).

``emulator.name`` is a name of the emulator registry (:func:`.emulators.get_emulator`).
Unknown or missing keys and bad values raise ``ValueError`` naming the key, what was
expected and what was given.
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONFIG_DIR", "default_config", "load_config", "parse_config"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

_SCHEMA: dict[str, Any] = {
    "seed": int,
    "grid": {"klon": int, "klev": int, "lat_min": float, "lat_max": float},
    "dtime": float,
    "data": {"length_days": float, "every": int, "augment_copies": int, "t_sigma": float,
             "q_sigma": float},
    "online": {"days": float, "mean_start_days": float, "ranks": int},
    "emulator": {"name": str, "options": dict, "epochs": int, "batch_size": int,
                 "lr": float, "test_fraction": float, "max_samples": int},
    "dagger": {"rounds": int, "days": float, "every": int, "epochs": int},
}


def _check(node: Any, schema: Any, where: str) -> Any:
    if isinstance(schema, dict):
        if not isinstance(node, dict):
            raise ValueError(f"config {where or 'root'}: expected a mapping, given {node!r}")
        unknown = sorted(set(node) - set(schema))
        if unknown:
            raise ValueError(f"config {where or 'root'}: unknown key(s) {unknown}; valid "
                             f"keys are {sorted(schema)}")
        missing = sorted(set(schema) - set(node))
        if missing:
            raise ValueError(f"config {where or 'root'}: missing key(s) {missing}")
        return {k: _check(node[k], s, f"{where}.{k}".lstrip(".")) for k, s in schema.items()}
    if schema is int:
        if not isinstance(node, numbers.Integral) or isinstance(node, bool):
            raise ValueError(f"config {where}: expected an integer, given {node!r}")
        return int(node)
    if schema is float:
        if not isinstance(node, numbers.Real) or isinstance(node, bool):
            raise ValueError(f"config {where}: expected a number, given {node!r}")
        return float(node)
    if schema is dict:
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise ValueError(f"config {where}: expected a mapping, given {node!r}")
        return dict(node)
    if not isinstance(node, schema):
        raise ValueError(f"config {where}: expected {schema.__name__}, given {node!r}")
    return node


def parse_config(raw: Any) -> dict[str, Any]:
    """Validate a config mapping (see the module docstring) and return a clean copy."""
    cfg = _check(raw, _SCHEMA, "")
    em = cfg["emulator"]
    for key in ("epochs", "batch_size", "max_samples"):
        if em[key] < 1:
            raise ValueError(f"config emulator.{key}: expected >= 1, given {em[key]}")
    if not 0.0 < em["test_fraction"] < 1.0:
        raise ValueError(f"config emulator.test_fraction: expected in (0, 1), given "
                         f"{em['test_fraction']}")
    dg = cfg["dagger"]
    for key, lo in (("rounds", 0), ("every", 1), ("epochs", 1)):
        if dg[key] < lo:
            raise ValueError(f"config dagger.{key}: expected >= {lo}, given {dg[key]}")
    if dg["rounds"] > 0 and dg["days"] <= 0:
        raise ValueError(f"config dagger.days: expected > 0, given {dg['days']}")
    if cfg["online"]["ranks"] < 1:
        raise ValueError(f"config online.ranks: expected >= 1, given {cfg['online']['ranks']}")
    from .emulators import available_emulators

    if em["name"] not in available_emulators():
        raise ValueError(f"config emulator.name: unknown emulator {em['name']!r}; valid "
                         f"names are {available_emulators()}")
    return cfg


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"config file {path}: invalid YAML ({exc})") from exc
    return parse_config(raw)


def default_config(quick: bool = False) -> dict[str, Any]:
    """The shipped full or quick config."""
    return load_config(CONFIG_DIR / ("quick.yaml" if quick else "full.yaml"))
