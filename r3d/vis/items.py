"""What the viewer shows: meshes, point clouds and volumes as embedded GLB with their facts.

Each :class:`ViewItem` is one drawable thing: the GLB bytes the page embeds (r3d's own writer,
:func:`r3d.io.glb_bytes` / :func:`r3d.io.points_glb_bytes`), the lines the info panel prints
(counts, textures, size; always the input's own counts) and a note when the display is reduced
(:mod:`r3d.vis.decimate`) or leaves something out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch

from r3d.errors import InputError
from r3d.io import IO, glb_bytes, points_glb_bytes
from r3d.ops import volumes_to_meshes
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.structures.textures import TexturesAtlas, TexturesUV, TexturesVertex
from r3d.vis.decimate import cluster_mesh, subsample

__all__ = ["MAX_FACES", "MAX_POINTS", "ViewItem", "file_items", "items_of"]

# the most faces / points drawn per item before the display is reduced
MAX_FACES = 400_000
MAX_POINTS = 600_000


@dataclass
class ViewItem:
    """One drawable item of a viewer.

    Attributes:
        name: shown in the info panel and on its visibility toggle.
        kind: "mesh" or "points".
        glb: the GLB file's bytes (None for an empty item: nothing to draw).
        lines: info lines (counts, textures, size).
        note: shown highlighted, e.g. that the display is decimated; or None.
        own_colors: whether the GLB holds colours (texture, vertex colours); items without
            get one of the page's palette.
        color: CSS colour replacing the material's, or None (the palette's, for items without
            own colours).
        plain: drawn in ``color`` alone, its texture and vertex colours left out.
        opacity: 1 opaque; below 1 drawn see-through (e.g. a ground truth under a result).
        wireframe: drawn as edges.
        point_size: pixels per point.
    """

    name: str
    kind: str
    glb: bytes | None
    lines: list[str] = field(default_factory=list)
    note: str | None = None
    own_colors: bool = False
    color: str | None = None
    plain: bool = False
    opacity: float = 1.0
    wireframe: bool = False
    point_size: float = 2.0


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" if n != 1 else f"1 {what.rstrip('s')}"


def _size_line(points: np.ndarray) -> str:
    if points.shape[0] == 0:
        return "empty"
    lo, hi = points.min(axis=0), points.max(axis=0)
    extent = " × ".join(f"{s:.4g}" for s in hi - lo)
    centre = ", ".join(f"{c:.3g}" for c in (lo + hi) / 2)
    return f"size {extent} (x, y, z) at ({centre})"


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted vertex normals of the mesh ``verts`` (V, 3), ``faces`` (F, 3)."""
    mesh = Meshes([torch.from_numpy(verts)], [torch.from_numpy(faces)])
    return _numpy(mesh.verts_normals_list()[0])


def _mesh_item(name: str, verts: np.ndarray, faces: np.ndarray, textures, index: int,
               max_faces: int) -> ViewItem:
    """The item of one mesh (verts (V, 3), faces (F, 3)) and item ``index`` of its batch's
    ``textures`` (TexturesUV, TexturesVertex, TexturesAtlas or None)."""
    total = faces.shape[0]
    lines = [f"{_count(total, 'faces')} · {_count(verts.shape[0], 'vertices')}"]
    if total == 0:
        return ViewItem(name, "mesh", None, [*lines, "empty"])
    uv = colors = None
    texture_line = "no textures"
    if isinstance(textures, TexturesUV) and not textures.has_maps_ids:
        image = textures.maps_list()[index]
        uv = dict(verts_uvs=_numpy(textures.verts_uvs_list()[index]),
                  faces_uvs=textures.faces_uvs_list()[index].cpu().numpy(),
                  texture_map=_numpy(image).clip(0, 1), texture_wrap=textures.padding_mode)
        texture_line = f"UV texture {image.shape[1]} × {image.shape[0]}"
    elif (isinstance(textures, TexturesVertex)
          and textures.verts_features_list()[index].shape[1] in (3, 4)):
        colors = _numpy(textures.verts_features_list()[index])[:, :3].clip(0, 1)
        texture_line = "vertex colours"
    elif isinstance(textures, TexturesAtlas) and textures.atlas_list()[index].shape[-1] >= 3:
        face_colors = _numpy(textures.atlas_list()[index][..., :3].mean(dim=(1, 2)))
        verts, faces = verts[faces].reshape(-1, 3), np.arange(faces.size).reshape(-1, 3)
        colors = np.repeat(face_colors.clip(0, 1), 3, axis=0)
        texture_line = "texture atlas (shown as one colour per face)"
    elif textures is not None:
        texture_line = f"{type(textures).__name__} (not shown)"
    lines += [texture_line, _size_line(verts)]
    note = None
    if faces.shape[0] > max_faces:
        verts, faces, colors = cluster_mesh(verts, faces, colors, max_faces)
        note = (f"Shown decimated for display (vertex clustering): {faces.shape[0]:,} of "
                f"{total:,} faces")
        if uv is not None:
            note += "; the UV texture is not drawn on the decimated mesh"
            uv = None
    glb = glb_bytes(verts, faces, verts_colors=colors, verts_normals=_normals(verts, faces),
                    **(uv or {}))
    return ViewItem(name, "mesh", glb, lines, note,
                    own_colors=uv is not None or colors is not None)


