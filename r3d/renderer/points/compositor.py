"""Compositors: the modules that turn the fragments of a point rasteriser into images
(PyTorch3D's ``AlphaCompositor`` and ``NormWeightedCompositor``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.points.compositing import alpha_composite, norm_weighted_sum

__all__ = ["AlphaCompositor", "NormWeightedCompositor"]

BackgroundColor = Sequence[float] | torch.Tensor | float | None


def add_background(
    op: str, pointsidx: torch.Tensor, images: torch.Tensor, background_color: BackgroundColor
) -> torch.Tensor:
    """Gives the background colour to the pixels whose nearest slot is empty (PyTorch3D's rule).

    Args:
        op: the caller's name, for error messages.
        pointsidx: (N, K, H, W) int64 point indices, -1 where empty.
        images: (N, C, H, W) composited images.
        background_color: None (images returned as they are), a number (every channel), or C
            values, or C - 1 values to which an alpha of 1 is appended (RGB for RGBA images).
    Returns:
        (N, C, H, W) images, the background colour where pointsidx[:, 0] is -1 (every pixel
        when K = 0), unchanged elsewhere.
    """
    if background_color is None:
        return images
    C = images.shape[1]
    try:
        color = torch.as_tensor(background_color, dtype=images.dtype, device=images.device)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"{op}: background_color must be a number or a sequence of {C} or {C - 1} numbers, "
            f"got {describe(background_color)}"
        ) from exc
    if color.dim() == 0:
        color = color.expand(C)
    if color.dim() == 1 and color.shape[0] == C - 1:
        color = torch.cat([color, color.new_ones(1)])
    if color.shape != (C,):
        raise InputError(
            f"{op}: background_color must have {C} values (the images' channels) or {C - 1} "
            f"(an alpha of 1 is then appended), got shape {tuple(color.shape)}"
        )
    empty = (pointsidx[:, :1] < 0).all(dim=1, keepdim=True)  # (N, 1, H, W)
    return torch.where(empty, color[:, None, None], images)


class _Compositor(torch.nn.Module):
    _op: str
    _composite: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, background_color: BackgroundColor = None) -> None:
        super().__init__()
        self.background_color = background_color

    def forward(
        self, fragments: torch.Tensor, alphas: torch.Tensor, ptclds: torch.Tensor, **kwargs
    ) -> torch.Tensor:
        """(N, C, H, W) images.

        Args:
            fragments: (N, K, H, W) int64 packed point indices, nearest first, -1 where empty.
            alphas: (N, K, H, W) float weight of each slot.
            ptclds: (C, P) float features of the packed points.
            background_color: overrides the module's background colour for this call; other
                keyword arguments are ignored.
        """
        images = self._composite(fragments, alphas, ptclds)
        background_color = kwargs.get("background_color", self.background_color)
        return add_background(self._op, fragments, images, background_color)


class AlphaCompositor(_Compositor):
    """Composites the points of each pixel front to back with
    :func:`r3d.renderer.points.alpha_composite`.

    Args:
        background_color: None, a number, or C (or C - 1, alpha 1 appended) values given to the
            pixels whose nearest slot is empty. As in PyTorch3D, pixels covered by a point keep
            their composited value: the background does not show through partly transparent
            points. For an "over" background, composite RGBA features whose alpha channel is 1
            and add ``(1 - image[:, 3:]) * background`` to the RGB channels.
    """

    _op = "AlphaCompositor"
    _composite = staticmethod(alpha_composite)


class NormWeightedCompositor(_Compositor):
    """Averages the points of each pixel with :func:`r3d.renderer.points.norm_weighted_sum`.

    Args:
        background_color: None, a number, or C (or C - 1, alpha 1 appended) values given to the
            pixels whose nearest slot is empty.
    """

    _op = "NormWeightedCompositor"
    _composite = staticmethod(norm_weighted_sum)
