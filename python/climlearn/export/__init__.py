"""Export trained models as self-describing TorchScript files, and load them back.

An exported file carries its normalisation (as buffers, so callers pass physical units)
and a model card ``climlearn/meta.json`` (names, units, shapes with the batch dimension
marked, dtypes, seed, training-data fingerprint, metrics). The C API and the Fortran
module read that card and check every call against it.

Example
-------
>>> path = to_torchscript(net, "mlp.pt", example_inputs=x, input_names=["x"],
...                       output_names=["y"], units={"x": "K", "y": "K s-1"},
...                       normalisation={"x": (x_mean, x_std), "y": (y_mean, y_std)})
>>> module, card = load(path)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import _card
from ._aot import is_package, load_package, read_package_card, to_aot
from ._card import META_NAME, checksum, format_card
from ._native import describe as _describe_native
from ._prepare import prepare, tolerance
from ._script import ExportError, _as_tuple, script_or_trace
from ._wrapper import wrap

log = logging.getLogger(__name__)

__all__ = ["to_torchscript", "to_aot", "load", "read_card", "format_card", "checksum",
           "ExportError", "META_NAME"]


def _atomic_save(module: torch.jit.ScriptModule, path: Path, card: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        torch.jit.save(module, str(tmp), _extra_files={META_NAME: json.dumps(card, indent=1)})
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def to_torchscript(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    example_inputs: Tensor | Sequence[Tensor],
    output_names: Sequence[str],
    input_names: Sequence[str] | None = None,
    units: Mapping[str, str] | None = None,
    long_names: Mapping[str, str] | None = None,
    normalisation: Mapping[str, tuple[Any, Any]] | None = None,
    io_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = None,
    training_data: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    allow_trace: bool = True,
) -> Path:
    """Export ``model`` to a self-describing TorchScript file.

    Parameters
    ----------
    model
        The trained network, working on NORMALISED data when ``normalisation`` is given.
        It takes one positional tensor per input and returns a tensor or a tuple of
        tensors; dimension 0 of every tensor is the batch.
    path
        Output file. Written atomically: no half-written file is ever left behind.
    example_inputs
        One tensor (or a sequence) in PHYSICAL units, batch first; fixes the dtype and
        the non-batch shapes recorded in the card.
    output_names, input_names
        Variable names (inputs default to ``x`` or ``x0, x1, ...``).
    units, long_names
        Per-variable UDUNITS string and description (default ``"1"`` and the name).
    normalisation
        Per-variable ``(mean, std)``: inputs are standardised as ``(x - mean) / std``
        before the network and outputs restored as ``y * std + mean`` after it, inside
        the exported module.
    io_attributes
        Per-variable extra card fields, e.g. ``{"T": {"vertical_ordering": "top_to_bottom"}}``.
    seed, training_data, metrics, metadata
        Recorded in the card (training data description and checksum, metrics at
        export time, free metadata).
    allow_trace
        If scripting fails, fall back to a trace that is checked for safety.

    Returns
    -------
    pathlib.Path
        The written file. The file is reloaded and checked to reproduce the eager model
        (float32: rtol 1e-5; float64: rtol 1e-12); the maximum absolute difference is
        logged and stored in the card under ``export_check``.

    Raises
    ------
    ValueError
        Bad arguments (unknown names, wrong counts, unsupported dtypes, bad statistics).
    ExportError
        The model cannot be scripted, or traced safely, or the file does not reproduce it.
    """
    path = Path(path)
    prep = prepare(model, example_inputs=example_inputs, output_names=output_names,
                   input_names=input_names, units=units, long_names=long_names,
                   normalisation=normalisation, io_attributes=io_attributes)
    model, example, dtype, want = prep.model, prep.example, prep.dtype, prep.want
    norm_in, norm_out, out_names = prep.norm_in, prep.norm_out, prep.out_names
    core, method = script_or_trace(model, prep.core_in, allow_trace=allow_trace)
    try:
        scripted = torch.jit.script(wrap(core, norm_in, norm_out).eval())
    except Exception as exc:
        raise ExportError(f"could not script the normalisation wrapper: {exc}") from exc

    card = _card.build(inputs=prep.inputs, outputs=prep.outputs, normalisation=prep.norm_card,
                       seed=seed, training_data=dict(training_data or {}),
                       metrics=dict(metrics or {}), metadata=dict(metadata or {}),
                       method=method)
    native = _describe_native(model, norm_in, norm_out, example, want, scripted)
    if native is not None:
        card["native"] = native  # libclimlearn may run it without the interpreter

    rtol, atol = tolerance(dtype)
    with torch.no_grad():
        got = _as_tuple(scripted(*example))
    max_diff = max(float((g - w).abs().max()) if w.numel() else 0.0
                   for g, w in zip(got, want, strict=True))
    card["export_check"] = {"max_abs_diff": max_diff, "rtol": rtol, "atol": atol,
                            "n_samples": int(example[0].shape[0])}
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save(scripted, path, card)

    reloaded, _ = load(path)
    with torch.no_grad():
        again = _as_tuple(reloaded(*example))
    for name, g, w in zip(out_names, again, want, strict=True):
        if g.shape != w.shape or not torch.allclose(g, w, rtol=rtol, atol=atol):
            diff = float((g - w).abs().max()) if g.shape == w.shape else float("nan")
            path.unlink()
            raise ExportError(
                f"the saved file does not reproduce the eager model on output {name!r}: "
                f"max |diff| = {diff:.3g}, allowed rtol={rtol}, atol={atol}"
            )
    log.info("exported %s (%s): max |file - eager| = %.3g", path, method, max_diff)
    return path


def read_card(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate the model card of an exported file (TorchScript archive or
    AOTInductor package) without running the model."""
    if Path(path).is_file() and is_package(path):
        return read_package_card(Path(path))
    _, card = load(path)
    return card


def load(path: str | os.PathLike, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Load an exported model and its card.

    A TorchScript archive gives a ``torch.jit.ScriptModule``; an AOTInductor package
    (:func:`to_aot`, CPU only) a callable running the compiled model. Both take and
    return tensors in physical units, batch first.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a TorchScript archive, or has no valid climlearn model card.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PK\x03\x04" and is_package(path):
        if device != "cpu":
            raise ValueError(f"{path}: AOTInductor packages are loaded on the CPU here, "
                             f"device {device!r} requested")
        return load_package(path)
    if magic != b"PK\x03\x04":
        raise ValueError(
            f"{path} is not a TorchScript archive (expected a zip file starting with "
            f"b'PK\\x03\\x04', found {magic!r})"
        )
    extra = {META_NAME: ""}
    try:
        module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except RuntimeError as exc:
        raise ValueError(f"{path}: cannot load TorchScript archive: "
                         f"{str(exc).splitlines()[0]}") from exc
    if not extra[META_NAME]:
        raise ValueError(f"{path}: no climlearn model card ({META_NAME}) in the archive")
    try:
        card = json.loads(extra[META_NAME])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: model card is not valid JSON: {exc}") from exc
    return module.eval(), _card.validate(card, str(path))
