"""Choosing between an op's native kernel and its pure-PyTorch implementation."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch

from r3d import _ext
from r3d.errors import InputError

_TORCH_ONLY = contextvars.ContextVar("r3d_torch_only", default=False)


def use_native(t: torch.Tensor) -> bool:
    """True when a native launcher exists for ``t``'s device and dtype and
    :func:`torch_only` is not in effect.

    The pure-PyTorch implementation is used otherwise (other devices such as MPS, other dtypes).
    """
    return not _TORCH_ONLY.get() and _ext.has_native(t.device, t.dtype)


@contextlib.contextmanager
def torch_only() -> Iterator[None]:
    """Within this block every op runs its pure-PyTorch implementation (for comparisons such
    as ``r3d bench``'s whole-pipeline cases)."""
    token = _TORCH_ONLY.set(True)
    try:
        yield
    finally:
        _TORCH_ONLY.reset(token)


def check_float_points(op: str, name: str, t: torch.Tensor, last_dim: int = 3) -> None:
    """Raises InputError unless ``t`` is a float tensor of shape (..., last_dim), all finite."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise InputError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}")
    if t.dim() < 1 or t.shape[-1] != last_dim:
        raise InputError(f"{op}: {name} must have shape (..., {last_dim}), got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise InputError(f"{op}: {name} contains NaN or infinite values")


def check_same_device(op: str, **tensors: torch.Tensor) -> torch.device:
    """Raises InputError unless all tensors are on one device; returns that device."""
    devices = {name: t.device for name, t in tensors.items()}
    first = next(iter(devices.values()))
    if any(d != first for d in devices.values()):
        listing = ", ".join(f"{n} on {d}" for n, d in devices.items())
        raise InputError(f"{op}: inputs must be on one device, got {listing}")
    return first


def check_index_vector(op: str, name: str, t: torch.Tensor) -> None:
    """Raises InputError unless ``t`` is an int64 tensor of shape (N,)."""
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.dim() != 1:
        got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise InputError(f"{op}: {name} must be an int64 tensor of shape (N,), got {got}")


def check_index_rows(op: str, name: str, t: torch.Tensor, width: int, upper: int) -> None:
    """Raises InputError unless ``t`` is an int64 tensor of shape (K, width) in [0, upper)."""
    if (
        not isinstance(t, torch.Tensor)
        or t.dtype != torch.int64
        or t.dim() != 2
        or t.shape[1] != width
    ):
        got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise InputError(f"{op}: {name} must be an int64 tensor of shape (K, {width}), got {got}")
    if t.numel():
        low, high = (int(v) for v in torch.aminmax(t))
        if low < 0 or high >= upper:
            raise InputError(
                f"{op}: {name} has indices in [{low}, {high}], expected them in [0, {upper - 1}]"
            )
