"""Grouping rows by an integer key (compressed sparse rows) and the scatter-add built on it.

A scatter-add ``out[keys[m]] += values[m]`` needs atomics when run in parallel over m. Grouping
the positions m by key first (a CSR: ``ptr``, ``order``) lets every output row sum its own
inputs instead, which the native gather-sum kernel does on the CPU and on CUDA alike.
"""

from __future__ import annotations

import torch

from r3d._native import core
from r3d._native import graph as graph_bridge
from r3d._native.library import native_op


def group_by_torch(keys: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`group_by` (any device)."""
    order = torch.argsort(keys, stable=True)
    counts = torch.bincount(keys, minlength=num_rows)
    ptr = torch.cat([counts.new_zeros((1,)), torch.cumsum(counts, 0)])
    return ptr, order


def group_by(keys: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Groups the positions of ``keys`` by key.

    A native counting sort on the CPU, a torch sort elsewhere (fast on GPUs).

    Args:
        keys: (M,) int64 in [0, num_rows).
        num_rows: R, the number of possible keys.
    Returns:
        ptr (R + 1,) int64 and order (M,) int64: ``order[ptr[r]:ptr[r + 1]]`` are the positions
        m with ``keys[m] == r``, ascending.
    """
    if keys.device.type == "cpu" and core.has_native(keys.device):
        return group_by_key_op(keys.contiguous(), num_rows)
    return group_by_torch(keys, num_rows)


@native_op("group_by_key", lambda keys, num_rows: (
    keys.new_empty((num_rows + 1,)), torch.empty_like(keys),
), device_types="cpu")
def group_by_key_op(keys: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Native counting sort (CPU): ptr (R + 1,) and order (M,) as :func:`group_by` returns."""
    return graph_bridge.group_by_key(keys, num_rows)


@native_op("csr_gather_sum", lambda x, ptr, col: x.new_empty((ptr.shape[0] - 1, x.shape[1])))
def csr_gather_sum_op(x: torch.Tensor, ptr: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """Native ``out[i] = x[col[ptr[i]:ptr[i + 1]]].sum(0)``: (R, D) from x (M', D)."""
    return graph_bridge.csr_gather_sum(x.contiguous(), ptr, col)


def scatter_add_rows(values: torch.Tensor, keys: torch.Tensor, num_rows: int) -> torch.Tensor:
    """Native ``zeros(num_rows, D).index_add_(0, keys, values)`` without atomics.

    Args:
        values: (M, D) float32/float64 on a device with native kernels.
        keys: (M,) int64 in [0, num_rows), same device.
    Returns:
        (num_rows, D) sums of the rows of ``values`` per key. Not differentiable (for use in
        backward functions).
    """
    ptr, order = group_by(keys, num_rows)
    return csr_gather_sum_op(values, ptr, order)
