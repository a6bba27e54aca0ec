"""Export as an AOTInductor package (``.pt2``): ``torch.export`` with a dynamic batch
dimension, compiled ahead of time to a shared library by AOTInductor.

The package carries the same model card as a TorchScript export (under the key
``climlearn/meta.json`` of the package metadata, which AOTInductor stores next to the
compiled library) and the built-in normalisation. libclimlearn runs it through
``torch::inductor::AOTIModelPackageLoader``, without the TorchScript interpreter.

Compilation needs a C++ compiler (g++) at export time and takes tens of seconds to a few
minutes; the library is compiled for the CPU it is exported on (``-march=native``), so a
package only runs on machines with the same architecture and vector instruction set.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from . import _card
from ._card import META_NAME
from ._prepare import prepare, tolerance
from ._script import ExportError, _as_tuple

log = logging.getLogger(__name__)

#: Model name inside the package (AOTInductor's default).
PACKAGE_MODEL = "model"
_ADVICE = ("export the model as TorchScript instead (climlearn.export.to_torchscript); "
           "cl_model_load runs both formats")


def is_package(path: str | os.PathLike) -> bool:
    """True if ``path`` is a zip archive laid out as a torch.export/AOTInductor package."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            fmt = [n for n in names if n.split("/", 1)[-1] == "archive_format"]
            return bool(fmt) and zf.read(fmt[0]).strip() == b"pt2"
    except (zipfile.BadZipFile, OSError):
        return False


def _first_lines(exc: BaseException, n: int = 3) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return " ".join(lines[:n]) or type(exc).__name__


def _resize_batch(x: Tensor, n: int, gen: torch.Generator) -> Tensor:
    """``n`` rows drawn from ``x`` (with replacement), slightly perturbed."""
    base = x[torch.randint(0, x.shape[0], (n,), generator=gen)]
    scale = x.detach().abs().mean() + 1.0
    return base + 0.05 * scale * torch.randn(base.shape, generator=gen, dtype=x.dtype)


def _check_range(batch_range: Sequence[int]) -> tuple[int, int]:
    try:
        lo, hi = (int(b) for b in batch_range)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"batch_range must be a pair (min, max) of integers, given "
                         f"{batch_range!r}") from exc
    if not 1 <= lo <= hi:
        raise ValueError(f"batch_range must satisfy 1 <= min <= max, given ({lo}, {hi})")
    return lo, hi


def _compare(got: tuple[Tensor, ...], want: tuple[Tensor, ...], names: list[str],
             dtype: torch.dtype, what: str) -> float:
    """Max |got - want|; ExportError if an output differs beyond the tolerance."""
    rtol, atol = tolerance(dtype)
    if len(got) != len(want):
        raise ExportError(f"{what} returns {len(got)} outputs, the eager model {len(want)}")
    worst = 0.0
    for name, g, w in zip(names, got, want, strict=True):
        if g.shape != w.shape:
            raise ExportError(f"{what}: output {name!r} has shape {tuple(g.shape)}, the eager "
                              f"model gives {tuple(w.shape)}")
        if not torch.allclose(g, w, rtol=rtol, atol=atol):
            raise ExportError(f"{what} does not reproduce the eager model on output {name!r}: "
                              f"max |diff| = {float((g - w).abs().max()):.3g}, allowed "
                              f"rtol={rtol}, atol={atol}")
        if w.numel():
            worst = max(worst, float((g - w).abs().max()))
    return worst


