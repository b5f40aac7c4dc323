"""Bridge to the native kernels of the graph ops (grouping rows by key, CSR gather-sum for
GraphConv): checks every tensor, allocates the outputs and launches the CPU or CUDA launcher of
``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, launch, module
from r3d.errors import InputError
from r3d.value_checks import checked_csr_ptr, checked_range


def group_by_key(keys: torch.Tensor, num_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Native stable counting sort of CPU keys (CUDA callers sort with torch).

    Args:
        keys: (M,) int64 in [0, num_rows), on the CPU, contiguous.
        num_rows: R, the number of distinct keys possible.
    Returns:
        ptr (R + 1,) int64, the start of each key's run in ``order``, and order (M,) int64, the
        positions of ``keys`` sorted by key (ties in their original order).
    """
    op = "group_by_key"
    check(op, "keys", keys, torch.int64, (None,), torch.device("cpu"))
    if num_rows < 0:
        raise InputError(f"{op}: num_rows must be >= 0, got {num_rows}")
    keys = checked_range(op, "keys", keys, 0, num_rows)
    ptr = torch.empty((num_rows + 1,), dtype=torch.int64)
    order = torch.empty_like(keys)
    module().group_by_key_cpu(addr(keys), keys.shape[0], num_rows, addr(ptr), addr(order))
    return ptr, order


def csr_gather_sum(x: torch.Tensor, ptr: torch.Tensor, col: torch.Tensor) -> torch.Tensor:
    """Native CSR gather-sum: ``out[i] = x[col[ptr[i]:ptr[i + 1]]].sum(0)``.

    Args:
        x: (R, D) float32/float64, contiguous.
        ptr: (V + 1,) int64, starting at 0, non-decreasing, ending at M, same device.
        col: (M,) int64 in [0, R), same device.
    Returns:
        out (V, D) of x's dtype.
    """
    op = "gather_scatter"
    check_float(op, "x", x, (None, None))
    check(op, "ptr", ptr, torch.int64, (None,), x.device)
    check(op, "col", col, torch.int64, (None,), x.device)
    if ptr.shape[0] < 1:
        raise InputError(f"{op}: ptr must have at least one entry, got shape (0,)")
    ptr = checked_csr_ptr(op, "ptr", ptr, col.shape[0])
    col = checked_range(op, "col", col, 0, x.shape[0])
    rows, dim = ptr.shape[0] - 1, x.shape[1]
    out = x.new_empty((rows, dim))
    if rows and dim:
        launch(
            "csr_gather_sum", x.device, DTYPE_NAMES[x.dtype], addr(x), addr(ptr), addr(col),
            rows, dim, addr(out),
        )
    else:
        out.zero_()
    return out

