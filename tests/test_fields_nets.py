"""Shared map networks helpers of ``climlearn.fields.nets``."""

from __future__ import annotations

import torch

from climlearn.fields.nets import dihedral_outputs


def test_dihedral_outputs_invert_each_symmetry():
    """Each output is mapped back to the input's grid: a pointwise model gives itself 8
    times; a model reading one fixed corner sees the 8 different corners, each put back
    where the model wrote it; the identity comes first."""
    x = 1.0 + torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4)
    outs = list(dihedral_outputs(torch.tanh, x))
    assert len(outs) == 8
    for o in outs:
        torch.testing.assert_close(o, torch.tanh(x), rtol=0, atol=0)

    def corner(z: torch.Tensor) -> torch.Tensor:   # writes z[..., 0, 0] at (0, 0) only
        out = torch.zeros_like(z)
        out[..., 0, 0] = z[..., 0, 0]
        return out

    outs = list(dihedral_outputs(corner, x))
    torch.testing.assert_close(outs[0], corner(x), rtol=0, atol=0)
    seen = set()
    for o in outs:
        nz = o[0, 0].nonzero()
        assert nz.shape[0] == 1
        i, j = nz[0].tolist()
        assert i in (0, 3) and j in (0, 3)          # a corner of the input grid ...
        assert o[0, 0, i, j] == x[0, 0, i, j]       # ... holding that corner's own value
        seen.add((i, j))
    assert seen == {(0, 0), (0, 3), (3, 0), (3, 3)}
