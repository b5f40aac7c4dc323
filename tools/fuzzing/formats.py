"""The fuzzed formats: for each, the file an input is written to, the companion files beside it,
the loader that reads it (the fuzz target) and what its bytes look like (:class:`Kind`).

A target takes the path of the input file, in a folder prepared once by the format's ``setup``
(an OBJ's material and texture, the images of a folder of views, the mesh a scene names), and
returns what r3d loads from it; every r3d error it raises is an accepted outcome.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from fuzzing.mutate import Kind
from r3d.fit.recipe import load_recipe
from r3d.io import IO, save_obj
from r3d.learn.recipe import load_train_recipe
from r3d.renderer import FoVPerspectiveCameras, look_at_view_transform
from r3d.scene import load_scene
from r3d.views import load_views, save_views
from r3d.views.cameras_json import CAMERAS_FILE

__all__ = ["FORMATS", "Format", "format_of"]

_POINT_EXTENSIONS = (".ply", ".obj", ".off")  # formats IO reads as meshes or point clouds


def load_geometry(path: Path):
    """A mesh (``IO().load_mesh``) or, for a file with vertices but no faces in a format that
    holds point clouds, a point cloud (``IO().load_pointcloud``), as ``r3d info`` reads it."""
    io = IO()
    if path.suffix.lower() in _POINT_EXTENSIONS and not io.file_has_faces(path):
        return io.load_pointcloud(path)
    return io.load_mesh(path)


def load_material(path: Path):
    """The mesh of the model.obj beside ``path`` (a material library it names)."""
    return load_geometry(path.with_name("model.obj"))


def load_voxels(path: Path):
    """A voxel grid (``IO().load_voxels``)."""
    return IO().load_voxels(path)


def load_view_folder(path: Path):
    """The views of the folder that holds ``path`` (cameras.json or transforms.json)."""
    return load_views(path.parent)


# -- section boundaries --------------------------------------------------------------------------

_PLY_SIZES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2,
              "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4,
              "float32": 4, "double": 8, "float64": 8}


def _ply_elements(header: str) -> list[tuple[int, int | None]]:
    """(row count, row size in bytes or None for rows with a list) of each PLY element."""
    elements: list[list] = []
    for line in header.splitlines():
        parts = line.split()
        if parts[:1] == ["element"] and len(parts) == 3 and parts[2].isdigit():
            elements.append([int(parts[2]), 0])
        elif (parts[:1] == ["property"] and len(parts) >= 3 and elements
              and elements[-1][1] is not None):
            is_list = parts[1:2] == ["list"]
            elements[-1][1] = None if is_list else elements[-1][1] + _PLY_SIZES.get(parts[1], 4)
    return [(count, row) for count, row in elements]


def ply_boundaries(data: bytes) -> list[int]:
    """The end of a PLY header and, for a binary body, the boundaries of its elements (up to
    the first with a list property) and of their first rows."""
    end = data.find(b"end_header")
    if end < 0:
        return []
    pos = data.find(b"\n", end) + 1 or len(data)
    out = [pos]
    if b"format ascii" in data[:end]:
        return out
    for count, row in _ply_elements(data[:end].decode("latin-1")):
        if row is None:
            break
        out.extend(pos + row * k for k in range(1, min(count, 16)))
        pos += row * count
        out.append(pos)
    return out


def stl_boundaries(data: bytes) -> list[int]:
    """The 80-byte header, the triangle count and the first 64 triangles of a binary STL."""
    return [80, 84] + [84 + 50 * k for k in range(1, 65)]


def glb_boundaries(data: bytes) -> list[int]:
    """The 12-byte GLB header and each chunk's header and end."""
    out, pos = [12], 12
    while pos + 8 <= len(data):
        size = struct.unpack_from("<I", data, pos)[0]
        out += [pos + 4, pos + 8, pos + 8 + size]
        pos += 8 + size
    return out


def binvox_boundaries(data: bytes) -> list[int]:
    """The end of the binvox header (after its ``data`` line) and the first runs."""
    end = data.find(b"\ndata\n")
    return [] if end < 0 else [end + 6 + k for k in range(0, 64, 2)]


def zip_boundaries(data: bytes) -> list[int]:
    """Where each member of a zip archive (.npz) starts and where its central directory
    starts."""
    found = [m.start() for m in re.finditer(rb"PK\x03\x04|PK\x01\x02|PK\x05\x06", data)]
    return found + [f + 30 for f in found]


# -- companion files -----------------------------------------------------------------------------


