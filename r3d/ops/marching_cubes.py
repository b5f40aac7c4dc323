"""Marching cubes: triangle meshes of the isosurfaces of a batch of scalar volumes.

``marching_cubes`` follows PyTorch3D's signature and output convention. Both implementations (the
native CPU/CUDA kernels and the vectorised pure-PyTorch :func:`marching_cubes_torch`, the oracle
and the fallback on other devices) run the same algorithm and return identical meshes:

1. every grid edge whose two ends lie on different sides of the isolevel (value below it: inside)
   holds one vertex, linearly interpolated; vertices are numbered in the order of their edges
   (grid point, then axis), so the cells sharing an edge share its vertex and the surface is
   closed wherever it does not leave the volume;
2. every cell adds the triangles of its case (:mod:`r3d.ops.marching_cubes_table`), cells in
   grid order. Ambiguous cell faces separate the inside corners, consistently across cells.

Triangles are wound so that their normals point towards higher values (outwards for a signed
distance field negative inside). Where the field equals the isolevel exactly at grid points,
several vertices coincide and zero-area triangles appear; they are kept so that the mesh stays
closed (PyTorch3D drops them).
"""

from __future__ import annotations

import torch

from r3d._native import marching_cubes as bridge
from r3d._native import use_native
from r3d._native.library import dynamic_size, in_float32, native_op
from r3d.errors import InputError
from r3d.ops.marching_cubes_table import TRIANGLES
from r3d.value_checks import expect_finite

Mesh = tuple[list[torch.Tensor], list[torch.Tensor]]


def _check_volumes(op: str, vol_batch: torch.Tensor, isolevel: float | None) -> torch.Tensor:
    """Validates the volumes; returns the (N,) isolevels (per volume (max + min) / 2 if None)."""
    if not isinstance(vol_batch, torch.Tensor) or not vol_batch.is_floating_point() \
            or vol_batch.dim() != 4:
        got = f"{vol_batch.dtype} {tuple(vol_batch.shape)}" \
            if isinstance(vol_batch, torch.Tensor) else type(vol_batch).__name__
        raise InputError(f"{op}: vol_batch must be a float tensor of shape (N, D, H, W), got {got}")
    expect_finite(op, "vol_batch", vol_batch)
    N = vol_batch.shape[0]
    if isolevel is None:
        if vol_batch.numel() == 0:
            return vol_batch.new_zeros((N,))
        flat = vol_batch.reshape(N, -1)
        return (flat.amax(1) + flat.amin(1)) / 2
    if isinstance(isolevel, bool) or not isinstance(isolevel, (int, float)):
        raise InputError(f"{op}: isolevel must be a float or None, got {type(isolevel).__name__}")
    if isolevel != isolevel or abs(isolevel) == float("inf"):
        raise InputError(f"{op}: isolevel must be finite, got {isolevel}")
    return vol_batch.new_full((N,), float(isolevel))


def _split(
    vol_batch: torch.Tensor,
    verts: torch.Tensor,
    faces: torch.Tensor,
    verts_per_item: torch.Tensor,
    faces_per_item: torch.Tensor,
    return_local_coords: bool,
) -> Mesh:
    """Cuts packed verts (V, 3) in grid units and faces (F, 3) into per-volume lists, faces
    indexing their own volume's verts, verts scaled to [-1, 1] when asked."""
    D, H, W = vol_batch.shape[1:]
    if return_local_coords:
        size = torch.tensor([W, H, D], dtype=verts.dtype, device=verts.device)
        verts = verts * (2 / (size - 1).clamp(min=1)) - 1
    first_vert = torch.cumsum(verts_per_item, 0) - verts_per_item
    faces = faces - torch.repeat_interleave(first_vert, faces_per_item, output_size=len(faces))[
        :, None
    ]
    return (
        list(verts.split(verts_per_item.tolist())),
        list(faces.split(faces_per_item.tolist())),
    )


