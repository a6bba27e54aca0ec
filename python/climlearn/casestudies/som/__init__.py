"""Self-organising maps with missing values (NaN) on torch tensors.

The map (:class:`SOM`) trains in batch or online mode on rectangular or hexagonal grids;
best-matching units and codebook updates use only the observed components of each
sample. See ``docs/casestudies_som.md``.
"""

from __future__ import annotations

from .cluster import hierarchical_clusters
from .grid import adjacency, unit_coords
from .io import load_som, save_som
from .metrics import adjusted_rand_index
from .plots import plot_class_map, plot_component_planes, plot_umatrix, u_matrix
from .som import SOM, sigma_schedule
from .validate import as_matrix

__all__ = ["SOM", "adjacency", "adjusted_rand_index", "as_matrix", "hierarchical_clusters",
           "load_som", "plot_class_map", "plot_component_planes", "plot_umatrix", "save_som",
           "sigma_schedule", "u_matrix", "unit_coords"]
