"""Files r3d has no parser of its own for, read and written through trimesh.

r3d parses OBJ, PLY, OFF, STL and glTF itself. For the formats below :class:`r3d.io.IO` falls
back to trimesh (a dependency of r3d, imported only when such a file is read or written):

============  ==========================================  ============  ===============
extension     what                                        load          save
============  ==========================================  ============  ===============
``.3mf``      3D Manufacturing Format (needs lxml)        mesh          mesh (geometry)
``.dae``      COLLADA (needs pycollada)                   mesh          mesh (geometry)
``.zae``      zipped COLLADA (needs pycollada)            mesh          --
``.zip``      an archive of OBJ, PLY, STL, OFF, GLB, ...  mesh, points  --
``.xyz``      text points: ``x y z [r g b [a]]``          points        points
============  ==========================================  ============  ===============

trimesh loads with ``process=False``: vertices are kept as trimesh's loader gives them (its OBJ
loader splits them by (v, vt) pair; its COLLADA loader ignores ``process=False`` and merges
vertices at equal positions). A file holding several geometries becomes one mesh: trimesh's
``Scene.dump`` applies each node's transform and ``trimesh.util.concatenate`` joins the
results. Vertex colours become (V, 3) colours, face colours (F, 3), and a UV texture (trimesh's
per-vertex UVs with a material image or glTF base-colour texture) UVs and its image. Anything
trimesh cannot read, and files with nothing of the kind asked for, raise
:class:`FileFormatError` naming the path; a missing optional package raises one naming it and
its ``pip install``.

Savers write geometry only (trimesh's 3MF and COLLADA exporters write no colours or images),
atomically.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import zipfile
from dataclasses import dataclass

import numpy as np
import torch

from r3d.errors import FileFormatError
from r3d.io.atomic import atomic_open
from r3d.io.utils import (
    as_float_array,
    as_index_array,
    check_finite,
    check_index_range,
    io_warn,
    pil_image_tensor,
    require_faces,
)

__all__ = [
    "LOADED_BY",
    "MESH_LOAD_EXTENSIONS",
    "MESH_SAVE_EXTENSIONS",
    "POINTCLOUD_LOAD_EXTENSIONS",
    "POINTCLOUD_SAVE_EXTENSIONS",
    "TrimeshMesh",
    "read_trimesh_mesh",
    "read_trimesh_points",
    "save_trimesh_mesh",
    "save_trimesh_points",
    "trimesh_has_faces",
]

LOADED_BY = "trimesh (process=False): vertex identity as trimesh gives it"

MESH_LOAD_EXTENSIONS = (".3mf", ".dae", ".zae", ".zip")
MESH_SAVE_EXTENSIONS = (".3mf", ".dae")
POINTCLOUD_LOAD_EXTENSIONS = (".xyz", ".zip")
POINTCLOUD_SAVE_EXTENSIONS = (".xyz",)

# extension: (name in messages, ((module, pip package), ...) trimesh needs for it)
_FORMATS = {
    ".3mf": ("3MF", (("lxml", "lxml"), ("networkx", "networkx"))),
    ".dae": ("COLLADA", (("collada", "pycollada"),)),
    ".zae": ("zipped COLLADA", (("collada", "pycollada"),)),
    ".zip": ("a zip archive", ()),
    ".xyz": ("XYZ", ()),
}


@dataclass
class TrimeshMesh:
    """A mesh as trimesh gave it.

    Attributes:
        verts: (V, 3) float64; faces: (F, 3) int64.
        verts_colors: (V, 3) float in [0, 1] or None; face_colors: (F, 3) or None.
        verts_uvs: (V, 2) float64 UVs per vertex (v up, faces index them) or None.
        texture: (H, W, 3) float32 image in [0, 1] for ``verts_uvs``, or None.
    """

    verts: np.ndarray
    faces: np.ndarray
    verts_colors: np.ndarray | None = None
    face_colors: np.ndarray | None = None
    verts_uvs: np.ndarray | None = None
    texture: torch.Tensor | None = None


def _ext(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _missing_packages(ext: str) -> list[str]:
    """The pip packages trimesh needs for ``ext`` that cannot be imported."""
    missing = []
    for module, package in _FORMATS.get(ext, ("", ()))[1]:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def _missing_message(what: str, packages: list[str]) -> str:
    names = " and ".join(packages)
    return (f"{what} needs the Python package{'s' if len(packages) > 1 else ''} {names}, which "
            f"is not installed: pip install {' '.join(packages)}")


def _require_packages(path: str, action: str) -> None:
    """FileFormatError naming the packages trimesh lacks to read or write ``path``'s format."""
    ext = _ext(path)
    missing = _missing_packages(ext)
    if missing:
        raise FileFormatError(path, _missing_message(f"{action} {_FORMATS[ext][0]}", missing))


