"""Summaries of mesh, point-cloud and voxel-grid files (what ``r3d info`` shows)."""

from __future__ import annotations

import os

import torch

from r3d.io.pluggable import IO
from r3d.io.voxels import VoxelGrid


def edge_face_counts(faces: torch.Tensor) -> torch.Tensor:
    """How many faces share each undirected edge.

    Args:
        faces: (F, 3) int64 vertex indices.
    Returns:
        (E,) int64 counts, one per distinct undirected edge.
    """
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = edges.sort(dim=1).values
    return torch.unique(edges, dim=0, return_counts=True)[1]


def is_watertight(faces: torch.Tensor) -> bool:
    """True when the surface has faces and every edge is shared by exactly two of them.

    Args:
        faces: (F, 3) int64 vertex indices.
    """
    return faces.shape[0] > 0 and bool((edge_face_counts(faces) == 2).all())


def _bounds(points: torch.Tensor) -> dict:
    if points.shape[0] == 0:
        return {"min": [0.0] * 3, "max": [0.0] * 3}
    return {"min": points.min(0).values.tolist(), "max": points.max(0).values.tolist()}


def summarize_voxels(path: str, grid: VoxelGrid) -> dict:
    """A JSON-ready description of a voxel grid: path, kind "voxels", dims (voxels along x, y,
    z), occupied (voxels with density > 0) and occupied_fraction, bounds (the grid's world box),
    values (min and max density), features (channels per voxel)."""
    dens = grid.densities
    occupied = int((dens > 0).sum())
    return {
        "path": path,
        "kind": "voxels",
        "dims": list(grid.dims),
        "occupied": occupied,
        "occupied_fraction": occupied / dens.numel(),
        "bounds": {"min": grid.translate.tolist(), "max": (grid.translate + grid.scale).tolist()},
        "values": [float(dens.min()), float(dens.max())],
        "features": 0 if grid.features is None else int(grid.features.shape[0]),
    }


def summarize_file(path: str | os.PathLike) -> dict:
    """Loads a mesh, point-cloud or voxel-grid file (by extension) and describes it.

    Returns:
        A JSON-ready dict: path, kind ("mesh", "pointcloud" or "voxels"); for meshes and clouds
        vertices, faces, bounds (min/max per axis), textures (the texture class and size, or
        "none"), watertight (meshes); for voxel grids see :func:`summarize_voxels`; and
        loaded_by: "r3d", or a note naming trimesh for the formats r3d reads through it.
    Raises:
        FileNotFoundError / IsADirectoryError: ``path`` is not a file.
        FileFormatError: the file is unreadable or malformed.
    """
    path = os.fspath(path)
    io = IO()
    summary = _summarize(io, path)
    summary["loaded_by"] = io.loaded_by(path, summary["kind"])
    return summary


def _summarize(io: IO, path: str) -> dict:
    if os.path.splitext(path)[1].lower() in io.voxel_extensions:
        return summarize_voxels(path, io.load_voxels(path))
    if io.file_has_faces(path):
        mesh = io.load_mesh(path)
        verts, faces = mesh.verts_packed(), mesh.faces_packed()
        return {
            "path": path,
            "kind": "mesh",
            "vertices": int(verts.shape[0]),
            "faces": int(faces.shape[0]),
            "bounds": _bounds(verts),
            "textures": _describe_textures(mesh.textures),
            "watertight": is_watertight(faces),
        }
    cloud = io.load_pointcloud(path)
    points = cloud.points_packed()
    return {
        "path": path,
        "kind": "pointcloud",
        "vertices": int(points.shape[0]),
        "faces": 0,
        "bounds": _bounds(points),
        "normals": cloud.normals_packed() is not None,
        "features": 0 if cloud.features_packed() is None else int(cloud.features_packed().shape[1]),
    }


def _describe_textures(textures) -> str:
    if textures is None:
        return "none"
    name = type(textures).__name__
    if hasattr(textures, "maps_list"):
        maps = textures.maps_list()[0]  # (H, W, C), or (M, H, W, C) with several maps per mesh
        h, w, c = maps.shape[-3:]
        count = f"{maps.shape[0]} maps" if maps.dim() == 4 else "map"
        return f"{name} ({w}x{h}x{c} {count})"
    return name