def _cube() -> tuple[torch.Tensor, torch.Tensor]:
    """(8, 3) corners and (12, 3) triangles of a unit cube."""
    verts = torch.tensor([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)])
    faces = torch.tensor([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                          [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return verts, faces


def textured_obj(folder: Path) -> None:
    """model.obj, model.mtl and its texture image: a UV-mapped cube."""
    verts, faces = _cube()
    save_obj(folder / "model.obj", verts, faces, verts_uvs=verts[:, :2], faces_uvs=faces,
             texture_map=torch.rand(8, 8, 3, generator=torch.Generator().manual_seed(0)))


def view_images(folder: Path) -> None:
    """Two 8x8 RGBA views (view_000.png, view_001.png) and their cameras.json."""
    R, T = look_at_view_transform(2.5, 10.0, torch.tensor([0.0, 90.0]))
    images = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(0))
    masks = torch.ones(2, 8, 8)
    save_views(folder, images, masks, FoVPerspectiveCameras(R=R, T=T))


def transforms_folder(folder: Path) -> None:
    """The views of :func:`view_images` without their cameras.json (so transforms.json is
    read)."""
    view_images(folder)
    (folder / CAMERAS_FILE).unlink()


def scene_mesh(folder: Path) -> None:
    """mesh.obj, the mesh the scene seeds name (with its material)."""
    textured_obj(folder)
    (folder / "model.obj").rename(folder / "mesh.obj")


# -- the formats ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """A fuzzed format.

    Args:
        name: its name (``--format``, folder of its regression files in tests/data/fuzz).
        file: the name each input is written to.
        load: the target: ``path -> loaded object``.
        kind: what its bytes look like, for the mutations.
        seed_files: glob patterns of the seed files in the seed folders.
        accepts: whether a seed file's bytes belong to this format (e.g. PLY byte order).
        setup: writes the companion files into a fresh folder, or None.
        rewrite: applied to the seed files' bytes (e.g. to name the companion files).
    """

    name: str
    file: str
    load: Callable[[Path], object]
    kind: Kind
    seed_files: tuple[str, ...]
    accepts: Callable[[bytes], bool] = lambda data: True
    setup: Callable[[Path], None] | None = None
    rewrite: Callable[[bytes], bytes] = lambda data: data


def _ply(encoding: bytes) -> Callable[[bytes], bool]:
    return lambda data: b"format " + encoding in data[:4096]


def _binary_stl(data: bytes) -> bool:
    return len(data) >= 84 and len(data) == 84 + 50 * struct.unpack_from("<I", data, 80)[0]


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _scene_files(data: bytes) -> bytes:
    """A scene whose geometry files are the companion mesh.obj."""
    return re.sub(rb"\b(file|mesh): *[^\s#]+", rb"\1: mesh.obj", data)


_TEXT = Kind(text=True)
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("obj", "model.obj", load_geometry, _TEXT, ("*.obj",), setup=textured_obj),
    Format("mtl", "model.mtl", load_material, _TEXT, ("*.mtl",), setup=textured_obj),
    Format("ply_ascii", "model.ply", load_geometry, Kind(True, ply_boundaries), ("*.ply",),
           _ply(b"ascii")),
    Format("ply_le", "model.ply", load_geometry, Kind(False, ply_boundaries), ("*.ply",),
           _ply(b"binary_little_endian")),
    Format("ply_be", "model.ply", load_geometry, Kind(False, ply_boundaries), ("*.ply",),
           _ply(b"binary_big_endian")),
    Format("off", "model.off", load_geometry, _TEXT, ("*.off",)),
    Format("stl_ascii", "model.stl", load_geometry, _TEXT, ("*.stl", "*.STL"),
           lambda data: not _binary_stl(data)),
    Format("stl_binary", "model.stl", load_geometry, Kind(False, stl_boundaries),
           ("*.stl", "*.STL"), _binary_stl),
    Format("gltf", "model.gltf", load_geometry, Kind(True, document="json"), ("*.gltf",)),
    Format("glb", "model.glb", load_geometry, Kind(False, glb_boundaries, "glb"), ("*.glb",)),
    Format("transforms_json", "transforms.json", load_view_folder,
           Kind(True, document="json"), ("transforms.json",), setup=transforms_folder),
    Format("cameras_json", CAMERAS_FILE, load_view_folder, Kind(True, document="json"),
           (CAMERAS_FILE,), setup=view_images),
    Format("recipe", "recipe.yaml", load_recipe, Kind(True, document="yaml"),
           ("fit_*.yaml", "deform_*.yaml", "camera_*.yaml")),
    Format("train_recipe", "recipe.yaml", load_train_recipe, Kind(True, document="yaml"),
           ("shape_*.yaml",)),
    Format("scene", "scene.yaml", load_scene, Kind(True, document="yaml"), ("render_*.yaml",),
           setup=scene_mesh, rewrite=_scene_files),
    Format("binvox", "model.binvox", load_voxels, Kind(False, binvox_boundaries),
           ("*.binvox",)),
    Format("voxels_npz", "model.npz", load_voxels, Kind(False, zip_boundaries), ("*.npz",),
           _is_zip),
)}


def format_of(name: str) -> Format:
    """The format called ``name`` (KeyError listing the names otherwise)."""
    if name not in FORMATS:
        raise KeyError(f"unknown format {name!r}; formats: {', '.join(FORMATS)}")
    return FORMATS[name]
