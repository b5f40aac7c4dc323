"""Differentiable rendering of meshes and point clouds."""

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
    "Fragments",
    "RasterizationSettings",
    "TexturesAtlas",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
    "rasterize_meshes",
]
