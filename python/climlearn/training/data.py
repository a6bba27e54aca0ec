"""Lazy training data: xarray datasets opened from NetCDF or Zarr, read chunk by chunk.

A *sample* is one point of the sample dimensions (e.g. ``(time, lat)``), stacked in
C order, so sample ``i`` is ``(t, j) = divmod(i, n_lat)``. Its input vector is the
concatenation of the named input variables, each flattened over its remaining (feature)
dimensions; likewise for the outputs. The FIRST sample dimension is the streamed one: the
data are cut into *chunks* of ``chunk_size`` steps along it, and a chunk is the unit that
is read, shuffled among, and shared between ranks. Nothing else is ever loaded.

>>> ds = open_dataset(["run_*.nc"], sample_dim="time", chunk_size=64)
>>> samples = ChunkedSamples(ds, ("time", "lat"), ["T", "q"], ["dT"], chunk_size=64)
>>> x, y, idx = samples.read([3, 0])      # chunks 3 then 0, as numpy arrays
"""

from __future__ import annotations

import glob
import logging
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

log = logging.getLogger(__name__)

__all__ = ["ChunkedSamples", "VariableLayout", "open_dataset", "resolve_paths",
           "DEFAULT_CHUNK_SAMPLES", "NETCDF_CHUNK_CACHE_BYTES"]

NETCDF_CHUNK_CACHE_BYTES = 0
"""netCDF-C chunk cache per variable of each NetCDF file opened by :func:`open_dataset`.

The netCDF-C default (64 MiB per variable per open file) keeps the chunks a stream has
read, and xarray keeps up to 128 files open: one epoch over many files would leave most
of the data set in those caches. Every chunk is read once per epoch, so the cache is
useless here; 0 switches it off (see benchmarks/training_memory.py). This is a setting of
the netCDF library for files opened afterwards in this process.
"""

DEFAULT_CHUNK_SAMPLES = 65536
"""Samples per chunk when neither the config nor the storage chunking sets a chunk size."""


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (path.suffix == ".zarr" or (path / ".zgroup").exists()
                              or (path / "zarr.json").exists())


def resolve_paths(patterns: Sequence[str | os.PathLike],
                  base_dir: str | os.PathLike = ".") -> list[Path]:
    """Expand globs (relative to ``base_dir``) into existing paths, in sorted order per
    pattern.

    Raises
    ------
    FileNotFoundError
        A pattern matches nothing (the message names it and the folder searched).
    """
    out: list[Path] = []
    for pattern in patterns:
        p = Path(pattern).expanduser()
        if not p.is_absolute():
            p = Path(base_dir) / p
        matches = sorted(glob.glob(str(p))) if glob.has_magic(str(p)) else (
            [str(p)] if p.exists() else [])
        if not matches:
            raise FileNotFoundError(f"training data not found: {pattern!r} matches no file "
                                    f"(looked in {Path(base_dir).resolve()})")
        out.extend(Path(m) for m in matches)
    return out