def to_aot(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    example_inputs: Tensor | Sequence[Tensor],
    output_names: Sequence[str],
    batch_range: Sequence[int] = (1, 65536),
    input_names: Sequence[str] | None = None,
    units: Mapping[str, str] | None = None,
    long_names: Mapping[str, str] | None = None,
    normalisation: Mapping[str, tuple[Any, Any]] | None = None,
    io_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int | None = None,
    training_data: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    inductor_configs: Mapping[str, Any] | None = None,
) -> Path:
    """Export ``model`` to a self-describing AOTInductor package (``.pt2``).

    The arguments shared with :func:`climlearn.export.to_torchscript` mean the same;
    the card, the normalisation and the checks of the C API and Fortran module are the
    same for both formats.

    Parameters
    ----------
    model, example_inputs, output_names, input_names, units, long_names, normalisation,
    io_attributes, seed, training_data, metrics, metadata
        As for :func:`~climlearn.export.to_torchscript`.
    path
        Output file; must end in ``.pt2``. Written atomically.
    batch_range
        ``(min, max)`` batch sizes (columns) the compiled code accepts; dimension 0 of
        every input is exported as one dynamic dimension in that range. A call outside
        the range fails with an error naming it.
    inductor_configs
        Extra AOTInductor options (``torch._inductor.config`` names), for experts.

    Returns
    -------
    pathlib.Path
        The written package. It is reloaded and checked to reproduce the eager model
        on the examples and on inputs of another batch size (float32: rtol 1e-5;
        float64: rtol 1e-12).

    Raises
    ------
    ValueError
        Bad arguments (as for ``to_torchscript``; a bad ``batch_range``; a path not
        ending in ``.pt2``).
    ExportError
        ``torch.export`` cannot capture the model (data-dependent control flow, a batch
        size baked into the code, unsupported operations: the message says which and
        suggests TorchScript), the compilation failed, or the package does not
        reproduce the model.
    """
    path = Path(path)
    if path.suffix != ".pt2":
        raise ValueError(f"an AOTInductor package must be named *.pt2, given {str(path)!r}")
    lo, hi = _check_range(batch_range)
    prep = prepare(model, example_inputs=example_inputs, output_names=output_names,
                   input_names=input_names, units=units, long_names=long_names,
                   normalisation=normalisation, io_attributes=io_attributes)
    dtype, names = prep.dtype, prep.out_names
    gen = torch.Generator().manual_seed(4321)

    # torch.export traces with a batch size inside the range; sizes 0 and 1 are
    # specialised by torch, so a dynamic batch is traced with at least 2 rows.
    dynamic = hi > lo
    n0 = int(prep.example[0].shape[0])
    n_trace = min(max(n0, lo, 2), hi) if dynamic else lo
    trace_in = prep.example if n_trace == n0 else tuple(_resize_batch(x, n_trace, gen)
                                                        for x in prep.example)
    dims = None
    if dynamic:
        batch = torch.export.Dim("batch", min=lo, max=hi)
        dims = tuple({0: batch} for _ in trace_in)
    try:
        program = torch.export.export(prep.eager, trace_in, dynamic_shapes=dims, strict=False)
    except Exception as exc:  # torch raises many kinds while tracing
        raise ExportError(
            f"torch.export cannot capture this model with a batch dimension in "
            f"[{lo}, {hi}]: {_first_lines(exc)}; {_ADVICE}"
        ) from exc

    n_probe = min(hi, max(lo, n_trace + 3)) if dynamic else lo
    probe = tuple(_resize_batch(x, n_probe, gen) for x in prep.example)
    with torch.no_grad():
        probe_want = _as_tuple(prep.eager(*probe))
        trace_want = _as_tuple(prep.eager(*trace_in))
        try:
            exported = program.module()
            max_diff = _compare(_as_tuple(exported(*probe)), probe_want, names, dtype,
                                "the exported program")
        except ExportError as exc:
            raise ExportError(f"{exc}; {_ADVICE}") from exc

    card = _card.build(inputs=prep.inputs, outputs=prep.outputs, normalisation=prep.norm_card,
                       seed=seed, training_data=dict(training_data or {}),
                       metrics=dict(metrics or {}), metadata=dict(metadata or {}),
                       method="torch.export", fmt="aot")
    card["aot"] = {"batch_range": [lo, hi], "model_name": PACKAGE_MODEL}
    # No "native" entry: AOTInductor folds constants (the normalisation, the last bias)
    # into its compiled code, so the package does not hold the tensors the native kernel
    # would read. The TorchScript export of the same model runs natively.
    rtol, atol = tolerance(dtype)
    card["export_check"] = {"max_abs_diff": max_diff, "rtol": rtol, "atol": atol,
                            "n_samples": n_probe}

    configs = {"aot_inductor.metadata": {META_NAME: json.dumps(card, indent=1)}}
    configs.update(dict(inductor_configs or {}))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial.pt2")
    start = time.perf_counter()
    try:
        try:
            torch._inductor.aoti_compile_and_package(program, package_path=str(tmp),
                                                     inductor_configs=configs)
        except Exception as exc:
            raise ExportError(
                f"AOTInductor could not compile the exported model (a C++ compiler, g++, "
                f"is needed at export time): {_first_lines(exc)}; {_ADVICE}"
            ) from exc
        seconds = time.perf_counter() - start
        # the loader unpacks the package under TMPDIR: point it at a folder removed
        # afterwards, so no unpacked copy is left behind
        with tempfile.TemporaryDirectory(prefix="climlearn_aot_check_") as scratch:
            runner = _load_in(tmp, scratch)
            with torch.no_grad():
                for inputs, want in ((trace_in, trace_want), (probe, probe_want)):
                    _compare(_as_tuple(runner(*inputs)), want, names, dtype,
                             "the compiled package")
            del runner
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("exported %s (AOTInductor, batch %d..%d): compiled in %.1f s, "
             "max |exported - eager| = %.3g", path, lo, hi, seconds, max_diff)
    return path


def _load_in(package: Path, scratch: str) -> Any:
    """Load ``package`` with TMPDIR set to ``scratch`` (where the loader unpacks it)."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = scratch
    try:
        return torch._inductor.aoti_load_package(str(package))
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved


def read_package_card(path: Path) -> dict[str, Any]:
    """The validated model card of a package, read without loading its library."""
    try:
        meta = torch._C._aoti.AOTIModelPackageLoader.load_metadata_from_package(
            str(path), PACKAGE_MODEL)
    except RuntimeError as exc:
        raise ValueError(f"{path}: cannot read AOTInductor package: "
                         f"{_first_lines(exc, 1)}") from exc
    if META_NAME not in meta:
        raise ValueError(f"{path}: no climlearn model card ({META_NAME}) in the package "
                         "metadata (not written by climlearn.export.to_aot)")
    try:
        card = json.loads(meta[META_NAME])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: model card is not valid JSON: {exc}") from exc
    return _card.validate(card, str(path))


def load_package(path: Path) -> tuple[Any, dict[str, Any]]:
    """Load a package: a callable taking and returning tensors, and its card."""
    card = read_package_card(path)
    try:
        # unpacked into a scratch folder removed at once (the library stays loaded), so
        # nothing is left behind if the runner is never destroyed
        with tempfile.TemporaryDirectory(prefix="climlearn_aot_") as scratch:
            runner = _load_in(path, scratch)
    except Exception as exc:
        raise ValueError(f"{path}: cannot load AOTInductor package: "
                         f"{_first_lines(exc, 1)}") from exc
    return runner, card
