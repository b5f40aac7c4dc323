"""Batched data structures: heterogeneous batches of meshes, point clouds and volumes."""

from r3d.structures.meshes import Meshes, join_meshes_as_batch, join_meshes_as_scene
from r3d.structures.pointclouds import (
    Pointclouds,
    join_pointclouds_as_batch,
    join_pointclouds_as_scene,
)
from r3d.structures.utils import list_to_packed, list_to_padded, packed_to_list, padded_to_list
from r3d.structures.volumes import Volumes

__all__ = [
    "Meshes",
    "Pointclouds",
    "Volumes",
    "join_meshes_as_batch",
    "join_meshes_as_scene",
    "join_pointclouds_as_batch",
    "join_pointclouds_as_scene",
    "list_to_packed",
    "list_to_padded",
    "packed_to_list",
    "padded_to_list",
]