def open_dataset(paths: Sequence[str | os.PathLike], *, sample_dims: Sequence[str],
                 chunk_size: int | None = None, fmt: str = "auto",
                 base_dir: str | os.PathLike = ".") -> xr.Dataset:
    """Open NetCDF files or one Zarr store lazily, dask-backed, with one dask chunk per
    read chunk of the streamed dimension ``sample_dims[0]``.

    Parameters
    ----------
    paths
        NetCDF files or globs (combined along ``sample_dim`` in the given order), or one
        Zarr store.
    sample_dims
        The sample dimensions; several files are concatenated along the first.
    chunk_size
        Steps of ``sample_dims[0]`` per dask chunk. None: the storage chunking (NetCDF-4
        or Zarr chunks) if the data have one along that dimension, else about
        :data:`DEFAULT_CHUNK_SAMPLES` samples.
    fmt
        ``auto`` (a folder that is a Zarr store is Zarr, anything else NetCDF),
        ``netcdf`` or ``zarr``.
    base_dir
        Folder that relative paths are taken from.

    Raises
    ------
    FileNotFoundError
        A path or glob matches nothing.
    ValueError
        Unknown format, several Zarr stores, or a file xarray cannot open.
    """
    files = resolve_paths(paths, base_dir)
    sample_dim = sample_dims[0]
    ds = _open(files, sample_dim, fmt, {} if chunk_size is None else {sample_dim: chunk_size})
    if chunk_size is None:
        names = [n for n, v in ds.data_vars.items() if sample_dim in v.dims]
        if names and _storage_chunk(ds, names, sample_dim) is None:
            # contiguous storage: one dask chunk would span a whole file
            other = math.prod(int(ds.sizes[d]) for d in sample_dims[1:] if d in ds.sizes)
            ds = _open(files, sample_dim, fmt,
                       {sample_dim: max(1, DEFAULT_CHUNK_SAMPLES // max(1, other))})
    return ds


def _open(files: list[Path], sample_dim: str, fmt: str, chunks: dict) -> xr.Dataset:
    if fmt == "auto":
        fmt = "zarr" if all(_is_zarr(f) for f in files) else "netcdf"
    if fmt not in ("netcdf", "zarr"):
        raise ValueError(f"unknown data format {fmt!r}; valid formats are: auto, netcdf, zarr")
    try:
        if fmt == "zarr":
            if len(files) != 1:
                raise ValueError(f"format 'zarr' takes one store, given {len(files)}: "
                                 f"{[str(f) for f in files]}")
            with warnings.catch_warnings():
                # a store without consolidated metadata is fine, only slower to open
                warnings.filterwarnings("ignore", "Failed to open Zarr store with "
                                        "consolidated metadata", RuntimeWarning)
                return xr.open_zarr(files[0], chunks=chunks)
        import netCDF4

        _, nelems, preemption = netCDF4.get_chunk_cache()
        netCDF4.set_chunk_cache(NETCDF_CHUNK_CACHE_BYTES, nelems, preemption)
        if len(files) == 1:
            return xr.open_dataset(files[0], engine="netcdf4", chunks=chunks)
        return xr.open_mfdataset(files, engine="netcdf4", chunks=chunks, combine="nested",
                                 concat_dim=sample_dim, data_vars="minimal",
                                 coords="minimal", compat="override", join="override")
    except (OSError, ValueError, KeyError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("format 'zarr'"):
            raise
        raise ValueError(f"cannot open training data {[str(f) for f in files]} as {fmt}: "
                         f"{exc}") from exc


@dataclass(frozen=True)
class VariableLayout:
    """Where one variable sits in the concatenated feature vector.

    Attributes
    ----------
    name, units, long_name
        From the variable and its CF attributes.
    feature_dims, feature_shape
        Its dimensions besides the sample dimensions, in storage order, and their sizes
        (flattened in C order into the vector).
    start, stop
        Its slice of the vector.
    """

    name: str
    units: str
    long_name: str
    feature_dims: tuple[str, ...]
    feature_shape: tuple[int, ...]
    start: int
    stop: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for the model card and ``training.json``)."""
        return {"name": self.name, "units": self.units, "long_name": self.long_name,
                "feature_dims": list(self.feature_dims),
                "feature_shape": list(self.feature_shape), "start": self.start,
                "stop": self.stop}


def _layout(ds: xr.Dataset, names: Sequence[str], sample_dims: tuple[str, ...],
            what: str) -> list[VariableLayout]:
    out = []
    pos = 0
    for name in names:
        if name not in ds.data_vars:
            raise ValueError(f"{what} variable {name!r} is not in the data; variables are: "
                             f"{', '.join(sorted(map(str, ds.data_vars)))}")
        var = ds[name]
        missing = [d for d in sample_dims if d not in var.dims]
        if missing:
            raise ValueError(f"{what} variable {name!r} has dims {var.dims}, which lack the "
                             f"sample dimension(s) {missing} (sample_dims {sample_dims})")
        if not np.issubdtype(var.dtype, np.floating) and not np.issubdtype(var.dtype,
                                                                           np.integer):
            raise ValueError(f"{what} variable {name!r} has dtype {var.dtype}; expected "
                             "a floating-point or integer variable")
        fdims = tuple(str(d) for d in var.dims if d not in sample_dims)
        fshape = tuple(int(var.sizes[d]) for d in fdims)
        n = math.prod(fshape)
        out.append(VariableLayout(name=name, units=str(var.attrs.get("units", "1")),
                                  long_name=str(var.attrs.get("long_name", name)),
                                  feature_dims=fdims, feature_shape=fshape, start=pos,
                                  stop=pos + n))
        pos += n
    return out


def _dask_chunk(ds: xr.Dataset, names: Sequence[str], dim: str) -> int | None:
    """The dask chunk along ``dim`` if every chunk but the last has that size."""
    for name in names:
        chunks = ds[name].chunksizes.get(dim) if ds[name].chunks is not None else None
        if chunks:
            if len(set(chunks[:-1])) <= 1 and chunks[-1] <= chunks[0]:
                return int(chunks[0])
            return None
    return None


def _storage_chunk(ds: xr.Dataset, names: Sequence[str], dim: str) -> int | None:
    for name in names:
        preferred = ds[name].encoding.get("preferred_chunks") or {}
        if dim in preferred:
            return int(preferred[dim])
    return None


class ChunkedSamples:
    """Samples of a (lazy or in-memory) dataset, read by chunks of the streamed dimension.

    Parameters
    ----------
    ds
        The dataset; dask-backed variables are read only chunk by chunk.
    sample_dims
        Dimensions stacked into the sample axis; ``sample_dims[0]`` is streamed.
    inputs, outputs
        Variables concatenated (flattened over their other dimensions) into the input and
        the output vectors.
    chunk_size
        Steps of ``sample_dims[0]`` per chunk. None: the storage chunk along that
        dimension (NetCDF/Zarr chunking) if there is one, else about
        :data:`DEFAULT_CHUNK_SAMPLES` samples.
    dtype
        numpy dtype of the arrays returned by :meth:`read`.

    Raises
    ------
    ValueError
        A variable or dimension is missing, a sample dimension is repeated, or there are
        no samples.
    """

    def __init__(self, ds: xr.Dataset, sample_dims: Sequence[str], inputs: Sequence[str],
                 outputs: Sequence[str], chunk_size: int | None = None,
                 dtype: Any = np.float32) -> None:
        sample_dims = tuple(sample_dims)
        if len(set(sample_dims)) != len(sample_dims):
            raise ValueError(f"sample_dims must be distinct, given {list(sample_dims)}")
        for d in sample_dims:
            if d not in ds.dims:
                raise ValueError(f"sample dimension {d!r} is not in the data; dimensions "
                                 f"are: {dict(ds.sizes)}")
        self.sample_dims = sample_dims
        self.stream_dim = sample_dims[0]
        self.inputs = _layout(ds, inputs, sample_dims, "input")
        self.outputs = _layout(ds, outputs, sample_dims, "output")
        self.n_in = self.inputs[-1].stop
        self.n_out = self.outputs[-1].stop
        self.dtype = np.dtype(dtype)
        self.n_steps = int(ds.sizes[self.stream_dim])
        self.n_other = math.prod(int(ds.sizes[d]) for d in sample_dims[1:])
        if self.n_steps * self.n_other == 0:
            raise ValueError(f"no samples: sample dimension sizes are "
                             f"{[int(ds.sizes[d]) for d in sample_dims]}")
        names = [v.name for v in self.inputs + self.outputs]
        if chunk_size is None:
            chunk_size = (_dask_chunk(ds, names, self.stream_dim)
                          or _storage_chunk(ds, names, self.stream_dim)
                          or max(1, DEFAULT_CHUNK_SAMPLES // self.n_other))
        self.chunk_size = int(min(chunk_size, self.n_steps))
        self.n_chunks = -(-self.n_steps // self.chunk_size)
        ds = ds[names]
        lazy = [n for n in names if not ds[n].variable._in_memory]
        if any(ds[n].chunks is None for n in lazy):
            # lazily indexed but not dask-backed: give it dask chunks (never .values)
            ds = ds.chunk({self.stream_dim: self.chunk_size})
        self._set(ds)
        log.info("%d samples (%d x %d), %d chunks of %d steps of %r; %d inputs, %d outputs, "
                 "%s", self.n_samples, self.n_steps, self.n_other, self.n_chunks,
                 self.chunk_size, self.stream_dim, self.n_in, self.n_out,
                 "lazy" if self.lazy else "in memory")

    def _set(self, ds: xr.Dataset) -> None:
        self._ds = ds
        self.lazy = any(v.chunks is not None for v in ds.data_vars.values())
        # each variable with the sample dims first, as a dask or numpy array
        self._arrays = [ds[v.name].transpose(*self.sample_dims, *v.feature_dims).data
                        for v in self.inputs + self.outputs]
        # reads need no slicing fused into the file reads when dask chunks = read chunks
        self._aligned = all(_dask_chunk(ds, [v], self.stream_dim) == self.chunk_size
                            or ds[v].chunks is None for v in ds.data_vars)

    # ---- geometry ----------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """All samples."""
        return self.n_steps * self.n_other

    @property
    def dataset(self) -> xr.Dataset:
        """The selected variables (lazy if the input was)."""
        return self._ds

    def chunk_steps(self, chunk: int) -> tuple[int, int]:
        """``[start, stop)`` of ``chunk`` along the streamed dimension."""
        if not 0 <= chunk < self.n_chunks:
            raise IndexError(f"chunk {chunk} out of range 0..{self.n_chunks - 1}")
        a = chunk * self.chunk_size
        return a, min(a + self.chunk_size, self.n_steps)

    def chunk_samples(self, chunk: int) -> int:
        """Samples in ``chunk``."""
        a, b = self.chunk_steps(chunk)
        return (b - a) * self.n_other

    def chunk_lengths(self) -> np.ndarray:
        """Samples in every chunk, by chunk number."""
        return np.array([self.chunk_samples(c) for c in range(self.n_chunks)], dtype=np.int64)

    # ---- reading -------------------------------------------------------------------
    def load(self) -> ChunkedSamples:
        """Load the selected variables into memory (same chunks, same reads after)."""
        self._set(self._ds.load())
        return self

    def _matrix(self, arrays: list[np.ndarray], layouts: list[VariableLayout],
                n: int, steps: tuple[int, int]) -> np.ndarray:
        out = np.empty((n, layouts[-1].stop), dtype=self.dtype)
        for arr, lay in zip(arrays, layouts, strict=True):
            block = np.asarray(arr).reshape(n, lay.stop - lay.start)
            if not np.isfinite(block).all():
                bad = int(np.size(block) - np.count_nonzero(np.isfinite(block)))
                raise ValueError(
                    f"variable {lay.name!r} has {bad} NaN/Inf value(s) in "
                    f"{self.stream_dim} steps {steps[0]}..{steps[1] - 1}; training data "
                    "must be finite")
            out[:, lay.start:lay.stop] = block
        return out

    def read(self, chunks: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Read chunks into ``(x, y, idx)``, concatenated in the order given.

        ``x`` is ``(n, n_in)`` and ``y`` ``(n, n_out)`` in :attr:`dtype` (physical units),
        ``idx`` the global sample numbers (``step * n_other + flat index of the other
        sample dimensions``). One dask computation reads all the chunks' variables.

        Raises
        ------
        ValueError
            Non-finite values (naming the variable and the steps).
        """
        import dask

        layouts = self.inputs + self.outputs
        pieces = []
        for c in chunks:
            a, b = self.chunk_steps(int(c))
            pieces.extend(arr[a:b] for arr in self._arrays)
        if self.lazy:
            # when the dask chunks are the read chunks (see open_dataset), no slicing
            # needs fusing into the file reads: skip the graph optimisation, which costs
            # more than the reads on small chunks
            pieces = list(dask.compute(*pieces, scheduler="synchronous",
                                       optimize_graph=not self._aligned))
        xs, ys, idx = [], [], []
        nv = len(layouts)
        for k, c in enumerate(chunks):
            a, b = self.chunk_steps(int(c))
            n = (b - a) * self.n_other
            arrs = pieces[k * nv:(k + 1) * nv]
            xs.append(self._matrix(arrs[:len(self.inputs)], self.inputs, n, (a, b)))
            ys.append(self._matrix(arrs[len(self.inputs):], self.outputs, n, (a, b)))
            idx.append(np.arange(a * self.n_other, b * self.n_other, dtype=np.int64))
        if not xs:
            return (np.empty((0, self.n_in), self.dtype), np.empty((0, self.n_out),
                    self.dtype), np.empty(0, np.int64))
        if len(xs) == 1:
            return xs[0], ys[0], idx[0]
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(idx)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly description (for ``training.json`` and the model card)."""
        return {"sample_dims": list(self.sample_dims), "n_samples": self.n_samples,
                "n_steps": self.n_steps, "samples_per_step": self.n_other,
                "chunk_size": self.chunk_size, "n_chunks": self.n_chunks,
                "inputs": [v.as_dict() for v in self.inputs],
                "outputs": [v.as_dict() for v in self.outputs]}
