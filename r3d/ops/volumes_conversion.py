"""Volumes to meshes: the isosurface of each item's density, in world coordinates."""

from __future__ import annotations

from r3d._checks import describe
from r3d.errors import InputError
from r3d.ops.marching_cubes import marching_cubes
from r3d.structures import Meshes, Volumes

INSIDES = ("above", "below")


def volumes_to_meshes(
    volumes: Volumes, isolevel: float | None = 0.5, inside: str = "above"
) -> Meshes:
    """The isosurface of density channel 0 of each item, by :func:`marching_cubes` over the
    item's own grid size, with vertices in world coordinates.

    Args:
        volumes: a :class:`Volumes` of N items.
        isolevel: the surface's density; None: per item, the mean of its minimum and maximum.
        inside: "above" (densities, occupancies: values above the isolevel are inside) or
            "below" (signed distances, negative inside): the faces are wound so that their
            normals point outwards either way.
    Returns:
        Meshes of N meshes, vertices in the densities' dtype (float32 for dtypes other than
        float32 and float64), each in its item's world coordinates; an item with no surface
        (all values on one side, or a grid of one voxel along an axis) is an empty mesh.
        Not differentiable with respect to the densities (the vertices are with respect to
        tensors given as voxel_size and volume_translation).
    """
    op = "volumes_to_meshes"
    if not isinstance(volumes, Volumes):
        raise InputError(f"{op}: volumes must be a Volumes, got {describe(volumes)}")
    if inside not in INSIDES:
        raise InputError(f"{op}: inside must be one of {INSIDES}, got {inside!r}")
    dtype = volumes.get_local_to_world_coords_transform().dtype
    verts, faces = [], []
    for density in volumes.densities_list():
        v, f = marching_cubes(density[:1].to(dtype), isolevel, return_local_coords=False)
        verts.append(v[0])
        faces.append(f[0] if inside == "below" else f[0][:, [0, 2, 1]])
    if not verts:
        return Meshes([], [])
    meshes = Meshes(verts, faces)
    voxel = meshes.verts_padded()
    return meshes.update_padded(volumes.local_to_world_coords(volumes.voxel_to_local_coords(voxel)))
