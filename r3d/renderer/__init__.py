"""Differentiable rendering of meshes and point clouds."""

from r3d.renderer.mesh.textures import TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex

__all__ = ["TexturesAtlas", "TexturesBase", "TexturesUV", "TexturesVertex"]
