"""Datasets of 3D models: ShapeNetCore (v1 and v2) and R2N2, as ``torch.utils.data.Dataset``.

Items are dicts; :func:`collate_batched_meshes` batches them (with a :class:`Meshes`) for a
``DataLoader``.
"""

from r3d.datasets.r2n2 import (
    R2N2,
    R2N2_FOV_DEGREES,
    R2N2_MAX_CAMERA_DISTANCE,
    r2n2_camera_pose,
    read_binvox,
)
from r3d.datasets.shapenet import (
    R2N2_SYNSETS,
    SYNSET_NAMES,
    ShapeNetBase,
    ShapeNetCore,
    synset_names,
)
from r3d.datasets.utils import collate_batched_meshes

__all__ = [
    "R2N2",
    "R2N2_FOV_DEGREES",
    "R2N2_MAX_CAMERA_DISTANCE",
    "R2N2_SYNSETS",
    "SYNSET_NAMES",
    "ShapeNetBase",
    "ShapeNetCore",
    "collate_batched_meshes",
    "r2n2_camera_pose",
    "read_binvox",
    "synset_names",
]
