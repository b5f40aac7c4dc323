"""Shaders: fragments and meshes in, images out (PyTorch3D's shaders plus depth, normal and
hard silhouette shaders).

Every shader is called as ``shader(fragments, meshes, **kwargs)``; ``cameras``, ``lights``,
``materials`` and ``blend_params`` in kwargs override the stored ones for that call, and the
soft shaders also take ``znear`` and ``zfar`` (default: the cameras', else 1 and 100).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from r3d.errors import InputError, warn
from r3d.renderer.blending import (
    BlendParams,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    softmax_rgb_blend,
)
from r3d.renderer.lighting import PointLights
from r3d.renderer.materials import Materials
from r3d.renderer.mesh.shading import (
    flat_shading,
    gouraud_shading,
    phong_colors_and_points,
    phong_shading,
)
from r3d.renderer.splatter_blend import SplatterBlender
from r3d.structures.fragments import Fragments
from r3d.structures.meshes import Meshes
from r3d.structures.texture_sampling import sample_vertex_features

__all__ = [
    "DepthShader",
    "HardFlatShader",
    "HardGouraudShader",
    "HardPhongShader",
    "NormalShader",
    "ShaderBase",
    "SilhouetteShader",
    "SoftGouraudShader",
    "SoftPhongShader",
    "SoftSilhouetteShader",
    "SplatterPhongShader",
]


class ShaderBase(torch.nn.Module):
    """Holds the cameras, lights (default PointLights()), materials (default Materials()) and
    blend parameters (default BlendParams()) of a shader."""

    def __init__(
        self, device=None, cameras=None, lights=None, materials=None,
        blend_params: BlendParams | None = None,
    ) -> None:
        super().__init__()
        self.cameras = cameras
        self.lights = lights if lights is not None else PointLights(device=device)
        self.materials = materials if materials is not None else Materials(device=device)
        self.blend_params = blend_params if blend_params is not None else BlendParams()

    def to(self, device):
        """Moves the cameras, lights and materials to ``device``."""
        for name in ("cameras", "lights", "materials"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return super().to(device)

    def _get(self, kwargs: dict, name: str):
        value = kwargs.get(name, getattr(self, name))
        if value is None:
            raise InputError(
                f"{type(self).__name__}: {name} are required: pass them to the shader or to "
                f"its call ({name}=...)"
            )
        return value

    def _lighting(self, kwargs: dict) -> tuple:
        """(lights, cameras, materials) for one call."""
        return self._get(kwargs, "lights"), self._get(kwargs, "cameras"), \
            self._get(kwargs, "materials")

    def _soft_blend(self, colors: torch.Tensor, fragments: Fragments, kwargs: dict):
        """softmax_rgb_blend with the call's blend parameters and depth range."""
        cameras = self._get(kwargs, "cameras")
        znear = kwargs.get("znear", getattr(cameras, "znear", 1.0))
        zfar = kwargs.get("zfar", getattr(cameras, "zfar", 100.0))
        return softmax_rgb_blend(
            colors, fragments, self._get(kwargs, "blend_params"), znear=znear, zfar=zfar
        )


class HardPhongShader(ShaderBase):
    """Phong shading, nearest face only: (N, H, W, 4) RGBA."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        texels = meshes.sample_textures(fragments)
        colors = phong_shading(meshes, fragments, *self._lighting(kwargs), texels)
        return hard_rgb_blend(colors, fragments, self._get(kwargs, "blend_params"))


class SoftPhongShader(ShaderBase):
    """Phong shading, fragments blended with :func:`softmax_rgb_blend`: (N, H, W, 4) RGBA."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        texels = meshes.sample_textures(fragments)
        colors = phong_shading(meshes, fragments, *self._lighting(kwargs), texels)
        return self._soft_blend(colors, fragments, kwargs)


