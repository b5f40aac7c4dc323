"""Mesh rendering: textures (rasteriser and shaders come later)."""

from r3d.renderer.mesh.textures import TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex

__all__ = ["TexturesAtlas", "TexturesBase", "TexturesUV", "TexturesVertex"]
