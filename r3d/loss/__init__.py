"""Losses between meshes and point clouds."""

from r3d.loss.chamfer import chamfer_distance

__all__ = ["chamfer_distance"]
