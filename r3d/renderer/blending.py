"""Blending the K fragments of each pixel into an RGBA image (PyTorch3D's functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.structures.fragments import Fragments

__all__ = ["BlendParams", "hard_rgb_blend", "sigmoid_alpha_blend", "softmax_rgb_blend"]


class BlendParams(NamedTuple):
    """Parameters of the soft blending functions.

    Attributes:
        sigma: sharpness of the coverage probability ``sigmoid(-dist / sigma)`` of a face.
        gamma: temperature of the depth softmax (small: the nearest face wins).
        background_color: RGB (3 numbers or a (3,) tensor) where no face covers a pixel.
    """

    sigma: float = 1e-4
    gamma: float = 1e-4
    background_color: Sequence[float] | torch.Tensor = (1.0, 1.0, 1.0)


def _check(op: str, colors: torch.Tensor, fragments: Fragments) -> None:
    shape = tuple(fragments.pix_to_face.shape)
    if not isinstance(colors, torch.Tensor) or tuple(colors.shape[:-1]) != shape:
        raise InputError(
            f"{op}: colors must be a tensor of shape {shape + ('C',)} (pix_to_face's shape and "
            f"channels), got {describe(colors)}"
        )


def _background(op: str, blend_params: BlendParams, colors: torch.Tensor) -> torch.Tensor:
    """(C,) background colour of colors' dtype and device."""
    bg = torch.as_tensor(blend_params.background_color, dtype=colors.dtype, device=colors.device)
    if bg.shape != colors.shape[-1:]:
        raise InputError(
            f"{op}: blend_params.background_color must have {colors.shape[-1]} values like "
            f"colors' channels, got shape {tuple(bg.shape)}"
        )
    return bg


def _coverage(fragments: Fragments, sigma: float) -> torch.Tensor:
    """(N, H, W, K) probability that each fragment's face covers its pixel: 0 in empty slots."""
    return torch.sigmoid(-fragments.dists / sigma) * (fragments.pix_to_face >= 0)


def _with_alpha(rgb: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return torch.cat([rgb, alpha[..., None]], dim=-1)


def hard_rgb_blend(
    colors: torch.Tensor, fragments: Fragments, blend_params: BlendParams = BlendParams()
) -> torch.Tensor:
    """The nearest fragment's colour; the background colour where a pixel has no face.

    Args:
        colors: (N, H, W, K, C) colours of the fragments.
        fragments: their fragments.
        blend_params: background_color is used.
    Returns:
        (N, H, W, C + 1): colour and alpha (1 where covered, 0 elsewhere).
    """
    op = "hard_rgb_blend"
    _check(op, colors, fragments)
    covered = fragments.pix_to_face[..., 0] >= 0
    rgb = torch.where(covered[..., None], colors[..., 0, :], _background(op, blend_params, colors))
    return _with_alpha(rgb, covered.to(colors.dtype))


def sigmoid_alpha_blend(
    colors: torch.Tensor, fragments: Fragments, blend_params: BlendParams = BlendParams()
) -> torch.Tensor:
    """Soft silhouette: alpha = 1 - prod_k (1 - sigmoid(-dists_k / sigma)) (SoftRas).

    Args:
        colors: (N, H, W, K, C) colours of the fragments.
        fragments: their fragments; dists must not be None.
        blend_params: sigma is used.
    Returns:
        (N, H, W, C + 1): the nearest fragment's colour and the soft alpha.
    """
    _check("sigmoid_alpha_blend", colors, fragments)
    alpha = 1.0 - torch.prod(1.0 - _coverage(fragments, blend_params.sigma), dim=-1)
    return _with_alpha(colors[..., 0, :], alpha)


def softmax_rgb_blend(
    colors: torch.Tensor,
    fragments: Fragments,
    blend_params: BlendParams = BlendParams(),
    znear: float | torch.Tensor = 1.0,
    zfar: float | torch.Tensor = 100.0,
) -> torch.Tensor:
    """Soft rasteriser blending (Liu et al. 2019): each fragment's colour weighted by its
    coverage probability times ``exp(z_inv / gamma)``, with ``z_inv = (zfar - z) / (zfar -
    znear)``, plus the background with weight ``exp(eps / gamma)``; weights are normalised and
    shifted by the largest z_inv for stability. Alpha as :func:`sigmoid_alpha_blend`.

    Args:
        colors: (N, H, W, K, C) colours of the fragments.
        fragments: their fragments (zbuf and dists are used).
        blend_params: sigma, gamma and background_color.
        znear, zfar: numbers or (N,) tensors: the depth range.
    Returns:
        (N, H, W, C + 1) colour and alpha.
    """
    op = "softmax_rgb_blend"
    _check(op, colors, fragments)
    eps = 1e-10
    n = colors.shape[0]
    znear = torch.as_tensor(znear, dtype=colors.dtype, device=colors.device).reshape(-1, 1, 1, 1)
    zfar = torch.as_tensor(zfar, dtype=colors.dtype, device=colors.device).reshape(-1, 1, 1, 1)
    if len(znear) not in (1, n) or len(zfar) not in (1, n):
        raise InputError(f"{op}: znear and zfar must be numbers or ({n},) tensors")
    mask = fragments.pix_to_face >= 0
    prob = _coverage(fragments, blend_params.sigma)
    alpha = 1.0 - torch.prod(1.0 - prob, dim=-1)
    z_inv = (zfar - fragments.zbuf) / (zfar - znear) * mask
    z_inv_max = z_inv.max(dim=-1, keepdim=True).values.clamp(min=eps)
    weights = prob * torch.exp((z_inv - z_inv_max) / blend_params.gamma)
    delta = torch.exp((eps - z_inv_max) / blend_params.gamma).clamp(min=eps)
    denom = weights.sum(dim=-1, keepdim=True) + delta
    rgb = (weights[..., None] * colors).sum(dim=-2) + delta * _background(op, blend_params, colors)
    return _with_alpha(rgb / denom, alpha)
