"""Conversions between packed (P, D) rows and padded (N, M, D) batches."""

from __future__ import annotations

import math

import torch

from r3d._checks import check_index_vector, check_same_device, segment_lengths
from r3d._native import packed_padded as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError


def _check_float(op: str, inputs: object) -> None:
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point():
        got = inputs.dtype if isinstance(inputs, torch.Tensor) else type(inputs).__name__
        raise InputError(f"{op}: inputs must be a floating-point tensor, got {got}")


def _rows(x: torch.Tensor, lead: int) -> torch.Tensor:
    """``x`` with its dims after the first ``lead`` flattened into one: (*lead dims, D)."""
    return x.reshape(*x.shape[:lead], math.prod(x.shape[lead:]))


def _segments(
    op: str, first_idxs: torch.Tensor, num_packed: int, max_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch index and position within its segment of every packed row: two (P,) tensors."""
    lengths = segment_lengths(op, first_idxs, num_packed, max_size)
    batch = torch.repeat_interleave(
        torch.arange(first_idxs.shape[0], device=first_idxs.device), lengths
    )
    pos = torch.arange(num_packed, device=first_idxs.device) - first_idxs[batch]
    return batch, pos


def packed_to_padded(
    inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int
) -> torch.Tensor:
    """Scatters packed rows into a zero-padded batch.

    Args:
        inputs: (P,) or (P, *D) float tensor (any trailing dims); segment b is rows
            first_idxs[b]:first_idxs[b+1].
        first_idxs: (N,) int64, starting at 0 and non-decreasing.
        max_size: M, at least the longest segment.
    Returns:
        (N, M) or (N, M, *D) tensor, zero past each segment's end. Differentiable.
    """
    op = "packed_to_padded"
    _check_float(op, inputs)
    if inputs.dim() == 0:
        raise InputError(f"{op}: inputs must have at least 1 dimension (P, ...), got a scalar")
    check_index_vector(op, "first_idxs", first_idxs)
    check_same_device(op, inputs=inputs, first_idxs=first_idxs)
    rows = _rows(inputs, 1)
    if use_native(rows, op):
        out = in_float32(packed_to_padded_op, rows, first_idxs.contiguous(), int(max_size))
    else:
        out = packed_to_padded_torch(rows, first_idxs, int(max_size))
    return out.reshape(*out.shape[:2], *inputs.shape[1:])


def padded_to_packed(
    inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int, max_size_dim: int = 1
) -> torch.Tensor:
    """Gathers the valid rows of a padded batch into packed rows (inverse of packed_to_padded).

    Args:
        inputs: (N, M) or (N, M, *D) float tensor (any trailing dims); with ``max_size_dim``
            the padded axis M may sit elsewhere: (N, ..., M, ...).
        first_idxs: (N,) int64, start of each item in the packed output.
        num_inputs: P, the number of packed rows.
        max_size_dim: the axis of M (PyTorch3D's argument); negative counts from the end.
    Returns:
        (P,) or (P, *D) tensor, D the other axes of inputs in their order. Differentiable.
    """
    op = "padded_to_packed"
    _check_float(op, inputs)
    if isinstance(max_size_dim, bool) or not isinstance(max_size_dim, int) \
            or not -inputs.dim() < max_size_dim < inputs.dim() \
            or max_size_dim % inputs.dim() == 0:
        raise InputError(
            f"{op}: max_size_dim must be an axis of inputs other than the batch axis 0, got "
            f"{max_size_dim!r} for inputs of shape {tuple(inputs.shape)}"
        )
    moved = inputs.movedim(max_size_dim, 1)
    check_index_vector(op, "first_idxs", first_idxs)
    check_same_device(op, inputs=inputs, first_idxs=first_idxs)
    if first_idxs.shape[0] != moved.shape[0]:
        raise InputError(
            f"{op}: inputs has {moved.shape[0]} batch items but first_idxs has "
            f"{first_idxs.shape[0]}"
        )
    rows = _rows(moved, 2)
    if use_native(rows, op):
        out = in_float32(padded_to_packed_op, rows, first_idxs.contiguous(), int(num_inputs))
    else:
        out = padded_to_packed_torch(rows, first_idxs, int(num_inputs))
    return out.reshape(out.shape[0], *moved.shape[2:])


def packed_to_padded_torch(
    inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int
) -> torch.Tensor:
    """Pure-PyTorch packed_to_padded on (P, D) inputs; returns (N, M, D)."""
    batch, pos = _segments("packed_to_padded", first_idxs, inputs.shape[0], max_size)
    out = inputs.new_zeros((first_idxs.shape[0], max_size, inputs.shape[1]))
    return out.index_put((batch, pos), inputs)


def padded_to_packed_torch(
    inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int
) -> torch.Tensor:
    """Pure-PyTorch padded_to_packed on (N, M, D) inputs; returns (P, D)."""
    batch, pos = _segments("padded_to_packed", first_idxs, num_inputs, inputs.shape[1])
    return inputs[batch, pos]


@native_op("packed_to_padded", lambda inputs, first_idxs, max_size: inputs.new_empty(
    (first_idxs.shape[0], max_size, inputs.shape[1])))
def packed_to_padded_op(
    inputs: torch.Tensor, first_idxs: torch.Tensor, max_size: int
) -> torch.Tensor:
    """Native packed_to_padded on (P, D) inputs; returns (N, M, D) (twice differentiable)."""
    return bridge.packed_to_padded(inputs.contiguous(), first_idxs, max_size)


@native_op("padded_to_packed", lambda inputs, first_idxs, num_inputs: inputs.new_empty(
    (num_inputs, inputs.shape[2])))
def padded_to_packed_op(
    inputs: torch.Tensor, first_idxs: torch.Tensor, num_inputs: int
) -> torch.Tensor:
    """Native padded_to_packed on (N, M, D) inputs; returns (P, D) (twice differentiable)."""
    return bridge.padded_to_packed(inputs.contiguous(), first_idxs, num_inputs)


def _setup_packed_to_padded(ctx, inputs, output) -> None:
    ctx.save_for_backward(inputs[1])
    ctx.num_inputs = inputs[0].shape[0]


def _setup_padded_to_packed(ctx, inputs, output) -> None:
    ctx.save_for_backward(inputs[1])
    ctx.max_size = inputs[0].shape[1]


packed_to_padded_op.register_autograd(
    lambda ctx, grad: (padded_to_packed_op(grad, ctx.saved_tensors[0], ctx.num_inputs), None,
                       None),
    setup_context=_setup_packed_to_padded,
)
padded_to_packed_op.register_autograd(
    lambda ctx, grad: (packed_to_padded_op(grad, ctx.saved_tensors[0], ctx.max_size), None,
                       None),
    setup_context=_setup_padded_to_packed,
)
