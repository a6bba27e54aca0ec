"""The Python half of the Fortran -> Python bridge (``libclimlearn_python``).

A Fortran (or C) host calls ``cl_py_call("package.module:function", inputs, outputs)``;
the embedded interpreter runs this module's :func:`call`, which

1. resolves the target once (``importlib.import_module`` then ``getattr`` along a dotted
   attribute path) and caches it;
2. wraps every input as a numpy array **over the host's memory** (no copy): Fortran
   order, the Fortran shape (``x(nlev, ncol)`` arrives with ``shape == (nlev, ncol)`` and
   ``x.flags.f_contiguous``), read-only unless the host marked it writable;
3. calls ``target(**inputs)``;
4. writes the returned arrays into the outputs: the function returns a mapping
   ``{name: array}`` holding at least every requested output name (extra names are
   ignored), or, when exactly one output is requested, the array itself. Each array must
   have the output's Fortran shape exactly and a dtype that casts to the output's under
   numpy's ``same_kind`` rule (float64 -> float32 is allowed, float -> integer is not).

The arrays handed to the function are views valid only during the call: a function that
keeps data for later (an online trainer accumulating batches) must copy it.

Errors never escape into the host: they become a status (the ``CL_ERR_*`` codes of
``climlearn.h``) and a message, ``"<target>: <ExceptionType>: <message> (at
<file>:<line> in <function>: <source line>)"`` for an exception raised by the target.

Writing a target::

    # mypkg/physics.py
    def predict(x, t):                  # keyword names = the Fortran names
        return {"y": model(x) + t.mean(axis=0)}

This module is imported by the embedded interpreter only; importing it elsewhere is
harmless (it defines functions and does nothing).
"""

from __future__ import annotations

import gc
import importlib
import logging
import math
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

__all__ = ["BridgeError", "call", "install", "resolve", "format_exception", "DTYPES"]

# Status codes (enum cl_status of climlearn.h).
OK, ERR_ARGUMENT, ERR_SHAPE, ERR_DTYPE, ERR_RUNTIME, ERR_STATE = 0, 1, 5, 6, 8, 9

DTYPES: dict[int, np.dtype] = {1: np.dtype(np.float32), 2: np.dtype(np.float64),
                               3: np.dtype(np.int32)}
"""Element type codes of ``cl_py_array.dtype`` -> numpy dtypes."""

_FORTRAN_TYPE = {1: "real(real32)", 2: "real(real64)", 3: "integer(int32)"}
_MAX_RANK = 4
_PROBLEMS = {1: "is not contiguous (pass a contiguous array, or a copy)",
             2: "has a name longer than 63 characters"}

_targets: dict[str, Callable[..., Any]] = {}


class BridgeError(Exception):
    """An error with the status code the host receives."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def format_exception(exc: BaseException) -> str:
    """``"Type: message (at file:line in function: source)"``: the exception and the last
    line of its traceback (the frame that raised)."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        f = frames[-1]
        where = f"{f.filename}:{f.lineno} in {f.name}"
        if f.line:
            where += f": {f.line.strip()}"
        text += f" (at {where})"
    return text


def resolve(target: str) -> Callable[..., Any]:
    """The callable named ``"package.module:function"`` (the attribute part may be dotted,
    ``"pkg.mod:Class.method"``), imported on first use and cached.

    Raises
    ------
    BridgeError
        ``ERR_ARGUMENT``: malformed name, module not importable, missing attribute, or not
        callable.
    """
    fn = _targets.get(target)
    if fn is not None:
        return fn
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise BridgeError(ERR_ARGUMENT, f"target must be 'package.module:function', "
                                        f"given {target!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise BridgeError(ERR_ARGUMENT, f"cannot import module {module_name!r} of target "
                                        f"{target!r}: {format_exception(exc)}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise BridgeError(ERR_ARGUMENT, f"target {target!r}: {type(obj).__name__} "
                                            f"{getattr(obj, '__name__', obj)!r} has no "
                                            f"attribute {part!r}") from None
    if not callable(obj):
        raise BridgeError(ERR_ARGUMENT, f"target {target!r} is a {type(obj).__name__}, "
                                        "not a callable")
    _targets[target] = obj
    return obj


def _describe(ffi: Any, d: Any, side: str, index: int, writable: bool) -> tuple[str, np.ndarray]:
    """(name, numpy view over the host's array) for one ``cl_py_array`` descriptor."""
    name = ffi.string(d.name).decode("utf-8", "replace")
    label = f"{side} {index + 1}" + (f" ({name!r})" if name else "")
    if d.problem in _PROBLEMS:
        raise BridgeError(ERR_ARGUMENT, f"{label} {_PROBLEMS[d.problem]}")
    if not name.isidentifier():
        raise BridgeError(ERR_ARGUMENT, f"{label}: the name must be a Python identifier, "
                                        f"given {name!r}")
    dtype = DTYPES.get(int(d.dtype))
    if dtype is None:
        raise BridgeError(ERR_DTYPE, f"{label}: unknown dtype code {d.dtype} (valid: "
                                     f"{sorted(DTYPES)})")
    rank = int(d.rank)
    if not 1 <= rank <= _MAX_RANK:
        raise BridgeError(ERR_SHAPE, f"{label}: rank must be 1 to {_MAX_RANK}, given {rank}")
    shape = tuple(int(d.shape[i]) for i in range(rank))
    if min(shape) < 0:
        raise BridgeError(ERR_SHAPE, f"{label}: negative extent in shape {shape}")
    n = math.prod(shape)
    if n == 0:
        arr = np.empty(shape, dtype=dtype, order="F")
    elif d.data == ffi.NULL:
        raise BridgeError(ERR_ARGUMENT, f"{label}: data pointer is NULL for shape {shape}")
    else:
        buf = ffi.buffer(d.data, n * dtype.itemsize)
        arr = np.frombuffer(buf, dtype=dtype).reshape(shape, order="F")
    if not writable:
        arr.flags.writeable = False
    return name, arr


