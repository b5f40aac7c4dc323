"""Bridge to the native kernels of marching_cubes: checks every tensor, allocates the outputs and
launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch
from r3d.value_checks import checked_range


def marching_cubes(
    vol: torch.Tensor, levels: torch.Tensor, table: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native marching cubes over a batch of volumes (two passes and a prefix sum between).

    Args:
        vol: (N, D, H, W) float32/float64, contiguous.
        levels: (N,) isolevel of each volume, of vol's dtype.
        table: (256, T, 3) int64 case table of edge codes in [-1, 24)
            (r3d.ops.marching_cubes_table.TRIANGLES).
    Returns:
        verts (V, 3) in grid units (x, y, z), faces (F, 3) int64 packed vertex rows, and the
        (N,) int64 numbers of verts and of faces of each volume.
    """
    op = "marching_cubes"
    check_float(op, "vol", vol, (None, None, None, None))
    N, D, H, W = vol.shape
    check(op, "levels", levels, vol.dtype, (N,), vol.device)
    check(op, "table", table, torch.int64, (256, None, 3), vol.device)
    table = checked_range(op, "table", table, -1, 24)
    grid = (N, D, H, W, table.shape[1])
    # a volume with a side under 2 has no cell, hence no surface (nor vertices, as the twin)
    points = N * D * H * W if min(D, H, W) >= 2 else 0
    crossed = torch.zeros((points, 3), dtype=torch.uint8, device=vol.device)
    tris = torch.zeros((points,), dtype=torch.uint8, device=vol.device)
    name = DTYPE_NAMES[vol.dtype]
    if points:
        launch(
            "marching_cubes_count", vol.device, name, addr(vol), addr(levels), addr(table), grid,
            addr(crossed), addr(tris),
        )
    vert_end = torch.cumsum(crossed.reshape(-1), 0, dtype=torch.int64)
    tri_end = torch.cumsum(tris, 0, dtype=torch.int64)
    counts = torch.zeros((2, N), dtype=torch.int64, device=vol.device)
    if points:
        ends = torch.stack([vert_end.reshape(N, -1)[:, -1], tri_end.reshape(N, -1)[:, -1]])
        counts = torch.diff(ends, dim=1, prepend=ends.new_zeros((2, 1)))
    num_verts, num_faces = (int(n) for n in counts.sum(1).tolist())
    verts = vol.new_empty((num_verts, 3))
    faces = torch.empty((num_faces, 3), dtype=torch.int64, device=vol.device)
    if points:
        launch(
            "marching_cubes_emit", vol.device, name, addr(vol), addr(levels), addr(table), grid,
            addr(vert_end), addr(tri_end), addr(verts), addr(faces),
        )
    return verts, faces, counts[0], counts[1]

