"""The ``IO`` registry: load and save meshes, point clouds and voxel grids, choosing the format
by extension.

    from r3d.io import IO
    mesh = IO().load_mesh("cow.obj", device="cuda")
    IO().save_mesh(mesh, "cow.glb")
    cloud = IO().load_pointcloud("scan.ply")
    grid = IO().load_voxels("model.binvox")

Formats are :class:`MeshFormatInterpreter` / :class:`PointcloudFormatInterpreter` /
:class:`VoxelFormatInterpreter` objects that declare the extensions they handle; user formats
are added with ``register_meshes_format`` / ``register_pointcloud_format`` /
``register_voxels_format`` and take precedence over earlier ones for the same extension.

Files r3d has no parser of its own for (3MF, COLLADA, zip archives of meshes, XYZ points) are
read and written through trimesh (:mod:`r3d.io.trimesh_formats`); those formats are registered
before r3d's own, so r3d's parsers would win for any extension both handle.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError, warn
from r3d.io.binvox import load_binvox, save_binvox
from r3d.io.gltf import gltf_textures, read_gltf, save_gltf
from r3d.io.obj import (
    load_obj_pointcloud,
    load_objs_as_meshes,
    obj_has_faces,
    save_obj,
    save_obj_pointcloud,
)
from r3d.io.off import read_off, save_off
from r3d.io.ply import ply_has_faces, read_ply, save_ply
from r3d.io.stl import read_stl, save_stl
from r3d.io.trimesh_formats import (
    LOADED_BY,
    MESH_LOAD_EXTENSIONS,
    MESH_SAVE_EXTENSIONS,
    POINTCLOUD_LOAD_EXTENSIONS,
    POINTCLOUD_SAVE_EXTENSIONS,
    read_trimesh_mesh,
    read_trimesh_points,
    save_trimesh_mesh,
    save_trimesh_points,
    trimesh_has_faces,
)
from r3d.io.utils import (
    load_image_or_warn,
    make_meshes,
    make_pointclouds,
    require_faces,
    require_file,
    single_mesh,
    tensor,
)
from r3d.io.voxels import VoxelGrid
from r3d.io.voxels_npz import load_voxels_npz, save_voxels_npz
from r3d.structures.textures import TexturesAtlas, TexturesUV, TexturesVertex

__all__ = [
    "IO",
    "MeshFormatInterpreter",
    "PointcloudFormatInterpreter",
    "VoxelFormatInterpreter",
]


def _ext(path) -> str:
    return os.path.splitext(os.fspath(path))[1].lower()


class MeshFormatInterpreter:
    """A mesh file format. Subclasses set ``extensions`` (lower case, with the dot) and
    implement ``read`` and/or ``save``; ``loaded_by`` says who parses the files (``r3d info``
    shows it)."""

    extensions: tuple[str, ...] = ()
    loaded_by: str = "r3d"

    def read(self, path: str, include_textures: bool, device: torch.device, **kwargs):
        """Returns a Meshes (batch of 1) read from ``path``."""
        raise NotImplementedError

    def save(self, data, path: str, binary: bool | None, include_textures: bool,
             **kwargs) -> None:
        """Writes the one-mesh Meshes ``data`` to ``path``."""
        raise NotImplementedError

    def has_faces(self, path: str) -> bool:
        """Whether the file holds faces (formats that always do keep this default)."""
        return True


class PointcloudFormatInterpreter:
    """A point cloud file format (see :class:`MeshFormatInterpreter`)."""

    extensions: tuple[str, ...] = ()
    loaded_by: str = "r3d"

    def read(self, path: str, device: torch.device, **kwargs):
        """Returns a Pointclouds (batch of 1) read from ``path``."""
        raise NotImplementedError

    def save(self, data, path: str, binary: bool | None, **kwargs) -> None:
        """Writes the one-cloud Pointclouds ``data`` to ``path``."""
        raise NotImplementedError


class VoxelFormatInterpreter:
    """A voxel grid file format (see :class:`MeshFormatInterpreter`)."""

    extensions: tuple[str, ...] = ()
    loaded_by: str = "r3d"

    def read(self, path: str, device: torch.device, **kwargs) -> VoxelGrid:
        """Returns the VoxelGrid in ``path``."""
        raise NotImplementedError

    def save(self, data: VoxelGrid, path: str, **kwargs) -> None:
        """Writes the VoxelGrid ``data`` to ``path``."""
        raise NotImplementedError


def _vertex_colors(textures, fmt: str):
    """(V, 3) colours of a TexturesVertex with 3 channels, else None (with a warning)."""
    if textures is None:
        return None
    if isinstance(textures, TexturesVertex) and textures.verts_features_list()[0].shape[1] in (
            3, 4):
        return textures.verts_features_list()[0][:, :3]
    warn(f"{type(textures).__name__} cannot be stored in {fmt}; textures not saved")
    return None


def _per_vertex_or_face_textures(colors, face_colors, device):

    if colors is not None:
        return TexturesVertex([tensor(colors, torch.float32, device)])
    if face_colors is not None:
        return TexturesAtlas([tensor(face_colors, torch.float32, device).reshape(-1, 1, 1, 3)])
    return None


def _save_uv_or_vertex_textured(saver, fmt: str, data, path, include_textures: bool, **kwargs):
    """Saves one mesh with ``saver`` (save_obj, save_gltf): UV textures with their image,
    otherwise vertex colours (if any)."""
    verts, faces = single_mesh("save_mesh", data)
    tex = data.textures if include_textures else None
    if isinstance(tex, TexturesUV):
        kwargs.setdefault("texture_wrap", tex.padding_mode)
        saver(path, verts, faces, verts_uvs=tex.verts_uvs_list()[0],
              faces_uvs=tex.faces_uvs_list()[0], texture_map=tex.maps_list()[0], **kwargs)
    else:
        saver(path, verts, faces, verts_colors=_vertex_colors(tex, fmt), **kwargs)


class MeshObjFormat(MeshFormatInterpreter):
    """Wavefront OBJ (+ MTL and images). Extra read kwargs go to load_objs_as_meshes."""

    extensions = (".obj",)

    def has_faces(self, path):
        return obj_has_faces(path)

    def read(self, path, include_textures, device, **kwargs):
        return load_objs_as_meshes([path], device=device, load_textures=include_textures,
                                   **kwargs)

    def save(self, data, path, binary, include_textures, **kwargs):
        _save_uv_or_vertex_textured(save_obj, "OBJ", data, path, include_textures, **kwargs)


def _coloured_mesh(path, verts, faces, verts_colors, face_colors, include_textures: bool, device):
    """One mesh from a loaded file's (V, 3) verts and (F, 3) faces; with ``include_textures``,
    (V, 3) vertex colours become TexturesVertex and (F, 3) face colours a 1x1 TexturesAtlas."""
    require_faces(path, verts.shape[0], faces.shape[0])
    tex = (_per_vertex_or_face_textures(verts_colors, face_colors, device)
           if include_textures else None)
    return make_meshes(tensor(verts, torch.float32, device), tensor(faces, torch.int64, device),
                       tex)


def _mesh_and_colours(data, fmt: str, include_textures: bool):
    """The (V, 3) verts, (F, 3) faces and, with ``include_textures``, (V, 3) vertex colours (or
    None) of a one-mesh Meshes saved as ``fmt``."""
    verts, faces = single_mesh("save_mesh", data)
    return verts, faces, _vertex_colors(data.textures, fmt) if include_textures else None


def _ply_uv_texture(path: str, ply, device) -> TexturesUV | None:
    """The TexturesUV of a PLY with per-vertex UVs and a ``comment TextureFile <image>`` (the
    image beside the file), as PyTorch3D builds it: the faces index the UVs, and samples
    outside [0, 1] take the border. None without both, or (with a warning) when the image is
    missing."""
    name = ply.texture_file()
    if ply.verts_uvs is None or name is None:
        return None
    image = load_image_or_warn(path, name, os.path.join(os.path.dirname(path), name),
                               "of the TextureFile comment", "loading without a texture")
    if image is None:
        return None
    return TexturesUV([image.to(device)], [tensor(ply.faces, torch.int64, device)],
                      [tensor(ply.verts_uvs, torch.float32, device)])


class MeshPlyFormat(MeshFormatInterpreter):
    """PLY. Read: vertex normals become the mesh's verts_normals; textures are the vertex
    colours (TexturesVertex), else per-vertex UVs with a ``TextureFile`` comment's image
    (TexturesUV), else face colours (a 1x1 TexturesAtlas). Save: the mesh's vertex normals
    when it has them (``has_verts_normals``), and TexturesVertex colours as float ``red green
    blue`` (save kwarg ``colors_as_uint8=True``: uchar)."""

    extensions = (".ply",)

    def has_faces(self, path):
        return ply_has_faces(path)

    def read(self, path, include_textures, device, strict_colors: bool = False, **kwargs):
        ply = read_ply(path, strict_colors=strict_colors)
        require_faces(path, ply.verts.shape[0], ply.faces.shape[0])
        tex = None
        if include_textures and ply.colors is None:
            tex = _ply_uv_texture(path, ply, device)
        if include_textures and tex is None:
            tex = _per_vertex_or_face_textures(ply.colors, ply.face_colors, device)
        normals = None if ply.normals is None else tensor(ply.normals, torch.float32, device)
        return make_meshes(tensor(ply.verts, torch.float32, device),
                           tensor(ply.faces, torch.int64, device), tex, normals)

    def save(self, data, path, binary, include_textures, **kwargs):
        verts, faces, colors = _mesh_and_colours(data, "PLY", include_textures)
        normals = data.verts_normals_list()[0] if data.has_verts_normals() else None
        save_ply(path, verts, faces, verts_normals=normals, verts_colors=colors,
                 ascii=binary is False, **kwargs)


class MeshOffFormat(MeshFormatInterpreter):
    """OFF; vertex colours become TexturesVertex, face colours a 1x1 TexturesAtlas."""

    extensions = (".off",)

    def has_faces(self, path):
        return read_off(path).faces.shape[0] > 0

    def read(self, path, include_textures, device, strict_colors: bool = False, **kwargs):
        off = read_off(path, strict_colors=strict_colors)
        return _coloured_mesh(path, off.verts, off.faces, off.verts_colors, off.face_colors,
                              include_textures, device)

    def save(self, data, path, binary, include_textures, **kwargs):
        verts, faces, colors = _mesh_and_colours(data, "OFF", include_textures)
        save_off(path, verts, faces, verts_colors=colors, **kwargs)


class MeshStlFormat(MeshFormatInterpreter):
    """STL; read kwarg ``merge_vertices`` (default False keeps 3 vertices per triangle)."""

    extensions = (".stl",)

    def read(self, path, include_textures, device, merge_vertices: bool = False, **kwargs):
        verts, faces = read_stl(path, merge_vertices=merge_vertices)
        return make_meshes(tensor(verts, torch.float32, device),
                           tensor(faces, torch.int64, device))

    def save(self, data, path, binary, include_textures, **kwargs):
        verts, faces = single_mesh("save_mesh", data)
        _warn_textures_dropped(data, include_textures, "STL")
        save_stl(path, verts, faces, ascii=binary is False, **kwargs)


class MeshGltfFormat(MeshFormatInterpreter):
    """glTF 2.0 / GLB: base-colour textures become TexturesUV, COLOR_0 TexturesVertex."""

    extensions = (".glb", ".gltf")

    def read(self, path, include_textures, device, strict_colors: bool = False, **kwargs):
        mesh = read_gltf(path, strict_colors=strict_colors)
        require_faces(path, mesh.verts.shape[0], mesh.faces.shape[0])
        tex = gltf_textures(mesh, device) if include_textures else None
        return make_meshes(tensor(mesh.verts, torch.float32, device),
                           tensor(mesh.faces, torch.int64, device), tex)

    def save(self, data, path, binary, include_textures, **kwargs):
        _save_uv_or_vertex_textured(save_gltf, "glTF", data, path, include_textures, **kwargs)


def _warn_textures_dropped(data, include_textures: bool, fmt: str) -> None:
    if include_textures and data.textures is not None:
        warn(f"{fmt} cannot store textures; textures not saved")


class MeshTrimeshFormat(MeshFormatInterpreter):
    """3MF, COLLADA (.dae, .zae) and zip archives of meshes, read through trimesh with
    ``process=False`` (see :mod:`r3d.io.trimesh_formats`); 3MF and COLLADA are saved through
    trimesh's exporters (geometry only). Vertex colours become TexturesVertex, face colours a
    1x1 TexturesAtlas, a UV-mapped image TexturesUV."""

    extensions = MESH_LOAD_EXTENSIONS
    loaded_by = LOADED_BY

    def has_faces(self, path):
        return _ext(path) != ".zip" or trimesh_has_faces(path)

    def read(self, path, include_textures, device, **kwargs):
        mesh = read_trimesh_mesh(path)
        if include_textures and mesh.texture is not None:
            uvs = tensor(mesh.verts_uvs, torch.float32, device)
            faces = tensor(mesh.faces, torch.int64, device)
            tex = TexturesUV([mesh.texture.to(device)], [faces], [uvs], padding_mode="repeat")
            return make_meshes(tensor(mesh.verts, torch.float32, device), faces, tex)
        return _coloured_mesh(path, mesh.verts, mesh.faces, mesh.verts_colors,
                              mesh.face_colors, include_textures, device)

    def save(self, data, path, binary, include_textures, **kwargs):
        if _ext(path) not in MESH_SAVE_EXTENSIONS:
            raise NotImplementedError
        verts, faces = single_mesh("save_mesh", data)
        _warn_textures_dropped(data, include_textures, f"{_ext(path)} (through trimesh)")
        save_trimesh_mesh(path, verts, faces)


def _cloud_parts(data):
    if len(data) != 1:
        raise InputError(f"save_pointcloud: can only save a batch of exactly 1 point cloud, "
                         f"got {len(data)}")
    points = data.points_list()[0]
    normals = data.normals_list()
    features = data.features_list()
    normals = None if normals is None else normals[0]
    features = None if features is None else features[0]
    if features is not None and features.shape[1] not in (3, 4):
        warn(f"only 3- or 4-channel features (colours) can be saved, got "
             f"{features.shape[1]}; features not saved")
        features = None
    elif features is not None:
        features = features[:, :3]
    return points, normals, features


class PointcloudPlyFormat(PointcloudFormatInterpreter):
    """PLY point clouds: positions, ``nx ny nz`` normals, ``red green blue`` features."""

    extensions = (".ply",)

    def read(self, path, device, strict_colors: bool = False, **kwargs):
        ply = read_ply(path, strict_colors=strict_colors)
        return make_pointclouds(
            tensor(ply.verts, torch.float32, device),
            None if ply.normals is None else tensor(ply.normals, torch.float32, device),
            None if ply.colors is None else tensor(ply.colors, torch.float32, device),
        )

    def save(self, data, path, binary, **kwargs):
        points, normals, features = _cloud_parts(data)
        save_ply(path, points, None, verts_normals=normals, verts_colors=features,
                 ascii=binary is False, **kwargs)


class PointcloudObjFormat(PointcloudFormatInterpreter):
    """The ``v`` lines of an OBJ file (``v x y z r g b`` colours become features)."""

    extensions = (".obj",)

    def read(self, path, device, strict_colors: bool = False, **kwargs):
        points, colors = load_obj_pointcloud(path, device=device, strict_colors=strict_colors)
        return make_pointclouds(points, None, colors)

    def save(self, data, path, binary, **kwargs):
        points, _, features = _cloud_parts(data)
        save_obj_pointcloud(path, points, features, **kwargs)


class PointcloudOffFormat(PointcloudFormatInterpreter):
    """The vertices of an OFF file (vertex colours become features)."""

    extensions = (".off",)

    def read(self, path, device, strict_colors: bool = False, **kwargs):
        off = read_off(path, strict_colors=strict_colors)
        colors = off.verts_colors
        return make_pointclouds(tensor(off.verts, torch.float32, device), None,
                                None if colors is None else tensor(colors, torch.float32, device))

    def save(self, data, path, binary, **kwargs):
        points, _, features = _cloud_parts(data)
        save_off(path, points, np.zeros((0, 3), np.int64), verts_colors=features, **kwargs)


class PointcloudTrimeshFormat(PointcloudFormatInterpreter):
    """XYZ text points and zip archives, read through trimesh (a zip's point clouds, or the
    vertices of its meshes); XYZ is saved through trimesh (colours kept, normals dropped)."""

    extensions = POINTCLOUD_LOAD_EXTENSIONS
    loaded_by = LOADED_BY

    def read(self, path, device, **kwargs):
        points, colors = read_trimesh_points(path)
        return make_pointclouds(tensor(points, torch.float32, device), None,
                                None if colors is None else tensor(colors, torch.float32, device))

    def save(self, data, path, binary, **kwargs):
        if _ext(path) not in POINTCLOUD_SAVE_EXTENSIONS:
            raise NotImplementedError
        points, normals, features = _cloud_parts(data)
        if normals is not None:
            warn(f"{_ext(path)} (through trimesh) cannot store normals; normals not saved")
        save_trimesh_points(path, points, features)


class VoxelBinvoxFormat(VoxelFormatInterpreter):
    """binvox occupancy grids; save kwarg ``threshold`` (see :func:`save_binvox`)."""

    extensions = (".binvox",)

    def read(self, path, device, **kwargs):
        return load_binvox(path, device=device)

    def save(self, data, path, threshold: float | None = None, **kwargs):
        save_binvox(path, data, threshold=threshold)


class VoxelNpzFormat(VoxelFormatInterpreter):
    """NumPy ``.npz`` archives of densities, features and placement; save kwarg
    ``compressed``."""

    extensions = (".npz",)

    def read(self, path, device, **kwargs):
        return load_voxels_npz(path, device=device)

    def save(self, data, path, compressed: bool = True, **kwargs):
        save_voxels_npz(path, data, compressed=compressed)


class IO:
    """Loads and saves meshes, point clouds and voxel grids in every registered format.

    Args:
        include_default_formats: register OBJ, PLY, OFF, STL, glTF/GLB (meshes), PLY, OBJ,
            OFF (point clouds) and binvox, npz (voxel grids), and through trimesh 3MF, COLLADA
            (.dae, .zae), zip archives (meshes and point clouds) and XYZ (point clouds).
        path_manager: accepted for PyTorch3D compatibility; unused.
    """

    def __init__(self, include_default_formats: bool = True, path_manager=None) -> None:
        self._mesh_formats: list[MeshFormatInterpreter] = []
        self._cloud_formats: list[PointcloudFormatInterpreter] = []
        self._voxel_formats: list[VoxelFormatInterpreter] = []
        if include_default_formats:
            self.register_default_formats()

    def register_default_formats(self) -> None:
        """Registers the built-in formats (see the class docstring), as ``IO()`` does; they
        win over formats registered before this call, for their extensions."""
        # trimesh first: a format registered later wins, so r3d's own parsers come after
        self.register_meshes_format(MeshTrimeshFormat())
        self.register_pointcloud_format(PointcloudTrimeshFormat())
        for fmt in (MeshObjFormat(), MeshPlyFormat(), MeshOffFormat(), MeshStlFormat(),
                    MeshGltfFormat()):
            self.register_meshes_format(fmt)
        for fmt in (PointcloudPlyFormat(), PointcloudObjFormat(), PointcloudOffFormat()):
            self.register_pointcloud_format(fmt)
        for fmt in (VoxelBinvoxFormat(), VoxelNpzFormat()):
            self.register_voxels_format(fmt)

    @staticmethod
    def _check(interpreter, base, what: str) -> None:
        if not isinstance(interpreter, base):
            raise InputError(f"{what}: interpreter must be a {base.__name__}, got "
                             f"{type(interpreter).__name__}")
        exts = getattr(interpreter, "extensions", ())
        if not exts or not all(isinstance(e, str) and e.startswith(".") for e in exts):
            raise InputError(f"{what}: interpreter.extensions must list extensions such as "
                             f"('.xyz',), got {exts!r}")

    def register_meshes_format(self, interpreter: MeshFormatInterpreter) -> None:
        """Adds a mesh format; it wins over earlier ones for its extensions."""
        self._check(interpreter, MeshFormatInterpreter, "register_meshes_format")
        self._mesh_formats.append(interpreter)

    def register_pointcloud_format(self, interpreter: PointcloudFormatInterpreter) -> None:
        """Adds a point cloud format; it wins over earlier ones for its extensions."""
        self._check(interpreter, PointcloudFormatInterpreter, "register_pointcloud_format")
        self._cloud_formats.append(interpreter)

    def register_voxels_format(self, interpreter: VoxelFormatInterpreter) -> None:
        """Adds a voxel grid format; it wins over earlier ones for its extensions."""
        self._check(interpreter, VoxelFormatInterpreter, "register_voxels_format")
        self._voxel_formats.append(interpreter)

    @property
    def mesh_extensions(self) -> list[str]:
        """Sorted extensions with a mesh format."""
        return sorted({e.lower() for f in self._mesh_formats for e in f.extensions})

    @property
    def pointcloud_extensions(self) -> list[str]:
        """Sorted extensions with a point cloud format."""
        return sorted({e.lower() for f in self._cloud_formats for e in f.extensions})

    @property
    def voxel_extensions(self) -> list[str]:
        """Sorted extensions with a voxel grid format."""
        return sorted({e.lower() for f in self._voxel_formats for e in f.extensions})

    def _find(self, formats, path, kind: str, supported: list[str]):
        """The last registered format of ``formats`` for the extension of ``path``;
        IsADirectoryError for a directory, FileFormatError for an unknown extension."""
        if os.path.isdir(path):
            require_file(path)
        ext = _ext(path)
        for fmt in reversed(formats):
            if ext in (e.lower() for e in fmt.extensions):
                return fmt
        shown = f"'{ext}'" if ext else "no extension"
        raise FileFormatError(
            path, f"unknown {kind} file extension ({shown}); supported {kind} formats: "
                  f"{', '.join(supported)}")

    def file_has_faces(self, path) -> bool:
        """Whether ``path`` holds a mesh (faces) rather than only points.

        Cheap where the format allows (PLY reads the header only); False for point-cloud-only
        formats (XYZ). Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file,
        FileFormatError for unknown extensions.
        """
        path = os.fspath(path)
        if _ext(path) in self.pointcloud_extensions and _ext(path) not in self.mesh_extensions:
            require_file(path)
            return False
        fmt = self._find(self._mesh_formats, path, "mesh", self.mesh_extensions)
        require_file(path)
        with warnings.catch_warnings():  # the read that follows warns about the file
            warnings.simplefilter("ignore")
            return bool(fmt.has_faces(path))

    def loaded_by(self, path, kind: str = "mesh") -> str:
        """Who parses ``path`` loaded as a ``kind`` ("mesh", "pointcloud" or "voxels"): "r3d"
        for r3d's own parsers, a note naming trimesh for the formats read through it.
        FileFormatError for an extension with no such format."""
        kinds = {
            "mesh": (self._mesh_formats, "mesh", self.mesh_extensions),
            "pointcloud": (self._cloud_formats, "point cloud", self.pointcloud_extensions),
            "voxels": (self._voxel_formats, "voxel", self.voxel_extensions),
        }
        if kind not in kinds:
            raise InputError(f"loaded_by: kind must be one of {', '.join(kinds)}, got {kind!r}")
        formats, name, supported = kinds[kind]
        return self._find(formats, os.fspath(path), name, supported).loaded_by

    def load_mesh(self, path, include_textures: bool = True, device="cpu", **kwargs):
        """Reads a mesh file (format by extension, case-insensitive; 3MF, COLLADA and zip
        archives through trimesh, see :mod:`r3d.io.trimesh_formats`).

        Args:
            path: the file.
            include_textures: attach textures (TexturesUV, TexturesVertex or TexturesAtlas).
            device: where the Meshes lives.
            kwargs: format options (OBJ: create_texture_atlas, texture_atlas_size,
                texture_wrap; STL: merge_vertices; OBJ, PLY, OFF, glTF: strict_colors, see
                below).
        Returns:
            Meshes with one mesh: verts (V, 3) float32, faces (F, 3) int64.

        Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file;
        FileFormatError naming the path for unknown extensions, unreadable or malformed files,
        and files with no vertices or no faces. Vertex or face colours holding NaN or infinity
        are dropped with a warning (the geometry loads); ``strict_colors=True`` raises the
        FileFormatError instead.
        """
        path = os.fspath(path)
        fmt = self._find(self._mesh_formats, path, "mesh", self.mesh_extensions)
        require_file(path)
        try:
            return fmt.read(path, include_textures=include_textures,
                            device=torch.device(device), **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"reading {_ext(path)} meshes is not supported") \
                from None

    def save_mesh(self, data, path, binary: bool | None = True, include_textures: bool = True,
                  **kwargs) -> None:
        """Writes a one-mesh Meshes (format by extension), atomically.

        Args:
            binary: PLY and STL: binary (True/None) or ASCII (False).
            include_textures: write the textures the format can hold.
            kwargs: format options (e.g. decimal_places).
        """
        path = os.fspath(path)
        fmt = self._find(self._mesh_formats, path, "mesh", self.mesh_extensions)
        try:
            fmt.save(data, path, binary=binary, include_textures=include_textures, **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"saving {_ext(path)} meshes is not supported") \
                from None

    def load_pointcloud(self, path, device="cpu", **kwargs):
        """Reads a point cloud (PLY, OBJ or OFF vertices, faces ignored; XYZ and zip archives
        through trimesh).

        Args:
            kwargs: ``strict_colors=True`` raises FileFormatError for colours holding NaN or
                infinity (by default they are dropped with a warning).
        Returns:
            Pointclouds with one cloud: points (P, 3) float32, normals (P, 3) when the file has
            them, features (P, 3) colours in [0, 1] when it has them.

        Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file,
        FileFormatError for unknown extensions and malformed files.
        """
        path = os.fspath(path)
        fmt = self._find(self._cloud_formats, path, "point cloud", self.pointcloud_extensions)
        require_file(path)
        try:
            return fmt.read(path, device=torch.device(device), **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"reading {_ext(path)} point clouds is not "
                                        f"supported") from None

    def save_pointcloud(self, data, path, binary: bool | None = None, **kwargs) -> None:
        """Writes a one-cloud Pointclouds (format by extension), atomically.

        Args:
            binary: PLY: binary (True/None) or ASCII (False).
        """
        path = os.fspath(path)
        fmt = self._find(self._cloud_formats, path, "point cloud", self.pointcloud_extensions)
        try:
            fmt.save(data, path, binary=binary, **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"saving {_ext(path)} point clouds is not "
                                        f"supported") from None

    def load_voxels(self, path, device="cpu", **kwargs) -> VoxelGrid:
        """Reads a voxel grid (binvox or npz, by extension).

        Returns:
            VoxelGrid: densities (D, H, W) float32 indexed ``[z, y, x]``, translate and scale
            (3,), features (C, D, H, W) or None.

        Raises FileNotFoundError / IsADirectoryError when ``path`` is not a file,
        FileFormatError naming the path for unknown extensions and malformed files.
        """
        path = os.fspath(path)
        fmt = self._find(self._voxel_formats, path, "voxel", self.voxel_extensions)
        require_file(path)
        try:
            return fmt.read(path, device=torch.device(device), **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"reading {_ext(path)} voxel grids is not "
                                        f"supported") from None

    def save_voxels(self, data: VoxelGrid, path, **kwargs) -> None:
        """Writes a VoxelGrid (format by extension), atomically.

        Args:
            kwargs: format options (binvox: ``threshold``; npz: ``compressed``).
        """
        path = os.fspath(path)
        fmt = self._find(self._voxel_formats, path, "voxel", self.voxel_extensions)
        try:
            fmt.save(data, path, **kwargs)
        except NotImplementedError:
            raise FileFormatError(path, f"saving {_ext(path)} voxel grids is not "
                                        f"supported") from None
