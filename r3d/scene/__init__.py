"""``r3d render``: scenes described in YAML (or a mesh or point cloud file) rendered to PNGs, a
GIF and maps."""

from r3d.scene.scene import (
    Scene,
    load_scene,
    scene_for_file,
    scene_for_mesh,
    scene_for_pointcloud,
    with_overrides,
)

__all__ = [
    "Scene",
    "load_scene",
    "scene_for_file",
    "scene_for_mesh",
    "scene_for_pointcloud",
    "with_overrides",
]
