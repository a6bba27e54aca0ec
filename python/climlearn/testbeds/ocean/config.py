"""Configuration of the ocean-mixing emulator experiments, read from YAML.

A config has these top-level keys (all required except ``ranks``)::

    seed: 0                  # numpy and torch seed, recorded in every exported file
    grid: {jpi: 24, jpj: 24, jpk: 24, dz_top: 10.0, dz_bot: 250.0}
    dt: 3600.0               # time step, s
    spinup_days: 360         # reference run before the training period (not sampled)
    train_days: 360          # training period of the reference run
    sample_every: 24         # steps between training snapshots (all water columns)
    online_days: 360         # online comparison (reference and emulator from Fortran)
    ranks: 1                 # MPI ranks of the online runs
    emulators:               # emulator name -> options (null or {} takes the defaults)
      mlp: {hidden: [64, 64], epochs: 30}

Valid emulator names are :data:`climlearn.testbeds.ocean.emulators.EMULATORS`; their
options are :class:`EmulatorOptions`. Any problem (unknown key or name, wrong type, value
out of range, invalid YAML) raises a ``ValueError`` naming the key, the expected and the
given value; a missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .physics import OceanGrid

__all__ = ["CONFIG_DIR", "EmulatorOptions", "OceanConfig", "default_config", "load_config",
           "parse_config"]

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
"""Folder of the shipped configs (``full.yaml``, ``quick.yaml``)."""

ACTIVATIONS = ("elu", "gelu", "relu", "silu", "tanh")


@dataclass(frozen=True)
class EmulatorOptions:
    """Options of a column emulator.

    Attributes
    ----------
    hidden
        Widths of the hidden layers.
    activation
        One of ``elu``, ``gelu``, ``relu``, ``silu``, ``tanh``.
    epochs
        Epochs (>= 1).
    batch_size
        Mini-batch size (>= 1).
    lr
        Initial learning rate (> 0), cosine-annealed to 0 over the epochs.
    max_samples
        Columns drawn per epoch (>= 1), without replacement.
    val_fraction
        Fraction of the snapshots held out for validation, spread evenly over the
        training period (0 < f < 1).
    """

    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    epochs: int = 30
    batch_size: int = 512
    lr: float = 2e-3
    max_samples: int = 200_000
    val_fraction: float = 0.1

    def __post_init__(self) -> None:
        h = self.hidden
        if (not isinstance(h, list | tuple) or not h
                or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in h)):
            raise ValueError(f"hidden must be a non-empty list of positive integers, given {h!r}")
        object.__setattr__(self, "hidden", tuple(h))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {list(ACTIVATIONS)}, given "
                             f"{self.activation!r}")
        for name in ("epochs", "batch_size", "max_samples"):
            _check_int(name, getattr(self, name), 1)
        _check_real("lr", self.lr, lambda v: v > 0, "> 0")
        _check_real("val_fraction", self.val_fraction, lambda v: 0 < v < 1,
                    "strictly between 0 and 1")
        object.__setattr__(self, "lr", float(self.lr))
        object.__setattr__(self, "val_fraction", float(self.val_fraction))


def _check_int(name: str, v: Any, lo: int) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, given {v!r}")
    return int(v)


def _check_real(name: str, v: Any, ok, what: str) -> float:
    if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
            or not ok(v)):
        raise ValueError(f"{name} must be a finite number {what}, given {v!r}")
    return float(v)


@dataclass(frozen=True)
class OceanConfig:
    """A validated experiment config (see the module docstring for the keys)."""

    seed: int
    grid: OceanGrid
    dt: float
    spinup_days: float
    train_days: float
    sample_every: int
    online_days: float
    emulators: dict[str, EmulatorOptions] = field(default_factory=dict)
    ranks: int = 1

    def steps(self, days: float) -> int:
        """Number of time steps in ``days`` days (rounded)."""
        return int(round(days * 86400.0 / self.dt))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (YAML/JSON), inverse of :func:`parse_config`."""
        return {"seed": self.seed, "grid": self.grid.as_dict(), "dt": self.dt,
                "spinup_days": self.spinup_days, "train_days": self.train_days,
                "sample_every": self.sample_every, "online_days": self.online_days,
                "ranks": self.ranks,
                "emulators": {n: {k: (list(v) if isinstance(v, tuple) else v)
                                  for k, v in dataclasses.asdict(o).items()}
                              for n, o in self.emulators.items()}}


