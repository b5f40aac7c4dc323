"""Differentiable operators with native kernels and pure-PyTorch fallbacks."""

from r3d.ops.mesh_face_areas_normals import mesh_face_areas_normals
from r3d.ops.packed_padded import packed_to_padded, padded_to_packed

__all__ = ["mesh_face_areas_normals", "packed_to_padded", "padded_to_packed"]