def _reason(exc: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters)."""
    name = type(exc).__name__
    lines = str(exc).strip().splitlines()
    first = lines[0].removeprefix(f"{name}: ") if lines else ""
    first = first if len(first) <= 200 else first[:197] + "..."
    return f"{name}: {first}" if first else f"{name}, no details given"


class _Records(logging.Handler):
    """Keeps the log records it is given."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _through_trimesh(path: str, action: str, failure: str):
    """Runs trimesh calls on ``path``: what trimesh logs at WARNING or above becomes a
    FileWarning naming the path (no traceback on stderr); an ImportError becomes the
    FileFormatError naming the missing package (for ``action``, "reading" or "writing"), any
    other exception FileFormatError(path, "``failure`` (its type and message)")."""
    logger = logging.getLogger("trimesh")
    handler = _Records()
    logger.addHandler(handler)
    try:
        yield
    except ImportError as exc:
        raise FileFormatError(path, _missing_message(f"{action} {_FORMATS[_ext(path)][0]}",
                                                     [exc.name or str(exc)])) from exc
    except Exception as exc:
        raise FileFormatError(path, f"{failure} ({_reason(exc)})") from exc
    finally:
        logger.removeHandler(handler)
        for record in handler.records:
            io_warn(path, f"trimesh: {record.getMessage()}")


def _geometries(path: str) -> list:
    """Every geometry of the file as trimesh loads it (``process=False``), moved to its place in
    the scene (copies, node transforms applied)."""
    _require_packages(path, "reading")
    import trimesh

    ext = _ext(path)
    with _through_trimesh(path, "reading", f"trimesh cannot read it as {_FORMATS[ext][0]}"):
        # load(force="scene") is trimesh's typed scene load in every trimesh >= 4.0
        scene = trimesh.load(path, file_type=ext[1:], force="scene", process=False)
        return scene.dump()


def _nothing_found(path: str, what: str) -> FileFormatError:
    """The error for a file trimesh read without finding ``what``; for a zip archive it lists
    the members and the packages missing for any of them."""
    if _ext(path) != ".zip":
        return FileFormatError(path, f"trimesh found no {what} in it")
    with zipfile.ZipFile(path) as archive:
        members = [n for n in archive.namelist() if not n.endswith("/")]
    missing = sorted({p for n in members for p in _missing_packages(_ext(n))})
    shown = ", ".join(members[:10]) + (", ..." if len(members) > 10 else "")
    message = (f"trimesh found no {what} among the archive's members ({shown or 'none'}); "
               f"trimesh skips members it cannot read")
    if missing:
        message += "; " + _missing_message("some of them", missing)
    return FileFormatError(path, message)


def _rgb(colors: np.ndarray) -> np.ndarray:
    """(N, 3) float colours in [0, 1] from trimesh's (N, 4) uint8 RGBA."""
    return np.asarray(colors, np.float64)[:, :3] / 255.0


def _uv_texture(visual, num_verts: int):
    """(V, 2) UVs and the (H, W, 3) image of a trimesh TextureVisuals, or (None, None)."""
    uv = getattr(visual, "uv", None)
    material = getattr(visual, "material", None)
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    if uv is None or image is None or len(uv) != num_verts:
        return None, None
    return np.asarray(uv, np.float64), pil_image_tensor(image)


