"""Bridge to the native kernels of voxelize_meshes: checks every tensor, allocates the outputs
and launches the CPU or CUDA launchers of ``r3d._C`` on raw pointers."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range, expect, expect_finite

# |snapped x, y| bound that keeps the kernel's edge functions exact in int64 (2^20 voxels of 256)
MAX_SNAPPED = 1 << 28


def voxelize(
    xy: torch.Tensor, z: torch.Tensor, face_item: torch.Tensor, shape: Sequence[int]
) -> torch.Tensor:
    """Native occupancy grids by ray parity along z (r3d/ops/voxelize.py).

    Args:
        xy: (F, 3, 2) int64 snapped x, y of each face's corners, |values| <= 2^28.
        z: (F, 3) float32/float64 z of each face's corners in grid units, finite.
        face_item: (F,) int64 grid of each face, in [0, N).
        shape: (N, D, H, W) of the grids.
    Returns:
        (N, D, H, W) occupancy of z's dtype, 1 inside, 0 outside.
    """
    op = "voxelize_meshes"
    check_float(op, "z", z, (None, 3))
    F = z.shape[0]
    check(op, "xy", xy, torch.int64, (F, 3, 2), z.device)
    check(op, "face_item", face_item, torch.int64, (F,), z.device)
    N, D, H, W = (int(s) for s in shape)
    if N < 0 or min(D, H, W) < 1:
        raise InputError(f"{op}: shape must be (N, D, H, W) with N >= 0 and D, H, W >= 1, "
                         f"got {tuple(shape)}")
    face_item = checked_range(op, "face_item", face_item, 0, N)
    expect_finite(op, "z", z)
    if F:
        expect(op, (xy.abs() <= MAX_SNAPPED).all(),
               f"xy: snapped coordinates must lie within +-{MAX_SNAPPED}")
    grid = (N, D, H, W)
    flips = torch.zeros(grid, dtype=torch.int32, device=z.device)
    occupancy = z.new_empty(grid)
    name = DTYPE_NAMES[z.dtype]
    if F:
        launch("voxelize_crossings", z.device, name, addr(xy), addr(z), addr(face_item), F, grid,
               addr(flips))
    if occupancy.numel():
        launch("voxelize_fill", z.device, name, addr(flips), grid, addr(occupancy))
    return occupancy
