"""Map grids: unit positions, grid distances and adjacency for rectangular and hexagonal maps.

Units are numbered row by row: unit ``k`` sits at row ``k // cols`` and column ``k % cols``.
On a hexagonal grid odd rows are shifted right by half a unit and rows are
``sqrt(3)/2`` apart, so every unit has six neighbours at distance 1.
"""

from __future__ import annotations

import numpy as np

TOPOLOGIES = ("rectangular", "hexagonal")


def check_topology(topology: str) -> str:
    """Return ``topology`` if it is known, else raise ValueError listing the valid names."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"unknown topology {topology!r}; valid: {', '.join(TOPOLOGIES)}")
    return topology


def unit_coords(rows: int, cols: int, topology: str = "rectangular") -> np.ndarray:
    """Positions of the map units in the plane.

    Parameters
    ----------
    rows, cols
        Map size.
    topology
        ``"rectangular"`` (unit spacing 1 along rows and columns) or ``"hexagonal"``
        (odd rows shifted by 0.5, rows ``sqrt(3)/2`` apart).

    Returns
    -------
    numpy.ndarray
        ``(rows * cols, 2)`` array of ``(x, y)`` with x along columns and y along rows.
    """
    check_topology(topology)
    r, c = np.divmod(np.arange(rows * cols), cols)
    x = c.astype(np.float64)
    y = r.astype(np.float64)
    if topology == "hexagonal":
        x = x + 0.5 * (r % 2)
        y = y * (np.sqrt(3.0) / 2.0)
    return np.stack([x, y], axis=1)


def grid_sq_distances(coords: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between all pairs of units, ``(units, units)``."""
    diff = coords[:, None, :] - coords[None, :, :]
    return (diff ** 2).sum(-1)


def adjacency(coords: np.ndarray, topology: str) -> np.ndarray:
    """Boolean ``(units, units)`` matrix of adjacent units (a unit is not its own neighbour).

    Rectangular maps use the 8-neighbourhood (grid distance at most ``sqrt(2)``),
    hexagonal maps the 6 neighbours at distance 1 (the convention of MiniSom's
    topographic error, so the two are comparable).
    """
    check_topology(topology)
    d2 = grid_sq_distances(coords)
    limit = 2.0 if topology == "rectangular" else 1.0
    adj = d2 <= limit + 1e-9
    np.fill_diagonal(adj, False)
    return adj
