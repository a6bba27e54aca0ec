"""The model card: ``climlearn/meta.json`` stored inside every exported file."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

import numpy as np
import torch

SCHEMA_VERSION = 1
META_NAME = "climlearn/meta.json"
_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_REQUIRED_IO = ("name", "shape", "dtype")


def dtype_name(dtype: torch.dtype, what: str) -> str:
    """Name of a supported dtype ('float32', 'float64'); ValueError otherwise."""
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise ValueError(
            f"{what} has dtype {dtype}; exported models take float32 or float64"
        ) from None


def io_entry(name: str, tensor: torch.Tensor, *, units: str | None, long_name: str | None,
             extra: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """Card entry of one input or output, from an example tensor with batch dimension 0."""
    if tensor.dim() < 1:
        raise ValueError(f"{what} {name!r} must have a batch dimension, it is a scalar")
    entry = {
        "name": name,
        "units": units if units is not None else "1",
        "long_name": long_name if long_name is not None else name,
        "shape": [None, *[int(s) for s in tensor.shape[1:]]],
        "batch_dim": 0,
        "dtype": dtype_name(tensor.dtype, f"{what} {name!r}"),
    }
    if extra:
        entry.update(extra)
    return entry


def checksum(*arrays: Any) -> str:
    """SHA-256 of the bytes of numpy-convertible arrays (training-data fingerprint)."""
    h = hashlib.sha256()
    for a in arrays:
        arr = np.ascontiguousarray(np.asarray(a))
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return "sha256:" + h.hexdigest()


def build(*, inputs: list[dict], outputs: list[dict], normalisation: dict | None,
          seed: int | None, training_data: dict | None, metrics: dict | None,
          metadata: dict | None, method: str, fmt: str = "torchscript") -> dict[str, Any]:
    """Assemble a card (a JSON-serialisable dict); ``fmt`` is the file format
    (``"torchscript"`` or ``"aot"``)."""
    from .. import __version__

    card = {
        "schema_version": SCHEMA_VERSION,
        "format": fmt,
        "climlearn_version": __version__,
        "torch_version": torch.__version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "export_method": method,
        "layout": (
            "Shapes are row-major (torch) with null marking the batch dimension. From "
            "Fortran declare arrays with the dimensions reversed: batch LAST."
        ),
        "inputs": inputs,
        "outputs": outputs,
        "normalisation": normalisation or {},
        "seed": seed,
        "training_data": training_data or {},
        "metrics": metrics or {},
        "metadata": metadata or {},
    }
    json.dumps(card)  # fail early, with the offending object, if not serialisable
    return card


def validate(card: Any, source: str) -> dict[str, Any]:
    """Check the structure of a card read from a file; ValueError naming the problem."""
    if not isinstance(card, dict):
        raise ValueError(f"{source}: model card is not a JSON object")
    version = card.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ValueError(
            f"{source}: unsupported model card schema_version: expected {SCHEMA_VERSION}, "
            f"given {version!r}"
        )
    for side in ("inputs", "outputs"):
        entries = card.get(side)
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{source}: model card has no {side!r} list")
        for k, entry in enumerate(entries):
            missing = [f for f in _REQUIRED_IO if f not in entry]
            if missing:
                raise ValueError(f"{source}: {side}[{k}] lacks {', '.join(missing)}")
    return card


def format_card(card: dict[str, Any]) -> str:
    """Human-readable rendering of a card, as printed by ``climlearn inspect``."""

    def fortran_shape(shape: list) -> str:
        dims = ["ncol" if s is None else str(s) for s in reversed(shape)]
        return "(" + ", ".join(dims) + ")"

    lines = [
        f"climlearn model card (schema {card.get('schema_version')}, {card.get('format')})",
        f"  created          {card.get('created', '?')} by climlearn "
        f"{card.get('climlearn_version', '?')}, torch {card.get('torch_version', '?')}",
        f"  export method    {card.get('export_method', '?')}",
        f"  seed             {card.get('seed')}",
    ]
    for side in ("inputs", "outputs"):
        lines.append(f"  {side}:")
        for k, e in enumerate(card.get(side, []), start=1):
            shape = e.get("shape", [])
            lines.append(
                f"    {k}. {e['name']:<12} [{e.get('units', '1')}] {e.get('dtype')}  "
                f"torch {tuple('batch' if s is None else s for s in shape)}  "
                f"Fortran {fortran_shape(shape)}  {e.get('long_name', '')}"
            )
    norm = card.get("normalisation") or {}
    if norm:
        lines.append("  normalisation (inside the model; pass physical units):")
        for name in norm:
            lines.append(f"    {name}: standardised with stored mean and std")
    for key in ("training_data", "metrics", "metadata"):
        value = card.get(key) or {}
        if value:
            lines.append(f"  {key}:")
            for k, v in value.items():
                lines.append(f"    {k}: {json.dumps(v) if not isinstance(v, str) else v}")
    check = card.get("export_check")
    if check:
        lines.append(f"  export check     max |file - eager| = {check.get('max_abs_diff')}")
    return "\n".join(lines)
