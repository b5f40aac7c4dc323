"""Mesh renderers: a rasteriser and a shader composed, with optional supersampling."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from r3d.errors import InputError
from r3d.renderer.mesh.rasterize_meshes import parse_image_size
from r3d.structures.fragments import Fragments

__all__ = ["MeshRenderer", "MeshRendererWithFragments", "downsample"]

_FILTERS = ("box", "tent")


def _tent_weights(factor: int, like: torch.Tensor) -> torch.Tensor:
    """(L,) normalised weights of a tent of half-width ``factor`` fine pixels sampled at the fine
    pixel centres around one coarse pixel centre (L = 2 factor - 1 or 2 factor)."""
    length = 2 * factor - (factor % 2)
    d = torch.arange(length, dtype=like.dtype, device=like.device) - (length - 1) / 2
    w = 1 - d.abs() / factor
    return w / w.sum()


def downsample(images: torch.Tensor, factor: int, filter: str = "box") -> torch.Tensor:
    """Reduces supersampled images by ``factor`` in each direction.

    Args:
        images: (N, factor H, factor W, C).
        factor: integer reduction >= 1.
        filter: "box" (mean of each factor x factor block; preserves the image mean exactly) or
            "tent" (separable triangle filter twice as wide, edges replicated: smoother).
    Returns:
        (N, H, W, C).
    """
    if factor == 1:
        return images
    x = images.permute(0, 3, 1, 2)
    if filter == "box":
        out = F.avg_pool2d(x, factor)
    else:
        w = _tent_weights(factor, x)
        pad = (len(w) - factor) // 2
        channels = x.shape[1]
        x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
        x = F.conv2d(x, w.view(1, 1, -1, 1).expand(channels, 1, -1, 1), stride=(factor, 1),
                     groups=channels)
        out = F.conv2d(x, w.view(1, 1, 1, -1).expand(channels, 1, 1, -1), stride=(1, factor),
                       groups=channels)
    return out.permute(0, 2, 3, 1)


class MeshRenderer(torch.nn.Module):
    """``shader(rasterizer(meshes), meshes)`` (PyTorch3D's MeshRenderer), optionally
    anti-aliased by supersampling.

    Args:
        rasterizer: a :class:`MeshRasterizer`.
        shader: a shader module, e.g. :class:`HardPhongShader`.
        antialias: S >= 1: rasterise and shade at S H x S W pixels, then reduce to H x W with
            ``antialias_filter``, so hard edges get the covered fraction of each pixel. The
            rasterisation settings' blur radius is in NDC and needs no change.
        antialias_filter: "box" or "tent" (see :func:`downsample`).

    ``forward(meshes_world, **kwargs)`` passes kwargs to the rasteriser and the shader
    (``antialias=`` overrides the stored factor) and returns the (N, H, W, C) images: RGBA
    (C = 4) for the colour and silhouette shaders.
    """

    def __init__(self, rasterizer, shader, antialias: int = 1, antialias_filter: str = "box"):
        super().__init__()
        self.rasterizer = rasterizer
        self.shader = shader
        self.antialias = _check_antialias(antialias)
        if antialias_filter not in _FILTERS:
            raise InputError(
                f"MeshRenderer: antialias_filter must be one of {_FILTERS}, got "
                f"{antialias_filter!r}"
            )
        self.antialias_filter = antialias_filter

    def to(self, device):
        """Moves the rasteriser's and the shader's cameras, lights and materials."""
        self.rasterizer.to(device)
        self.shader.to(device)
        return super().to(device)

    def _render(self, meshes_world, **kwargs) -> tuple[torch.Tensor, Fragments]:
        """(images, fragments); the fragments are at the supersampled resolution."""
        factor = _check_antialias(kwargs.pop("antialias", self.antialias))
        if factor > 1:
            settings = kwargs.get("raster_settings", self.rasterizer.raster_settings)
            h, w = parse_image_size(settings.image_size)
            kwargs["raster_settings"] = dataclasses.replace(
                settings, image_size=(h * factor, w * factor)
            )
        fragments = self.rasterizer(meshes_world, **kwargs)
        images = self.shader(fragments, meshes_world, **kwargs)
        return downsample(images, factor, self.antialias_filter), fragments

    def forward(self, meshes_world, **kwargs) -> torch.Tensor:
        """(N, H, W, C) images of the N meshes."""
        return self._render(meshes_world, **kwargs)[0]


class MeshRendererWithFragments(MeshRenderer):
    """A :class:`MeshRenderer` whose forward returns ``(images, fragments)``."""

    def forward(self, meshes_world, **kwargs) -> tuple[torch.Tensor, Fragments]:
        """(N, H, W, C) images and the rasteriser's fragments (at S H x S W with antialias S)."""
        return self._render(meshes_world, **kwargs)


def _check_antialias(factor) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise InputError(f"MeshRenderer: antialias must be an int >= 1, got {factor!r}")
    return factor