_TOP = {"seed", "grid", "dt", "spinup_days", "train_days", "sample_every", "online_days",
        "ranks", "emulators"}


def parse_config(raw: Any) -> OceanConfig:
    """Validate a config given as plain data (the parsed YAML)."""
    from .emulators import EMULATORS

    if not isinstance(raw, dict):
        raise ValueError(f"a config must be a mapping, given {type(raw).__name__}")
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise ValueError(f"unknown config key(s) {unknown}; valid keys are {sorted(_TOP)}")
    missing = sorted(_TOP - {"ranks"} - set(raw))
    if missing:
        raise ValueError(f"missing config key(s) {missing}")
    grid_raw = raw["grid"]
    if not isinstance(grid_raw, dict):
        raise ValueError(f"grid must be a mapping, given {grid_raw!r}")
    valid_grid = [f.name for f in dataclasses.fields(OceanGrid)]
    bad = sorted(set(grid_raw) - set(valid_grid))
    if bad:
        raise ValueError(f"unknown grid key(s) {bad}; valid keys are {valid_grid}")
    grid = OceanGrid(**grid_raw)
    if grid.jpk < 4:
        raise ValueError(f"grid.jpk must be >= 4 for the emulators, given {grid.jpk}")
    ems_raw = raw["emulators"]
    if not isinstance(ems_raw, dict) or not ems_raw:
        raise ValueError(f"emulators must be a non-empty mapping, given {ems_raw!r}")
    emulators = {}
    valid_opts = [f.name for f in dataclasses.fields(EmulatorOptions)]
    for name, opts in ems_raw.items():
        if name not in EMULATORS:
            raise ValueError(f"unknown emulator {name!r}; valid names are {sorted(EMULATORS)}")
        opts = opts or {}
        if not isinstance(opts, dict):
            raise ValueError(f"emulators.{name} must be a mapping, given {opts!r}")
        bad = sorted(set(opts) - set(valid_opts))
        if bad:
            raise ValueError(f"emulators.{name}: unknown option(s) {bad}; valid options are "
                             f"{valid_opts}")
        try:
            emulators[name] = EmulatorOptions(**opts)
        except ValueError as exc:
            raise ValueError(f"emulators.{name}: {exc}") from None
    cfg = OceanConfig(
        seed=_check_int("seed", raw["seed"], 0),
        grid=grid,
        dt=_check_real("dt", raw["dt"], lambda v: v > 0, "> 0"),
        spinup_days=_check_real("spinup_days", raw["spinup_days"], lambda v: v >= 0, ">= 0"),
        train_days=_check_real("train_days", raw["train_days"], lambda v: v > 0, "> 0"),
        sample_every=_check_int("sample_every", raw["sample_every"], 1),
        online_days=_check_real("online_days", raw["online_days"], lambda v: v > 0, "> 0"),
        emulators=emulators,
        ranks=_check_int("ranks", raw.get("ranks", 1), 1),
    )
    if cfg.steps(cfg.train_days) < 2 * cfg.sample_every:
        raise ValueError(f"train_days = {cfg.train_days} gives fewer than 2 snapshots at "
                         f"sample_every = {cfg.sample_every} steps of dt = {cfg.dt} s")
    return cfg


def load_config(path: str | os.PathLike) -> OceanConfig:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: invalid YAML: {exc}") from None
    try:
        return parse_config(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def default_config(quick: bool = False) -> OceanConfig:
    """The shipped config: ``configs/quick.yaml`` or ``configs/full.yaml``."""
    return load_config(CONFIG_DIR / ("quick.yaml" if quick else "full.yaml"))
