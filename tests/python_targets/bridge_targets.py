"""Python functions the Fortran test driver (tests/fortran/python_bridge.f90) calls through
the embedded interpreter. They check what they receive against the Fortran side's
construction rule and raise AssertionError otherwise (which the driver sees as a status)."""

from __future__ import annotations

import sys

import numpy as np


def expected(shape: tuple[int, ...]) -> np.ndarray:
    """The value the driver stores at each element: sum_d (i_d) * 10**(d-1), 1-based i_d
    (so x(3,2) = 3 + 20 = 23)."""
    idx = np.indices(shape) + 1
    return sum(idx[d] * 10**d for d in range(len(shape))).astype(np.float64)


def check_and_double(x: np.ndarray) -> dict[str, np.ndarray]:
    """Assert x is the driver's pattern, a Fortran-ordered read-only view; return y = 2 x."""
    assert x.flags.f_contiguous, "input is not in Fortran order"
    assert not x.flags.writeable, "input should be read-only"
    assert not x.flags.owndata, "input is a copy, not a view"
    want = expected(x.shape)
    assert np.array_equal(x.astype(np.float64), want), f"values differ for shape {x.shape}"
    return {"y": 2 * x}


def address(x: np.ndarray) -> dict[str, np.ndarray]:
    """Address of the array's first element, as the two int32 halves of an int64."""
    return {"addr": np.array([x.ctypes.data], dtype=np.int64).view(np.int32)}


def bump(x: np.ndarray) -> None:
    """Add 1 to every element in place (fails on a read-only view)."""
    x += 1


def raise_value_error(x: np.ndarray) -> None:
    """Always raises."""
    raise ValueError(f"bad value {float(x.flat[0]):g} for the test")


def wrong_shape(x: np.ndarray) -> dict[str, np.ndarray]:
    """Returns y with the C-order (transposed) shape."""
    return {"y": np.zeros(x.shape[::-1])}


def float_result(x: np.ndarray) -> dict[str, np.ndarray]:
    """Returns float64 values (cannot fill an integer output)."""
    return {"k": x.astype(np.float64)}


def wrong_name(x: np.ndarray) -> dict[str, np.ndarray]:
    """Returns the output under another name."""
    return {"z": x}


def single_array(x: np.ndarray) -> np.ndarray:
    """Returns a bare array (allowed for one output), in float64 for real32 outputs."""
    return np.asarray(x, dtype=np.float64) + 1.0


def two_in_two_out(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """sum and product of two arrays, and an extra key that is ignored."""
    return {"s": a + b, "p": a * b, "unused": 0}


def environment() -> None:
    """Print where the interpreter runs from (the test parses it)."""
    import numpy
    print(f"PREFIX {sys.prefix}")
    print(f"BASE_PREFIX {sys.base_prefix}")
    print(f"EXECUTABLE {sys.executable}")
    print(f"NUMPY {numpy.__file__}")
    print(f"VERSION {sys.version.split()[0]}")
    sys.stdout.flush()


def identity(x: np.ndarray) -> dict[str, np.ndarray]:
    """y = x."""
    return {"y": x}
