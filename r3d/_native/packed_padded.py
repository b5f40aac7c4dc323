"""Bridge to the native kernels of packed_to_padded and padded_to_packed: checks every tensor,
allocates the outputs and launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._checks import segment_lengths
from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch


def _check_first_idxs(
    op: str, first_idxs: torch.Tensor, device: torch.device, num_packed: int, max_size: int
) -> None:
    check(op, "first_idxs", first_idxs, torch.int64, (None,), device)
    segment_lengths(op, first_idxs, num_packed, max_size)


def packed_to_padded(
    inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int, fill: float = 0.0
) -> torch.Tensor:
    """Native packed -> padded copy.

    Args:
        inputs: (P, D) float32/float64, contiguous.
        first_idxs: (N,) int64, start of each segment in ``inputs``.
        max_size: padded length M, at least the longest segment.
        fill: value written past each segment's end.
    Returns:
        (N, M, D) tensor.
    """
    op = "packed_to_padded"
    check_float(op, "inputs", inputs, (None, None))
    _check_first_idxs(op, first_idxs, inputs.device, inputs.shape[0], max_size)
    num_batches, dim = first_idxs.shape[0], inputs.shape[1]
    out = inputs.new_empty((num_batches, max_size, dim))
    launch(
        "packed_padded", inputs.device, DTYPE_NAMES[inputs.dtype], addr(inputs), addr(out),
        addr(first_idxs), num_batches, max_size, inputs.shape[0], dim, True, fill,
    )
    return out


def padded_to_packed(
    inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int
) -> torch.Tensor:
    """Native padded -> packed copy.

    Args:
        inputs: (N, M, D) float32/float64, contiguous.
        first_idxs: (N,) int64, start of each segment in the packed output.
        num_inputs: P, the number of packed rows.
    Returns:
        (P, D) tensor.
    """
    op = "padded_to_packed"
    check_float(op, "inputs", inputs, (None, None, None))
    check(op, "first_idxs", first_idxs, torch.int64, (inputs.shape[0],), inputs.device)
    _check_first_idxs(op, first_idxs, inputs.device, num_inputs, inputs.shape[1])
    num_batches, max_size, dim = inputs.shape
    out = inputs.new_empty((num_inputs, dim))
    launch(
        "packed_padded", inputs.device, DTYPE_NAMES[inputs.dtype], addr(inputs), addr(out),
        addr(first_idxs), num_batches, max_size, num_inputs, dim, False, 0.0,
    )
    return out

