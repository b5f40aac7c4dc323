"""Differentiable operators with native kernels and pure-PyTorch fallbacks."""

from r3d.ops.mesh_face_areas_normals import mesh_face_areas_normals
from r3d.ops.packed_padded import packed_to_padded, padded_to_packed
from r3d.ops.point_mesh import (
    edge_point_distance,
    face_point_distance,
    point_edge_distance,
    point_face_distance,
)

__all__ = [
    "edge_point_distance",
    "face_point_distance",
    "mesh_face_areas_normals",
    "packed_to_padded",
    "padded_to_packed",
    "point_edge_distance",
    "point_face_distance",
]
