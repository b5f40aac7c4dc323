"""Voxel grids to meshes made of cubes (PyTorch3D's ``cubify``), in pure PyTorch."""

from __future__ import annotations

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.structures import Meshes, Volumes
from r3d.structures.textures import TexturesAtlas
from r3d.structures.volumes import voxel_to_local

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


def _occupancy(
    op: str, voxels: torch.Tensor | Volumes, thresh: float, align: str | None
) -> tuple[torch.Tensor, str]:
    """(N, D, H, W) bool occupancy (value >= thresh) and the alignment: for Volumes, their
    density channel 0 within each item's grid, aligned as their align_corners says."""
    if isinstance(voxels, Volumes):
        if align is not None:
            raise InputError(f"{op}: align is set by the volumes' align_corners, got {align!r}")
        occ = voxels.densities()[:, 0] >= thresh
        sizes = voxels.get_grid_sizes()
        for dim in range(3):  # nothing is occupied past an item's own grid size
            index = torch.arange(occ.shape[1 + dim], device=occ.device)
            shape = [-1, 1, 1, 1]
            shape[1 + dim] = occ.shape[1 + dim]
            occ = occ & (index.view(shape[1:]) < sizes[:, dim].view(-1, 1, 1, 1))
        return occ, "center" if voxels.get_align_corners() else "corner"
    if not isinstance(voxels, torch.Tensor) or voxels.dim() != 4:
        raise InputError(f"{op}: voxels must be a tensor of shape (N, D, H, W) or a Volumes, "
                         f"got {describe(voxels)}")
    align = "topleft" if align is None else align
    if align not in ALIGNS:
        raise InputError(f"{op}: align must be one of {ALIGNS}, got {align!r}")
    return voxels >= thresh, align


def _place(
    voxels: torch.Tensor | Volumes, meshes: Meshes, align: str
) -> Meshes:
    """``meshes`` whose vertices, at corner-lattice indices (w, h, d) (the corner of voxel
    (d, h, w) nearest the origin), are moved to their place: for a tensor, [-1, 1] as ``align``
    says (topleft: lattice point c at voxel coordinate c, else c - 1/2); for Volumes, the
    world (the faces of each voxel half a voxel around its centre)."""
    lattice = meshes.verts_padded()
    voxel = lattice - (0.0 if align == "topleft" else 0.5)
    if isinstance(voxels, Volumes):
        world = voxels.local_to_world_coords(voxels.voxel_to_local_coords(
            voxel.to(voxels.get_local_to_world_coords_transform().dtype)))
        return meshes.update_padded(world)
    D, H, W = voxels.shape[1:]
    sizes = torch.tensor([W, H, D], device=lattice.device)
    return meshes.update_padded(voxel_to_local(voxel, sizes, align != "corner"))


def cubify(
    voxels: torch.Tensor | Volumes,
    thresh: float,
    *,
    feats: torch.Tensor | None = None,
    device: torch.device | str | None = None,
    align: str | None = None,
) -> Meshes:
    """One cube per occupied voxel; cubes share vertices and faces between them are removed.

    Args:
        voxels: (N, D, H, W) float occupancies, or a :class:`Volumes` (its density channel 0,
            each item over its own grid size); voxel (d, h, w) is occupied when its value is at
            least ``thresh`` (PyTorch3D compares with >= too).
        thresh: the occupancy threshold.
        feats: optional (N, K, D, H, W) per-voxel features, only with ``align="center"`` (for
            Volumes: ``align_corners=True``): they become a TexturesAtlas of resolution 1, each
            face taking its voxel's features (PyTorch3D ignores them silently for other
            alignments; r3d raises).
        device: device of the output (default: voxels' device).
        align: for a tensor, "topleft" (default), "corner" or "center": how the cubes sit on
            the voxel grid, whose (w, h, d) axes become (x, y, z) in [-1, 1]. With a grid of n
            voxels along an axis and s = 2 / (n - 1) (2 when n = 1): topleft, voxel i spans
            [x_i, x_i + s] and center, [x_i - s / 2, x_i + s / 2], with x_i = -1 + i s (0 when
            n = 1; PyTorch3D divides by zero there); corner, the cubes span [-1, 1] with sides
            2 / n. For Volumes: None; each voxel's cube spans half a voxel around its centre in
            world coordinates, which is "center" (align_corners=True) or "corner"
            (align_corners=False) mapped through the local-to-world transform.
    Returns:
        Meshes of N meshes: vertices float32 (for Volumes, float64 when their densities are),
        outward-facing triangles (2 per exposed cube side), vertices ordered by grid position
        (d, h, w) and faces by voxel then side.
    """
    op = "cubify"
    occ, align = _occupancy(op, voxels, thresh, align)
    N, D, H, W = occ.shape
    if feats is not None:
        if align != "center":
            raise InputError(f"{op}: feats are supported only with align='center', got {align!r}")
        if not isinstance(feats, torch.Tensor) or feats.dim() != 5 \
                or feats.shape[:1] + feats.shape[2:] != occ.shape:
            raise InputError(f"{op}: feats must have shape (N, K, D, H, W) = (N, K) + "
                             f"{tuple(occ.shape[1:])}, got {describe(feats)}")
    device = occ.device if device is None else torch.device(device)
    occ = occ.to(device)
    if isinstance(voxels, Volumes):
        voxels = voxels.to(device)
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
    lattice = torch.stack([w, h, d], 1).to(torch.float32)
    verts_per_mesh = torch.bincount(mesh_of_vert, minlength=N)
    faces_per_mesh = torch.bincount(voxel_of_face[:, 0], minlength=N)
    first_vert = torch.cumsum(verts_per_mesh, 0) - verts_per_mesh
    local = local - first_vert[voxel_of_face[:, 0]][:, None]
    textures = None
    if feats is not None:
        n, vd, vh, vw = voxel_of_face.unbind(1)
        colours = feats.to(device)[n, :, vd, vh, vw]  # (F, K)
        textures = TexturesAtlas(list(colours[:, None, None, :].split(faces_per_mesh.tolist())))
    meshes = Meshes(
        list(lattice.split(verts_per_mesh.tolist())),
        list(local.split(faces_per_mesh.tolist())),
        textures=textures,
    )
    return _place(voxels, meshes, align)
