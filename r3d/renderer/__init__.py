"""Differentiable rendering of meshes and point clouds."""

from r3d.renderer.camera_conversions import (
    cameras_from_opencv_projection,
    opencv_from_cameras_projection,
)
from r3d.renderer.cameras import (
    CamerasBase,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    get_ndc_to_screen_transform,
    get_screen_to_ndc_transform,
    get_world_to_view_transform,
    look_at_rotation,
    look_at_view_transform,
)
from r3d.renderer.mesh import (
    Fragments,
    RasterizationSettings,
    TexturesAtlas,
    TexturesBase,
    TexturesUV,
    TexturesVertex,
    rasterize_meshes,
)

__all__ = [
    "CamerasBase",
    "FoVOrthographicCameras",
    "FoVPerspectiveCameras",
    "Fragments",
    "OrthographicCameras",
    "PerspectiveCameras",
    "RasterizationSettings",
    "TexturesAtlas",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
    "camera_position_from_spherical_angles",
    "cameras_from_opencv_projection",
    "get_ndc_to_screen_transform",
    "get_screen_to_ndc_transform",
    "get_world_to_view_transform",
    "look_at_rotation",
    "look_at_view_transform",
    "opencv_from_cameras_projection",
    "rasterize_meshes",
]
