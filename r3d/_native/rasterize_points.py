"""Bridge to the native kernels of rasterize_points: checks every tensor, allocates the outputs and
launches the CPU or CUDA launcher of ``r3d._C`` on raw pointers."""

from __future__ import annotations

import torch

from r3d._native.core import DTYPE_NAMES, addr, check, check_float, emulated, launch
from r3d.errors import InputError
from r3d.value_checks import checked_range, checked_segments


def _check_point_raster_settings(op: str, settings: tuple) -> tuple[int, int, int, int]:
    """Checks the (N, H, W, K) tuple of a rasterize_points call."""
    if (
        not isinstance(settings, tuple)
        or len(settings) != 4
        or any(isinstance(v, bool) or not isinstance(v, int) for v in settings)
    ):
        raise InputError(f"{op}: settings must be a tuple of 4 ints (N, H, W, K), got {settings!r}")
    N, H, W, K = settings
    if min(N, H, W) < 0 or K < 1:
        raise InputError(f"{op}: settings must have N, H, W >= 0 and K >= 1, got {settings}")
    return settings


def rasterize_points_forward(
    points: torch.Tensor,
    radius: torch.Tensor,
    cloud_to_packed_first_idx: torch.Tensor,
    num_points_per_cloud: torch.Tensor,
    settings: tuple,
    bin_size: int,
    emulate_cuda: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native point-cloud rasterisation.

    The kernels stay in bounds whatever the values of points and radius (a NaN point or radius
    hits nothing); the caller rejects non-finite ones.

    Args:
        points: (P, 3) float32/float64 packed points (NDC x, y; view depth z).
        radius: (P,) of points' dtype, each point's radius in NDC units.
        cloud_to_packed_first_idx, num_points_per_cloud: (N,) int64: cloud n's points are
            [first[n], first[n] + num[n]), within [0, P].
        settings: (N, H, W, K).
        bin_size: side of the screen bins in pixels (0: chosen by the launcher; one covering
            the image: every pixel against every point). The CUDA launcher's bins are 8, 16 or
            32 pixels a side: it rounds bin_size down to one of them.
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        idx (N, H, W, K) int64, zbuf (N, H, W, K) and dists (N, H, W, K) of points' dtype.
    """
    op = "rasterize_points"
    N, H, W, K = _check_point_raster_settings(op, settings)
    check_float(op, "points", points, (None, 3))
    device, P = points.device, points.shape[0]
    check(op, "radius", radius, points.dtype, (P,), device)
    check(op, "cloud_to_packed_first_idx", cloud_to_packed_first_idx, torch.int64, (N,), device)
    check(op, "num_points_per_cloud", num_points_per_cloud, torch.int64, (N,), device)
    cloud_to_packed_first_idx, num_points_per_cloud = checked_segments(
        op, ("cloud_to_packed_first_idx", "num_points_per_cloud"), cloud_to_packed_first_idx,
        num_points_per_cloud, P,
    )
    if isinstance(bin_size, bool) or not isinstance(bin_size, int) or bin_size < 0:
        raise InputError(f"{op}: bin_size must be an int >= 0, got {bin_size!r}")
    idx = torch.empty((N, H, W, K), dtype=torch.int64, device=device)
    zbuf = points.new_empty((N, H, W, K))
    dists = points.new_empty((N, H, W, K))
    if idx.numel():
        launch(
            emulated(op, "rasterize_points_forward", device, emulate_cuda), device,
            DTYPE_NAMES[points.dtype], addr(points),
            addr(radius), addr(cloud_to_packed_first_idx), addr(num_points_per_cloud),
            tuple(settings), bin_size, addr(idx), addr(zbuf), addr(dists),
        )
    return idx, zbuf, dists


def rasterize_points_backward(
    points: torch.Tensor,
    idx: torch.Tensor,
    grad_zbuf: torch.Tensor,
    grad_dists: torch.Tensor,
    settings: tuple,
    emulate_cuda: bool = False,
) -> torch.Tensor:
    """Native backward of :func:`rasterize_points_forward`.

    Args:
        points: (P, 3) as in the forward; settings: as in the forward.
        idx: (N, H, W, K) int64 in [-1, P), the forward's points.
        grad_zbuf, grad_dists: (N, H, W, K) of points' dtype.
        emulate_cuda: run the CUDA launcher's schedule on the CPU (tests; CPU tensors only).
    Returns:
        (P, 3): the gradient w.r.t. the points.
    """
    op = "rasterize_points backward"
    N, H, W, K = _check_point_raster_settings(op, settings)
    check_float(op, "points", points, (None, 3))
    device, dtype, P = points.device, points.dtype, points.shape[0]
    check(op, "idx", idx, torch.int64, (N, H, W, K), device)
    idx = checked_range(op, "idx", idx, -1, P)
    check(op, "grad_zbuf", grad_zbuf, dtype, (N, H, W, K), device)
    check(op, "grad_dists", grad_dists, dtype, (N, H, W, K), device)
    grad_points = torch.zeros_like(points)
    if idx.numel() and P:
        launch(
            emulated(op, "rasterize_points_backward", device, emulate_cuda), device,
            DTYPE_NAMES[dtype], addr(points), addr(idx),
            addr(grad_zbuf), addr(grad_dists), tuple(settings), P, addr(grad_points),
        )
    return grad_points

