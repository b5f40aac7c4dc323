"""Reading and writing meshes, point clouds and voxel grids.

Formats: OBJ (+MTL, textures), PLY (ASCII / binary LE / binary BE), OFF, STL (ASCII / binary),
glTF 2.0 / GLB; voxel grids (:class:`VoxelGrid`): binvox, NumPy npz; through trimesh
(:mod:`r3d.io.trimesh_formats`, via :class:`IO`): 3MF, COLLADA, zip archives, XYZ points. r3d's
loaders keep each file's vertex order and count; malformed files raise
:class:`r3d.errors.FileFormatError` naming the path (and line). Savers write paths atomically.
``load_ply`` / ``save_ply``, ``load_obj`` / ``save_obj`` and ``load_off`` / ``save_off`` also take
file objects (``io.BytesIO``, ``io.StringIO``, open files), as PyTorch3D's do; those are read and
written directly, at their position.
"""

from r3d.io.atomic import atomic_open, atomic_paths
from r3d.io.binvox import load_binvox, save_binvox
from r3d.io.gltf import glb_bytes, load_gltf, points_glb_bytes, save_gltf
from r3d.io.obj import load_obj, load_objs_as_meshes, save_obj
from r3d.io.off import load_off, save_off
from r3d.io.pluggable import (
    IO,
    MeshFormatInterpreter,
    PointcloudFormatInterpreter,
    VoxelFormatInterpreter,
)
from r3d.io.ply import load_ply, save_ply
from r3d.io.stl import load_stl, save_stl
from r3d.io.voxels import VoxelGrid
from r3d.io.voxels_npz import load_voxels_npz, save_voxels_npz

__all__ = [
    "IO",
    "MeshFormatInterpreter",
    "PointcloudFormatInterpreter",
    "VoxelFormatInterpreter",
    "VoxelGrid",
    "atomic_open",
    "atomic_paths",
    "glb_bytes",
    "load_binvox",
    "load_gltf",
    "load_obj",
    "load_objs_as_meshes",
    "load_off",
    "load_ply",
    "load_stl",
    "load_voxels_npz",
    "points_glb_bytes",
    "save_binvox",
    "save_gltf",
    "save_obj",
    "save_off",
    "save_ply",
    "save_stl",
    "save_voxels_npz",
]
