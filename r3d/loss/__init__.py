"""Losses between meshes and point clouds."""

from r3d.loss.chamfer import chamfer_distance
from r3d.loss.point_mesh_distance import point_mesh_edge_distance, point_mesh_face_distance

__all__ = ["chamfer_distance", "point_mesh_edge_distance", "point_mesh_face_distance"]
