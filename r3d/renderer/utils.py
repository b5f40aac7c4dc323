"""Helpers of PyTorch3D's ``pytorch3d.renderer.utils``: ``TensorProperties`` (defined in
:mod:`r3d.renderer.properties`), broadcasting camera-style arguments to
one batch size, and sampling images at NDC locations with ``grid_sample``.

NDC is PyTorch3D's (see :mod:`r3d.renderer.cameras`): +X left, +Y up, the shorter image side
spans [-1, 1] and the longer one [-u, u] with u = longer / shorter. ``grid_sample`` puts -1 and 1
at the left and right (top and bottom) edges of the image whatever its aspect ratio.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.properties import TensorAccessor, TensorProperties
from r3d.transforms._common import broadcast_batch

__all__ = [
    "TensorAccessor",
    "TensorProperties",
    "convert_to_tensors_and_broadcast",
    "ndc_grid_sample",
    "ndc_to_grid_sample_coords",
]


def _batched_tensor(op: str, value: object, dtype: torch.dtype, device) -> torch.Tensor:
    """value as a tensor on device with a leading batch dimension: a number becomes (1,), a
    tensor keeps its dtype, anything else becomes a tensor of ``dtype``."""
    if not isinstance(value, torch.Tensor):
        try:
            value = torch.tensor(value, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as err:
            raise InputError(
                f"{op}: every argument must be a number, a sequence of numbers or a tensor, got "
                f"{describe(value)}"
            ) from err
    value = value.to(device)
    return value.reshape(1) if value.dim() == 0 else value


def convert_to_tensors_and_broadcast(
    *args: object, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"
) -> list[torch.Tensor]:
    """Arguments as tensors with one batch size N.

    Args:
        args: each a number, a sequence of numbers or a tensor: a number or 0-d tensor counts
            as (1,), otherwise the first dimension is the batch (1 or N; 1 broadcasts).
        dtype: of the tensors made from numbers and sequences (tensors keep theirs).
        device: where every result lies.
    Returns:
        list of tensors of shapes (N, *K_i), K_i the trailing shape of argument i (expanded
        views where the argument had a batch of 1).
    """
    op = "convert_to_tensors_and_broadcast"
    tensors = [_batched_tensor(op, a, dtype, device) for a in args]
    n = broadcast_batch(op, "the batch sizes of the arguments", [len(t) for t in tensors])
    return [t.expand(n, *t.shape[1:]) for t in tensors]


def ndc_to_grid_sample_coords(
    xy_ndc: torch.Tensor, image_size_hw: Sequence[int]
) -> torch.Tensor:
    """NDC (x, y) to ``torch.nn.functional.grid_sample``'s coordinates of an image.

    Both axes flip (NDC's +X is left and +Y up) and the coordinate along the longer side is
    divided by longer / shorter, so the image's edges go to -1 and 1.

    Args:
        xy_ndc: (..., 2) NDC points.
        image_size_hw: (height, width), positive.
    Returns:
        (..., 2) grid_sample coordinates (a new tensor).
    """
    if len(image_size_hw) != 2 or any(int(s) <= 0 for s in image_size_hw):
        raise InputError(
            "ndc_to_grid_sample_coords: image_size_hw must be 2 positive integers (height, "
            f"width), got {describe(image_size_hw)}"
        )
    height, width = (int(s) for s in image_size_hw)
    aspect = min(height, width) / max(height, width)
    scale = (1.0, aspect) if height >= width else (aspect, 1.0)
    return -xy_ndc * xy_ndc.new_tensor(scale)


def ndc_grid_sample(
    input: torch.Tensor,
    grid_ndc: torch.Tensor,
    *,
    align_corners: bool = False,
    **grid_sample_kwargs,
) -> torch.Tensor:
    """Samples images at NDC locations with ``torch.nn.functional.grid_sample``.

    Args:
        input: (B, C, H, W) images.
        grid_ndc: (B, ..., 2) NDC (x, y) locations.
        align_corners: passed to grid_sample.
        grid_sample_kwargs: other grid_sample arguments (mode, padding_mode).
    Returns:
        (B, C, ...) the samples.
    """
    op = "ndc_grid_sample"
    if not isinstance(input, torch.Tensor) or input.dim() != 4:
        raise InputError(f"{op}: input must be a tensor of shape (B, C, H, W), got "
                         f"{describe(input)}")
    if not isinstance(grid_ndc, torch.Tensor) or grid_ndc.dim() < 2 or grid_ndc.shape[-1] != 2:
        raise InputError(f"{op}: grid_ndc must be a tensor of shape (B, ..., 2), got "
                         f"{describe(grid_ndc)}")
    batch, *spatial, _ = grid_ndc.shape
    if batch != input.shape[0]:
        raise InputError(
            f"{op}: input and grid_ndc must have the same batch size, got {input.shape[0]} and "
            f"{batch}"
        )
    grid = ndc_to_grid_sample_coords(grid_ndc.reshape(batch, -1, 1, 2), input.shape[2:])
    samples = F.grid_sample(input, grid, align_corners=align_corners, **grid_sample_kwargs)
    return samples.reshape(batch, input.shape[1], *spatial)