def marching_cubes_torch(
    vol_batch: torch.Tensor, isolevel: float | None = None, return_local_coords: bool = True
) -> Mesh:
    """Pure-PyTorch :func:`marching_cubes` (any device; vectorised, not differentiable)."""
    op = "marching_cubes"
    levels = _check_volumes(op, vol_batch, isolevel)
    vol = vol_batch.detach()
    N, D, H, W = vol.shape
    device = vol.device
    if min(D, H, W) < 2:
        none = torch.zeros((N,), dtype=torch.int64, device=device)
        return _split(vol, vol.new_zeros((0, 3)), none.new_zeros((0, 3)), none, none,
                      return_local_coords)
    inside = vol < levels[:, None, None, None]
    # 1. one vertex per crossed grid edge, in (n, z, y, x, axis) order
    crossed = torch.zeros((N, D, H, W, 3), dtype=torch.bool, device=device)
    crossed[..., :-1, 0] = inside[..., :-1] != inside[..., 1:]
    crossed[:, :, :-1, :, 1] = inside[:, :, :-1] != inside[:, :, 1:]
    crossed[:, :-1, :, :, 2] = inside[:, :-1] != inside[:, 1:]
    n, z, y, x, axis = crossed.nonzero().unbind(1)
    start = torch.stack([x, y, z], 1)
    step = torch.nn.functional.one_hot(axis, 3)
    end = start + step
    va = vol[n, z, y, x]
    vb = vol[n, end[:, 2], end[:, 1], end[:, 0]]
    t = (levels[n] - va) / (vb - va)
    verts = start.to(vol.dtype) + t[:, None] * step.to(vol.dtype)
    vert_id = torch.cumsum(crossed.reshape(-1), 0) - 1
    # 2. the triangles of every cell, cells in (n, z, y, x) order
    case = torch.zeros((N, D - 1, H - 1, W - 1), dtype=torch.int64, device=device)
    for c in range(8):
        dx, dy, dz = c & 1, (c >> 1) & 1, (c >> 2) & 1
        corner = inside[:, dz:D - 1 + dz, dy:H - 1 + dy, dx:W - 1 + dx]
        case |= corner.to(torch.int64) << c
    table = TRIANGLES.to(device)
    cn, cz, cy, cx = (case > 0).logical_and(case < 255).nonzero().unbind(1)
    tris = table[case[cn, cz, cy, cx]]  # (C, T, 3) local edges, -1 padded
    keep = tris[:, :, 0] >= 0
    cell = torch.stack([cn, cz, cy, cx], 1)[:, None, :].expand(-1, tris.shape[1], -1)[keep]
    code = tris[keep]  # (F, 3) edge codes 3 * corner + axis
    corner = code // 3
    point = (
        ((cell[:, :1] * D + cell[:, 1:2] + (corner >> 2 & 1)) * H + cell[:, 2:3]
         + (corner >> 1 & 1)) * W + cell[:, 3:4] + (corner & 1)
    )
    faces = vert_id[point * 3 + code % 3]
    return _split(
        vol_batch, verts, faces, torch.bincount(n, minlength=N),
        torch.bincount(cell[:, 0], minlength=N), return_local_coords,
    )


@native_op("marching_cubes", lambda vol, levels, table: (
    vol.new_empty((dynamic_size(), 3)), table.new_empty((dynamic_size(), 3)),
    levels.new_empty(levels.shape, dtype=torch.int64),
    levels.new_empty(levels.shape, dtype=torch.int64),
))
def marching_cubes_op(
    vol: torch.Tensor, levels: torch.Tensor, table: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native marching cubes of volumes (N, D, H, W): packed verts (V, 3), faces (F, 3) and
    the (N,) numbers of each per volume."""
    verts, faces, verts_per_item, faces_per_item = bridge.marching_cubes(vol, levels, table)
    return verts, faces, verts_per_item.clone(), faces_per_item.clone()  # outputs may not alias


def marching_cubes(
    vol_batch: torch.Tensor, isolevel: float | None = None, return_local_coords: bool = True
) -> Mesh:
    """The isosurface of each volume of a batch as a closed, consistently wound triangle mesh.

    Args:
        vol_batch: (N, D, H, W) float tensor of N scalar fields, all finite.
        isolevel: the surface's value; values below it are inside. None: for each volume, the
            mean of its minimum and maximum.
        return_local_coords: True for vertices in [-1, 1]^3, False for grid units in
            [0, W - 1] x [0, H - 1] x [0, D - 1]. Vertex (x, y, z) is along (W, H, D).
    Returns:
        verts: list of N (V_i, 3) tensors of vol_batch's dtype; faces: list of N (F_i, 3) int64
        tensors indexing them. A volume whose values are all on one side gives (0, 3) tensors.
        Not differentiable.
    """
    if not (isinstance(vol_batch, torch.Tensor) and use_native(vol_batch, "marching_cubes")):
        return marching_cubes_torch(vol_batch, isolevel, return_local_coords)
    levels = _check_volumes("marching_cubes", vol_batch, isolevel)
    vol = vol_batch.detach().contiguous()
    verts, faces, verts_per_item, faces_per_item = in_float32(
        marching_cubes_op, vol, levels, TRIANGLES.to(vol.device)
    )
    return _split(vol, verts, faces, verts_per_item, faces_per_item, return_local_coords)
