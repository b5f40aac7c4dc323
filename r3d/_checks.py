"""Validation shared by the native bridge (``r3d._native``) and the pure-PyTorch ops."""

from __future__ import annotations

import math

import torch

from r3d.errors import InputError
from r3d.value_checks import checked_range, checks_now, expect, expect_finite


def describe(x: object) -> str:
    """Short description of a value for error messages: dtype, shape and device of tensors."""
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} tensor of shape {tuple(x.shape)} on {x.device}"
    return type(x).__name__


def check_positive_int(op: str, name: str, value: object) -> int:
    """Returns value, raising InputError unless it is an int >= 1 (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{op}: {name} must be a positive int, got {value!r}")
    return value


def check_positive_float(op: str, name: str, value: object) -> float:
    """Returns value as a float, raising InputError unless it is a finite int or float > 0
    (bools excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise InputError(f"{op}: {name} must be a positive finite number, got {value!r}")
    return float(value)


def check_finite_float(op: str, name: str, value: object) -> float:
    """Returns value as a float, raising InputError unless it is a finite int or float (bools
    excluded)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{op}: {name} must be a finite number, got {value!r}")
    return float(value)


def check_int(op: str, name: str, value: object, minimum: int, optional: bool = False) -> None:
    """Raises InputError unless value is an int >= minimum (bools excluded), or None when
    optional."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        none = " or None" if optional else ""
        raise InputError(f"{op}: {name} must be an int >= {minimum}{none}, got {value!r}")


def check_k_norm(op: str, K: int, norm: int) -> None:
    """Raises InputError unless K is a positive int and norm is 1 or 2 (a KNN search's
    neighbour count and distance)."""
    check_positive_int(op, "K", K)
    if norm not in (1, 2):
        raise InputError(f"{op}: norm must be 1 or 2, got {norm!r}")


def segment_lengths(
    op: str, first_idxs: torch.Tensor, num_packed: int, max_size: int, name: str = "first_idxs"
) -> torch.Tensor:
    """Lengths of the segments that first_idxs cuts packed rows into, after validating them.

    Args:
        first_idxs: (N,) int64: must start at 0, never decrease and stay within num_packed.
        num_packed: P, the number of packed rows.
        max_size: the padded length no segment may exceed.
        name: the argument's name in error messages.
    Returns:
        (N,) int64 lengths.
    """
    if first_idxs.numel() == 0:
        if num_packed:
            raise InputError(f"{op}: {name} is empty but there are {num_packed} packed rows")
        return first_idxs.new_empty((0,))
    ends = torch.cat([first_idxs[1:], first_idxs.new_full((1,), num_packed)])
    lengths = ends - first_idxs
    expect(op, first_idxs[0] == 0, f"{name} must start at 0")
    low, high = torch.aminmax(lengths)
    expect(op, low >= 0, f"{name} must be non-decreasing and at most the number of packed rows "
                         f"({num_packed})")
    expect(op, high <= max_size, f"a segment of {name} is longer than the padded size {max_size}")
    return lengths if checks_now(lengths) else lengths.clamp(0, max_size)


def check_float_points(op: str, name: str, t: torch.Tensor, last_dim: int = 3) -> None:
    """Raises InputError unless ``t`` is a float tensor of shape (..., last_dim), all finite."""
    if not isinstance(t, torch.Tensor):
        raise InputError(f"{op}: {name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise InputError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}")
    if t.dim() < 1 or t.shape[-1] != last_dim:
        raise InputError(f"{op}: {name} must have shape (..., {last_dim}), got {tuple(t.shape)}")
    expect_finite(op, name, t)


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


def check_index_rows(
    op: str, name: str, t: torch.Tensor, width: int, upper: int
) -> torch.Tensor:
    """``t`` after checking that it is an int64 tensor of shape (K, width) with values in
    [0, upper) (InputError otherwise; the values as :func:`checked_range` checks them)."""
    if (
        not isinstance(t, torch.Tensor)
        or t.dtype != torch.int64
        or t.dim() != 2
        or t.shape[1] != width
    ):
        got = f"{t.dtype} {tuple(t.shape)}" if isinstance(t, torch.Tensor) else type(t).__name__
        raise InputError(f"{op}: {name} must be an int64 tensor of shape (K, {width}), got {got}")
    return checked_range(op, name, t, 0, upper)
