"""Voxel grids to meshes made of cubes (PyTorch3D's ``cubify``), in pure PyTorch."""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.structures import Meshes
from r3d.structures.textures import TexturesAtlas

ALIGNS = ("topleft", "corner", "center")

# The 6 sides of a unit cube as (axis, side, corners): corners are (dx, dy, dz) offsets listed
# counter-clockwise seen from outside, so both triangles of a side have outward normals.
_SIDES = [
    (axis, side, [
        tuple(side if k == axis else bits[(k - axis - 1) % 3] for k in range(3))
        for bits in ([0, 0], [1, 0], [1, 1], [0, 1])[:: 1 if side else -1]
    ])
    for axis in range(3)
    for side in (0, 1)
]


def _grid_coords(n: int, align: str, dtype: torch.dtype, device) -> torch.Tensor:
    """(n + 1,) coordinates of the cube corners along an axis of n voxels.

    topleft: voxel i spans [x_i, x_i + s] and center: [x_i - s / 2, x_i + s / 2], with
    x_i = -1 + i s the voxel's position on a grid spanning [-1, 1] and s = 2 / (n - 1) (2 for
    n = 1, where PyTorch3D divides by zero); corner: the cubes span [-1, 1], s = 2 / n.
    """
    i = torch.arange(n + 1, dtype=dtype, device=device)
    if align == "corner":
        return i * (2 / n) - 1
    step = 2 / max(n - 1, 1)
    return (i - (0.5 if align == "center" else 0.0)) * step - 1


def cubify(
    voxels: torch.Tensor,
    thresh: float,
    *,
    feats: torch.Tensor | None = None,
    device: torch.device | str | None = None,
    align: str = "topleft",
) -> Meshes:
    """One cube per occupied voxel; cubes share vertices and faces between them are removed.

    Args:
        voxels: (N, D, H, W) float occupancies; voxel (d, h, w) is occupied when its value is at
            least ``thresh`` (PyTorch3D compares with >= too).
        thresh: the occupancy threshold.
        feats: optional (N, K, D, H, W) per-voxel features, only with ``align="center"``: they
            become a TexturesAtlas of resolution 1, each face taking its voxel's features
            (PyTorch3D ignores them silently for other alignments; r3d raises).
        device: device of the output (default: voxels' device).
        align: "topleft", "corner" or "center", how the cubes sit on the voxel grid, whose
            (w, h, d) axes become (x, y, z) in [-1, 1] (see :func:`_grid_coords`).
    Returns:
        Meshes of N meshes: float32 vertices, outward-facing triangles (2 per exposed cube
        side), vertices ordered by grid position (d, h, w) and faces by voxel then side.
    """
    op = "cubify"
    if not isinstance(voxels, torch.Tensor) or voxels.dim() != 4:
        raise InputError(f"{op}: voxels must be a tensor of shape (N, D, H, W), got "
                         f"{describe(voxels)}")
    if align not in ALIGNS:
        raise InputError(f"{op}: align must be one of {ALIGNS}, got {align!r}")
    N, D, H, W = voxels.shape
    if feats is not None:
        if align != "center":
            raise InputError(f"{op}: feats are supported only with align='center', got {align!r}")
        if not isinstance(feats, torch.Tensor) or feats.dim() != 5 \
                or feats.shape[:1] + feats.shape[2:] != voxels.shape:
            raise InputError(f"{op}: feats must have shape (N, K, D, H, W) = (N, K) + "
                             f"{tuple(voxels.shape[1:])}, got {describe(feats)}")
    device = voxels.device if device is None else torch.device(device)
    occ = (voxels >= thresh).to(device)
    padded = torch.nn.functional.pad(occ, (1, 1, 1, 1, 1, 1))  # empty border: sides exposed
    shape = torch.tensor([D + 1, H + 1, W + 1], device=device)
    faces, voxel_of_face = [], []
    for axis, side, corners in _SIDES:
        # the neighbour across this side, along dim 3 - axis of (N, D, H, W)
        shift = [0, 0, 0]
        shift[2 - axis] = 1 if side else -1
        neighbour = padded[:, 1 + shift[0]:D + 1 + shift[0], 1 + shift[1]:H + 1 + shift[1],
                           1 + shift[2]:W + 1 + shift[2]]
        vox = (occ & ~neighbour).nonzero()  # (S, 4) n, d, h, w
        offs = torch.tensor([[c[2], c[1], c[0]] for c in corners], device=device)  # (4, dhw)
        dhw = vox[:, None, 1:] + offs[None]  # (S, 4, 3)
        ids = vox[:, :1] * shape.prod() + (dhw[..., 0] * shape[1] + dhw[..., 1]) * shape[2] \
            + dhw[..., 2]
        faces.append(torch.cat([ids[:, [0, 1, 2]], ids[:, [0, 2, 3]]], 1).reshape(-1, 3))
        voxel_of_face.append(vox.repeat_interleave(2, dim=0))
    faces = torch.cat(faces)
    voxel_of_face = torch.cat(voxel_of_face)
    # voxel order, then side order (a stable sort keeps each voxel's sides in _SIDES order)
    key = ((voxel_of_face[:, 0] * D + voxel_of_face[:, 1]) * H + voxel_of_face[:, 2]) * W \
        + voxel_of_face[:, 3]
    order = torch.sort(key, stable=True).indices
    faces, voxel_of_face = faces[order], voxel_of_face[order]
    used, local = torch.unique(faces, sorted=True, return_inverse=True)
    mesh_of_vert = used // shape.prod()
    d, h, w = (used % shape.prod()) // (shape[1] * shape[2]), \
        (used // shape[2]) % shape[1], used % shape[2]
    axes = [_grid_coords(n, align, torch.float32, device) for n in (W, H, D)]
    verts = torch.stack([axes[0][w], axes[1][h], axes[2][d]], 1)
    verts_per_mesh = torch.bincount(mesh_of_vert, minlength=N)
    faces_per_mesh = torch.bincount(voxel_of_face[:, 0], minlength=N)
    first_vert = torch.cumsum(verts_per_mesh, 0) - verts_per_mesh
    local = local - first_vert[voxel_of_face[:, 0]][:, None]
    textures = None
    if feats is not None:
        n, vd, vh, vw = voxel_of_face.unbind(1)
        colours = feats.to(device)[n, :, vd, vh, vw]  # (F, K)
        textures = TexturesAtlas(list(colours[:, None, None, :].split(faces_per_mesh.tolist())))
    return Meshes(
        list(verts.split(verts_per_mesh.tolist())),
        list(local.split(faces_per_mesh.tolist())),
        textures=textures,
    )