def read_trimesh_mesh(path: str) -> TrimeshMesh:
    """The meshes of a file trimesh reads, joined into one (see the module docstring).

    Raises FileFormatError naming the path when trimesh cannot read it, when it holds no mesh
    with faces, or when positions are not finite or faces index past the vertices.
    """
    import trimesh

    geometries = _geometries(path)
    meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    if not meshes:
        points = sum(len(g.vertices) for g in geometries
                     if isinstance(g, (trimesh.Trimesh, trimesh.PointCloud)))
        if points:
            require_faces(path, points, 0)
        raise _nothing_found(path, "mesh")
    mesh = trimesh.util.concatenate(meshes)
    verts = np.asarray(mesh.vertices, np.float64)
    faces = np.asarray(mesh.faces, np.int64)
    check_finite(path, verts, "vertex")
    check_index_range(path, faces, verts.shape[0], "vertex")
    out = TrimeshMesh(verts, faces)
    kind = getattr(mesh.visual, "kind", None)
    if kind == "vertex":
        out.verts_colors = _rgb(mesh.visual.vertex_colors)
    elif kind == "face":
        out.face_colors = _rgb(mesh.visual.face_colors)
    elif kind == "texture":
        out.verts_uvs, out.texture = _uv_texture(mesh.visual, verts.shape[0])
    return out


def trimesh_has_faces(path: str) -> bool:
    """Whether trimesh finds a mesh with faces in the file (FileFormatError when it cannot
    read it)."""
    import trimesh

    return any(isinstance(g, trimesh.Trimesh) and len(g.faces) for g in _geometries(path))


def read_trimesh_points(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The points of a file trimesh reads: its point clouds, or when it has none the vertices
    of its meshes (faces ignored).

    Returns:
        points: (P, 3) float64; colors: (P, 3) float in [0, 1], or None unless every part has
        per-point colours.
    """
    import trimesh

    geometries = _geometries(path)
    parts = [g for g in geometries if isinstance(g, trimesh.PointCloud)]
    if not parts:
        parts = [g for g in geometries if isinstance(g, trimesh.Trimesh)]
    if not parts or not sum(len(g.vertices) for g in parts):
        raise _nothing_found(path, "points")
    points = np.concatenate([np.asarray(g.vertices, np.float64) for g in parts])
    check_finite(path, points, "point")
    colors = [_point_colours(g) for g in parts]
    if any(c is None for c in colors):
        return points, None
    return points, np.concatenate(colors)


def _point_colours(geometry) -> np.ndarray | None:
    """(N, 3) colours of a trimesh PointCloud or Trimesh's N vertices, or None."""
    import trimesh

    if isinstance(geometry, trimesh.PointCloud):  # its visual claims colours even with none
        colors = geometry.colors
        return _rgb(colors) if len(colors) == len(geometry.vertices) else None
    if getattr(geometry.visual, "kind", None) == "vertex":
        return _rgb(geometry.visual.vertex_colors)
    return None


def _write(path: str, export) -> None:
    """Writes what ``export()`` (a trimesh exporter call) returns to ``path``, atomically."""
    with _through_trimesh(path, "writing", "trimesh cannot write it"):
        data = export()
    with atomic_open(path, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)


def save_trimesh_mesh(path: str, verts, faces) -> None:
    """Writes a mesh with trimesh's exporter for ``path``'s extension (3MF, COLLADA),
    atomically.

    Args:
        verts: (V, 3) float positions; faces: (F, 3) int indices into them.
    """
    v = as_float_array("save_mesh", "verts", verts, 3)
    f = as_index_array("save_mesh", "faces", faces, v.shape[0])
    _require_packages(path, "writing")
    import trimesh

    mesh = trimesh.Trimesh(vertices=v, faces=f, process=False)
    _write(path, lambda: mesh.export(file_type=_ext(path)[1:]))


def save_trimesh_points(path: str, points, colors=None) -> None:
    """Writes a point cloud with trimesh's exporter (XYZ: one ``x y z [r g b a]`` line per
    point, 8 decimals, colours as 0-255 integers), atomically.

    Args:
        points: (P, 3) float positions; colors: (P, 3) float in [0, 1] or None.
    """
    p = as_float_array("save_pointcloud", "points", points, 3)
    rgba = None
    if colors is not None:
        c = as_float_array("save_pointcloud", "colors", colors, 3)
        rgba = np.concatenate([np.clip(np.rint(c * 255), 0, 255),
                               np.full((c.shape[0], 1), 255.0)], axis=1).astype(np.uint8)
    import trimesh

    cloud = trimesh.PointCloud(p, colors=rgba)
    _write(path, lambda: cloud.export(file_type=_ext(path)[1:]))
