"""Mesh rendering: rasterisation, textures, shading, shaders and renderers."""

from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes, rasterize_meshes_torch
from r3d.renderer.mesh.rasterizer import Fragments, MeshRasterizer, RasterizationSettings
from r3d.renderer.mesh.renderer import MeshRenderer, MeshRendererWithFragments
from r3d.renderer.mesh.shader import (
    DepthShader,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    NormalShader,
    ShaderBase,
    SilhouetteShader,
    SoftGouraudShader,
    SoftPhongShader,
    SoftSilhouetteShader,
    SplatterPhongShader,
)
from r3d.renderer.mesh.shading import (
    apply_lighting,
    flat_shading,
    gouraud_shading,
    phong_shading,
)
from r3d.structures.textures import TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex

__all__ = [
    "DepthShader",
    "Fragments",
    "HardFlatShader",
    "HardGouraudShader",
    "HardPhongShader",
    "MeshRasterizer",
    "MeshRenderer",
    "MeshRendererWithFragments",
    "NormalShader",
    "RasterizationSettings",
    "ShaderBase",
    "SilhouetteShader",
    "SoftGouraudShader",
    "SoftPhongShader",
    "SoftSilhouetteShader",
    "SplatterPhongShader",
    "TexturesAtlas",
    "TexturesBase",
    "TexturesUV",
    "TexturesVertex",
    "apply_lighting",
    "flat_shading",
    "gouraud_shading",
    "phong_shading",
    "rasterize_meshes",
    "rasterize_meshes_torch",
]
