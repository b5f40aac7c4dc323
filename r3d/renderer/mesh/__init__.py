"""Mesh rendering: rasterisation and textures (shaders come later)."""

from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.renderer.mesh.rasterizer import Fragments, RasterizationSettings
from r3d.renderer.mesh.textures import TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex

__all__ = [
    "Fragments",
    "RasterizationSettings",
    "TexturesAtlas",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
    "rasterize_meshes",
    "rasterize_meshes_torch",
]
