"""Voxelisation of triangle meshes: the occupancy grid of the solid each mesh bounds.

PyTorch3D has no such op; :func:`voxelize_meshes` returns what its ``Volumes`` is built from
(densities in (z, y, x) order, the voxel size and the volume translation). Both implementations
(the native CPU/CUDA kernels and the vectorised pure-PyTorch :func:`voxelize_meshes_torch`, the
oracle and the fallback on other devices) run the same algorithm and return identical grids.

Inside test: ray parity along z. Each column of voxels (x, y fixed) is crossed by the vertical
line through its voxels' centres; a voxel is occupied when that line crosses the mesh an odd
number of times below the voxel's centre. Parity, not the winding number, because it is a
count per column of the crossings the faces report (one pass over the faces, then one over the
columns), independent of how the faces are wound, and exact for any closed mesh (each line
enters and leaves the solid in turn). How ties are decided:

1. vertex x and y are snapped to fixed point in grid units (1/256 of a voxel, int64), so that
   whether a line passes through a triangle is decided by exact integer edge functions: faces
   sharing an edge see the same edge, whatever their winding;
2. a line hitting an edge or a vertex exactly is moved by the symbolic perturbation
   (x + e, y + e^2) for an infinitesimal e > 0: a point exactly on an edge belongs to the
   triangle the perturbation moves it into, so it is counted by exactly one of the two faces
   sharing that edge (or by none or two at a silhouette, where the line grazes the surface), and
   a line through a vertex crosses exactly one face of the fan around it. Faces whose projection
   has no area (parallel to the lines) are never crossed;
3. the crossing depth is interpolated in the triangle (in grid units, the dtype of the vertices)
   and a crossing counts for a voxel when it lies at or below the voxel's centre.

So a watertight mesh never gives a wrong column, and a voxel centre exactly on the surface is
occupied when the solid lies on the side of +x, then +y, then +z of it: the unit cube
[0, 1]^3 holds the centres in [0, 1)^3. A mesh with holes, or whose surface crosses itself, is
voxelised by the same parity rule: a line through a hole (or one extra layer) misses one
crossing, which swaps inside and outside in its column past that depth.

x and y are snapped to 1/256 of a voxel (so a vertex moves by at most 1/512 of a voxel); the
vertices must lie within 2^20 voxels of their grid (InputError otherwise), which keeps the
integer arithmetic exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from r3d._checks import describe
from r3d._native import use_native
from r3d._native import voxelize as bridge
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.structures import Meshes, Volumes
from r3d.value_checks import expect, expect_finite

OP = "voxelize_meshes"
SNAP = 256  # fixed-point steps per voxel of the snapped x and y
MAX_VOXELS_AWAY = 1 << 20  # how far (in voxels) from its grid a vertex may lie


class VoxelGrids(NamedTuple):
    """Occupancy grids of a batch of meshes, placed in the world as PyTorch3D's ``Volumes``
    places its grids: :meth:`to_volumes`, i.e. ``Volumes(densities=g.occupancy[:, None],
    voxel_size=g.voxel_size, volume_translation=g.volume_translation)``, puts the centre of
    voxel (k, j, i) of item n at world point ``(i + 1/2, j + 1/2, k + 1/2) * voxel_size[n] +
    box_min[n]`` (the grid's centre at ``-volume_translation[n]``).

    occupancy: (N, D, H, W) of the vertices' dtype, 1 inside, 0 outside; D along z, H along y,
        W along x.
    voxel_size: (N, 3) the voxels' sides along x, y, z.
    volume_translation: (N, 3) minus the world position of each grid's centre.
    """

    occupancy: torch.Tensor
    voxel_size: torch.Tensor
    volume_translation: torch.Tensor

    def to_volumes(self) -> Volumes:
        """These grids as a :class:`~r3d.structures.Volumes` of densities (N, 1, D, H, W), with
        ``align_corners=True`` (the default, under which the voxels land as described above)."""
        return Volumes(densities=self.occupancy[:, None], voxel_size=self.voxel_size,
                       volume_translation=self.volume_translation)


def _resolution(resolution: object) -> tuple[int, int, int]:
    """(D, H, W) from an int or a (D, H, W) sequence of positive ints."""
    sides = (resolution,) * 3 if isinstance(resolution, int) else resolution
    if (
        not isinstance(sides, Sequence)
        or len(sides) != 3
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sides)
    ):
        raise InputError(
            f"{OP}: resolution must be a positive int or a (D, H, W) triple of them, "
            f"got {resolution!r}"
        )
    return tuple(sides)


def _default_boxes(meshes: Meshes, cells: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each mesh's bounding box padded by one voxel on every side: its (N, 3) minimum corner and
    voxel size, for ``cells`` (3,) = (W, H, D) voxels along x, y, z. An axis along which the mesh
    is flat takes the largest voxel side of its mesh (1 for a mesh without extent)."""
    boxes = meshes.get_bounding_boxes().detach()
    low, high = boxes[..., 0], boxes[..., 1]
    size = (high - low) / (cells - 2)
    widest = size.amax(1, keepdim=True)
    size = torch.where(size > 0, size, torch.where(widest > 0, widest, torch.ones_like(widest)))
    return low - size, size


def _given_boxes(
    bounds: object, num_meshes: int, cells: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (N, 3) minimum corners and voxel sizes of the boxes ``bounds`` ((2, 3) for every
    mesh or (N, 2, 3): minimum then maximum corner, x y z) split into ``cells`` (3,) voxels."""
    try:
        box = bounds if isinstance(bounds, torch.Tensor) else torch.as_tensor(bounds)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InputError(f"{OP}: bounds must be a (2, 3) or (N, 2, 3) tensor, got "
                         f"{describe(bounds)}") from e
    if not box.is_floating_point() or box.shape not in ((2, 3), (num_meshes, 2, 3)):
        raise InputError(f"{OP}: bounds must be a float tensor of shape (2, 3) or "
                         f"({num_meshes}, 2, 3), got {describe(bounds)}")
    box = box.detach().to(cells).expand(num_meshes, 2, 3)
    expect_finite(OP, "bounds", box)
    low, high = box.unbind(1)
    expect(OP, (high > low).all(), "bounds: every maximum corner must exceed its minimum "
                                   "corner along x, y and z")
    return low, (high - low) / cells


def grid_triangles(
    meshes: Meshes, low: torch.Tensor, size: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The faces in their meshes' grid units: (F, 3, 2) int64 snapped x, y (SNAP steps per
    voxel, voxel i's centre at SNAP * i + SNAP / 2), (F, 3) z (voxel k's centre at k + 1/2) and
    the (F,) int64 mesh of each face, for grids with (N, 3) minimum corners ``low`` and voxel
    sides ``size``."""
    verts = meshes.verts_packed().detach()
    expect_finite(OP, "verts", verts)
    item = meshes.verts_packed_to_mesh_idx()
    grid = (verts - low[item]) / size[item]
    expect(OP, (grid.abs() <= MAX_VOXELS_AWAY).all(),
           f"every vertex must lie within {MAX_VOXELS_AWAY} voxels of its grid (bounds too small "
           "or resolution too high for the meshes)")
    corners = grid[meshes.faces_packed()]
    xy = torch.round(corners[..., :2] * SNAP).to(torch.int64)
    return xy, corners[..., 2].contiguous(), meshes.faces_packed_to_mesh_idx()


def _floor_div(a: torch.Tensor, b: int) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


def crossings_torch(
    xy: torch.Tensor, z: torch.Tensor, face_item: torch.Tensor, shape: Sequence[int]
) -> torch.Tensor:
    """Pure-PyTorch occupancy from grid triangles (as :func:`grid_triangles` gives them):
    (N, D, H, W) of z's dtype for ``shape`` = (N, D, H, W)."""
    N, D, H, W = shape
    x, y = xy.unbind(2)  # (F, 3) each
    half = SNAP // 2
    area = _orient(x[:, 0], y[:, 0], x[:, 1], y[:, 1], x[:, 2], y[:, 2])
    first_i = (-_floor_div(half - x.amin(1), SNAP)).clamp(min=0)
    last_i = _floor_div(x.amax(1) - half, SNAP).clamp(max=W - 1)
    first_j = (-_floor_div(half - y.amin(1), SNAP)).clamp(min=0)
    last_j = _floor_div(y.amax(1) - half, SNAP).clamp(max=H - 1)
    across = (last_i - first_i + 1).clamp(min=0)
    count = across * (last_j - first_j + 1).clamp(min=0) * (area != 0)
    # every (face, column) pair of the faces' column boxes
    face = torch.repeat_interleave(torch.arange(len(xy), device=xy.device), count)
    local = torch.arange(len(face), device=xy.device) - (torch.cumsum(count, 0) - count)[face]
    i = first_i[face] + local % across[face]
    j = first_j[face] + local // across[face]
    px, py = (i * SNAP + half)[:, None], (j * SNAP + half)[:, None]
    xb, yb = x[face].roll(-1, 1), y[face].roll(-1, 1)  # edge k runs from corner k + 1 ...
    xc, yc = x[face].roll(-2, 1), y[face].roll(-2, 1)  # ... to corner k + 2
    dx, dy = xc - xb, yc - yb
    e = dx * (py - yb) - dy * (px - xb)  # (C, 3) corner k's barycentric weight times area
    side = torch.where(e != 0, e.sign(), torch.where(dy != 0, -dy.sign(), dx.sign()))
    inside = (side == area[face].sign()[:, None]).all(1)
    face, i, j, e = face[inside], i[inside], j[inside], e[inside].to(z.dtype)
    zf = z[face]
    depth = zf[:, 0] + (e[:, 1] * (zf[:, 1] - zf[:, 0]) + e[:, 2] * (zf[:, 2] - zf[:, 0])) \
        / area[face].to(z.dtype)
    k = torch.ceil((depth - 0.5).clamp(-1, D)).to(torch.int64).clamp(min=0)
    keep = k < D
    voxel = ((face_item[face] * D + k) * H + j) * W + i
    flips = torch.bincount(voxel[keep], minlength=N * D * H * W).view(N, D, H, W)
    return (flips.cumsum(1) & 1).to(z.dtype)


def _orient(ax, ay, bx, by, cx, cy):
    """Twice the signed area of triangles (a, b, c) (exact for int64 inputs)."""
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@native_op(OP, lambda xy, z, face_item, shape: z.new_empty(shape))
def voxelize_op(
    xy: torch.Tensor, z: torch.Tensor, face_item: torch.Tensor, shape: list[int]
) -> torch.Tensor:
    """Native occupancy (N, D, H, W) from grid triangles (as :func:`grid_triangles` gives them)
    for ``shape`` = (N, D, H, W)."""
    return bridge.voxelize(xy, z, face_item, shape)


def _voxelize(meshes: Meshes, resolution: object, bounds: object, native: bool) -> VoxelGrids:
    if not isinstance(meshes, Meshes):
        raise InputError(f"{OP}: meshes must be a Meshes, got {describe(meshes)}")
    D, H, W = _resolution(resolution)
    verts = meshes.verts_packed()
    cells = torch.stack([verts.new_full((), float(s)) for s in (W, H, D)])  # no host copy
    N = len(meshes)
    if bounds is None:
        if min(D, H, W) < 3:
            raise InputError(f"{OP}: resolution must be at least 3 along every axis without "
                             f"bounds (a voxel of padding each side), got {(D, H, W)}")
        low, size = _default_boxes(meshes, cells)
    else:
        low, size = _given_boxes(bounds, N, cells)
    xy, z, face_item = grid_triangles(meshes, low, size)
    shape = [N, D, H, W]
    if native:
        occupancy = in_float32(voxelize_op, xy, z, face_item, shape)
    else:
        occupancy = crossings_torch(xy, z, face_item, shape)
    return VoxelGrids(occupancy, size, -(low + size * cells / 2))


def voxelize_meshes_torch(
    meshes: Meshes, resolution: int | Sequence[int] = 64, bounds: object = None
) -> VoxelGrids:
    """Pure-PyTorch :func:`voxelize_meshes` (any device; vectorised)."""
    return _voxelize(meshes, resolution, bounds, native=False)


def voxelize_meshes(
    meshes: Meshes, resolution: int | Sequence[int] = 64, bounds: object = None
) -> VoxelGrids:
    """Occupancy grids of the solids that a batch of closed meshes bound (module docstring: the
    inside test, its tie rules, open meshes).

    Args:
        meshes: N meshes; empty ones give empty grids.
        resolution: voxels per side: an int, or (D, H, W) along z, y, x.
        bounds: the world box each grid spans: a (2, 3) tensor (or nested sequence) for every
            mesh or (N, 2, 3), the minimum then the maximum corner (x, y, z), split into
            W x H x D voxels. None: each mesh's bounding box padded by one voxel on every side
            (so resolution >= 3), voxel sides (extent / (resolution - 2)) differing per axis;
            a flat axis takes the mesh's largest voxel side.
    Returns:
        :class:`VoxelGrids`: occupancy (N, D, H, W) of the vertices' dtype (1 for voxels whose
        centre is inside), voxel_size (N, 3) and volume_translation (N, 3) as ``Volumes``
        takes them (``.to_volumes()`` builds it). Not differentiable.
    """
    native = isinstance(meshes, Meshes) and use_native(meshes.verts_packed(), OP)
    return _voxelize(meshes, resolution, bounds, native)
