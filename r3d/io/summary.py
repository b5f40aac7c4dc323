"""Summaries of mesh and point-cloud files (what ``r3d info`` shows)."""

from __future__ import annotations

import os

import torch

from r3d.io.pluggable import IO


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


def summarize_file(path: str | os.PathLike) -> dict:
    """Loads a mesh or point-cloud file and describes it.

    Returns:
        A JSON-ready dict: path, kind ("mesh" or "pointcloud"), vertices, faces, bounds (min/max
        per axis), textures (the texture class and size, or "none"), watertight (meshes).
    Raises:
        FileNotFoundError / IsADirectoryError: ``path`` is not a file.
        FileFormatError: the file is unreadable or malformed.
    """
    path = os.fspath(path)
    io = IO()
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