class SplatterPhongShader(ShaderBase):
    """Phong shading, fragments blended by :class:`SplatterBlender` (Cole et al. 2021's
    splatting, differentiable w.r.t. the vertices without a soft rasteriser): (N, H, W, 4).

    The lighting uses detached fragments, so gradients reach the vertices through the
    fragments' 3D points (and the textures). Use ``BlendParams(sigma=0.5)``: sigma is the
    kernel's standard deviation in pixels and other values warn (as in PyTorch3D). Rasterise
    with ``faces_per_pixel`` > 1 so that surfaces behind edges splat too.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.splatter_blender: SplatterBlender | None = None

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        lights, cameras, materials = self._lighting(kwargs)
        texels = meshes.sample_textures(fragments)
        colors, points = phong_colors_and_points(
            meshes, fragments.detach(), lights, cameras, materials, texels
        )
        if self.splatter_blender is None:
            self.splatter_blender = SplatterBlender(tuple(colors.shape[:4]), colors.device)
        blend_params = self._get(kwargs, "blend_params")
        if blend_params.sigma != 0.5:
            warn(
                f"SplatterPhongShader: blend_params.sigma = {blend_params.sigma}; sigma is the "
                "splatting kernel's standard deviation in pixels, and values other than 0.5 "
                "are rarely intended"
            )
        return self.splatter_blender(
            colors, points, cameras, fragments.pix_to_face < 0, blend_params
        )


class HardGouraudShader(ShaderBase):
    """Gouraud shading, nearest face only: (N, H, W, 4) RGBA."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        colors = gouraud_shading(meshes, fragments, *self._lighting(kwargs))
        return hard_rgb_blend(colors, fragments, self._get(kwargs, "blend_params"))


class SoftGouraudShader(ShaderBase):
    """Gouraud shading, fragments blended with :func:`softmax_rgb_blend`: (N, H, W, 4)."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        colors = gouraud_shading(meshes, fragments, *self._lighting(kwargs))
        return self._soft_blend(colors, fragments, kwargs)


class HardFlatShader(ShaderBase):
    """Flat shading (one normal per face), nearest face only: (N, H, W, 4) RGBA."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        texels = meshes.sample_textures(fragments)
        colors = flat_shading(meshes, fragments, *self._lighting(kwargs), texels)
        return hard_rgb_blend(colors, fragments, self._get(kwargs, "blend_params"))


class SoftSilhouetteShader(ShaderBase):
    """Soft silhouette (no lights or textures): (N, H, W, 4) whose alpha channel is
    :func:`sigmoid_alpha_blend`'s coverage (RGB is 1)."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        colors = torch.ones_like(fragments.bary_coords)
        return sigmoid_alpha_blend(colors, fragments, self._get(kwargs, "blend_params"))


class SilhouetteShader(ShaderBase):
    """Hard silhouette: (N, H, W, 1), 1 where a face covers the pixel and 0 elsewhere (with
    MeshRenderer's antialias, the covered fraction of each pixel)."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        covered = fragments.pix_to_face[..., :1] >= 0
        return covered.to(fragments.bary_coords.dtype)


class DepthShader(ShaderBase):
    """View-space depth of the nearest face: (N, H, W, 1), ``background`` where no face.

    Args:
        background: depth of empty pixels (a call's ``background=`` overrides it).
        other arguments: as :class:`ShaderBase`.
    """

    def __init__(self, background: float = -1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.background = background

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        covered = fragments.pix_to_face[..., :1] >= 0
        background = kwargs.get("background", self.background)
        return torch.where(covered, fragments.zbuf[..., :1], background)


class NormalShader(ShaderBase):
    """Interpolated world-space vertex normals of the nearest face as colours ``(n + 1) / 2``:
    (N, H, W, 4) RGBA, blend_params.background_color where no face."""

    def forward(self, fragments: Fragments, meshes: Meshes, **kwargs) -> torch.Tensor:
        face_normals = meshes.verts_normals_packed()[meshes.faces_packed()]
        normals = sample_vertex_features(fragments, face_normals)
        colors = (F.normalize(normals, dim=-1, eps=1e-6) + 1) / 2
        return hard_rgb_blend(colors, fragments, self._get(kwargs, "blend_params"))