def _points_item(name: str, points: np.ndarray, features: np.ndarray | None,
                 max_points: int) -> ViewItem:
    """The item of one cloud: points (P, 3), features (P, C) (shown as colours when C is 3 or
    4) or None."""
    lines = [_count(points.shape[0], "points")]
    if points.shape[0] == 0:
        return ViewItem(name, "points", None, [*lines, "empty"])
    colors = features[:, :3].clip(0, 1) if features is not None and features.shape[1] in (
        3, 4) else None
    lines += ["colours" if colors is not None else "no colours", _size_line(points)]
    note = None
    if points.shape[0] > max_points:
        keep = subsample(points.shape[0], max_points)
        points, colors = points[keep], None if colors is None else colors[keep]
        note = f"Shown subsampled for display: {max_points:,} of {lines[0]}"
    return ViewItem(name, "points", points_glb_bytes(points, colors), lines, note,
                    own_colors=colors is not None,
                    point_size=2.0 if points.shape[0] > 20_000 else 4.0)


def _names(names, n: int, default: str) -> list[str]:
    if names is None:
        return [default] if n == 1 else [f"{default} {i}" for i in range(n)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != n:
        raise InputError(f"names: expected {n} names (one per item), got {len(names)}")
    return [str(name) for name in names]


def items_of(data, names=None, *, max_faces: int = MAX_FACES, max_points: int = MAX_POINTS,
             isolevel: float | None = None) -> list[ViewItem]:
    """The items of a Meshes, Pointclouds or Volumes batch, one per member.

    Args:
        data: Meshes (textures shown: UV maps, vertex colours, atlases as face colours),
            Pointclouds (3- or 4-channel features shown as colours) or Volumes (each item's
            isosurface at ``isolevel``; None: the mean of its smallest and largest density).
        names: one name per member (a string for a batch of one); default "mesh 0", ....
        max_faces, max_points: larger members are shown decimated / subsampled, with a note.
    """
    if isinstance(data, Volumes):
        meshes = volumes_to_meshes(data, isolevel=isolevel)
        level = "the mid density" if isolevel is None else f"density {isolevel:g}"
        items = items_of(meshes, _names(names, len(meshes), "volume"), max_faces=max_faces)
        for item in items:
            item.lines.insert(0, f"isosurface at {level}")
        return items
    if isinstance(data, Meshes):
        labels = _names(names, len(data), "mesh")
        return [_mesh_item(labels[i], _numpy(v), f.cpu().numpy(), data.textures, i, max_faces)
                for i, (v, f) in enumerate(zip(data.verts_list(), data.faces_list()))]
    if isinstance(data, Pointclouds):
        labels = _names(names, len(data), "points")
        features = data.features_list()
        return [_points_item(labels[i], _numpy(p),
                             None if features is None else _numpy(features[i]), max_points)
                for i, p in enumerate(data.points_list())]
    raise InputError(f"the viewer shows Meshes, Pointclouds or Volumes, got "
                     f"{type(data).__name__}")


def file_items(path, io: IO | None = None, *, max_faces: int = MAX_FACES,
               max_points: int = MAX_POINTS, isolevel: float | None = None) -> list[ViewItem]:
    """The item of a mesh, point-cloud or voxel-grid file, named by its file name: a mesh when
    the file has faces, else its points; a voxel grid's isosurface (see :func:`items_of`).
    Errors as :class:`r3d.io.IO`'s loaders (FileFormatError naming the path)."""
    io = io or IO()
    path = os.fspath(path)
    name = os.path.basename(path)
    ext = os.path.splitext(path)[1].lower()
    if ext in io.voxel_extensions and ext not in io.mesh_extensions:
        volumes = io.load_voxels(path).to_volumes()
        return items_of(volumes, name, max_faces=max_faces, isolevel=isolevel)
    if ext in io.pointcloud_extensions and (ext not in io.mesh_extensions
                                             or not io.file_has_faces(path)):
        return items_of(io.load_pointcloud(path), name, max_points=max_points)
    return items_of(io.load_mesh(path), name, max_faces=max_faces)