def _store(name: str, out: np.ndarray, value: Any, code: int) -> None:
    """Write ``value`` into the output view ``out`` after checking shape and dtype."""
    arr = np.asarray(value)
    if arr.shape != out.shape:
        raise BridgeError(ERR_SHAPE, f"output {name!r}: the target returned shape "
                                     f"{arr.shape}, the Fortran array has shape {out.shape} "
                                     "(Fortran order)")
    if not np.can_cast(arr.dtype, out.dtype, casting="same_kind"):
        raise BridgeError(ERR_DTYPE, f"output {name!r}: the target returned dtype "
                                     f"{arr.dtype}, which cannot be written into the "
                                     f"{_FORTRAN_TYPE[code]} ({out.dtype}) array")
    np.copyto(out, arr, casting="same_kind")


def call(ffi: Any, target: str, inputs: Any, n_inputs: int, outputs: Any,
         n_outputs: int) -> None:
    """Run ``target`` on the host's arrays (see the module documentation).

    Raises
    ------
    BridgeError
        With the status for the host; a target's own exception becomes ``ERR_RUNTIME``.
    """
    fn = resolve(target)
    kwargs: dict[str, np.ndarray] = {}
    for i in range(n_inputs):
        d = inputs[i]
        name, arr = _describe(ffi, d, "input", i, bool(d.writable))
        if name in kwargs:
            raise BridgeError(ERR_ARGUMENT, f"input name {name!r} is given twice")
        kwargs[name] = arr
    outs: list[tuple[str, np.ndarray, int]] = []
    for i in range(n_outputs):
        d = outputs[i]
        name, arr = _describe(ffi, d, "output", i, True)
        if any(name == o[0] for o in outs):
            raise BridgeError(ERR_ARGUMENT, f"output name {name!r} is given twice")
        outs.append((name, arr, int(d.dtype)))
    try:
        result = fn(**kwargs)
    except Exception as exc:
        raise BridgeError(ERR_RUNTIME, f"{target}: {format_exception(exc)}") from exc
    if not outs:
        return
    if isinstance(result, Mapping):
        missing = [name for name, _, _ in outs if name not in result]
        if missing:
            raise BridgeError(ERR_ARGUMENT, f"{target} returned no {', '.join(map(repr, missing))}"
                                            f" (it returned {sorted(map(str, result))}; "
                                            f"the host asked for {[o[0] for o in outs]})")
        for name, arr, code in outs:
            _store(name, arr, result[name], code)
    elif len(outs) == 1 and result is not None and not isinstance(result, str | bytes):
        name, arr, code = outs[0]
        _store(name, arr, result, code)
    else:
        raise BridgeError(ERR_ARGUMENT, f"{target} must return a mapping name -> array with "
                                        f"{[o[0] for o in outs]}, it returned "
                                        f"{type(result).__name__}")


def install(ffi: Any, lib: Any) -> None:
    """Define the ``clpy_impl_*`` functions of the embedded module (called once by its
    init code, in the embedded interpreter)."""

    def fail(status: int, message: str) -> int:
        lib.clpy_set_error(message.encode("utf-8", "replace"))
        return status

    @ffi.def_extern(error=ERR_RUNTIME)
    def clpy_impl_start(done: Any) -> int:
        done[0] = 1
        try:
            np.zeros(1)
        except Exception as exc:  # pragma: no cover - numpy is a dependency
            return fail(ERR_RUNTIME, f"cl_py_init: numpy does not work: {exc}")
        log.debug("embedded Python %s at %s", sys.version.split()[0], sys.prefix)
        return OK

    @ffi.def_extern(error=ERR_RUNTIME)
    def clpy_impl_call(target: Any, n_inputs: int, inputs: Any, n_outputs: int,
                       outputs: Any) -> int:
        name = "?"
        try:
            name = ffi.string(target).decode("utf-8", "replace")
            call(ffi, name, inputs, n_inputs, outputs, n_outputs)
            return OK
        except BridgeError as exc:
            return fail(exc.status, str(exc))
        except BaseException as exc:  # noqa: BLE001 - nothing may cross into Fortran
            return fail(ERR_RUNTIME, f"{name}: {format_exception(exc)}")

    @ffi.def_extern(error=ERR_RUNTIME)
    def clpy_impl_finalize() -> int:
        _targets.clear()
        gc.collect()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream must not stop shutdown
                pass
        return OK
