"""Losses between meshes and point clouds."""

from r3d.loss.chamfer import chamfer_distance
from r3d.loss.mesh_edge_loss import mesh_edge_loss
from r3d.loss.mesh_laplacian_smoothing import mesh_laplacian_smoothing
from r3d.loss.mesh_normal_consistency import mesh_normal_consistency
from r3d.loss.point_mesh_distance import point_mesh_edge_distance, point_mesh_face_distance
from r3d.loss.silhouette import silhouette_iou_loss

__all__ = [
    "chamfer_distance",
    "mesh_edge_loss",
    "mesh_laplacian_smoothing",
    "mesh_normal_consistency",
    "point_mesh_edge_distance",
    "point_mesh_face_distance",
    "silhouette_iou_loss",
]
