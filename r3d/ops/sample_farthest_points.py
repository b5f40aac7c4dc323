"""Farthest point sampling of batches of point clouds of different sizes.

``sample_farthest_points`` follows PyTorch3D's signature and outputs. On the CPU and CUDA it
runs native kernels (CPU: clouds in parallel, or a cloud's points shared among threads at each
step; CUDA: a block per cloud), elsewhere :func:`sample_farthest_points_torch`, pure PyTorch
vectorised across the batch (one loop over the K selection steps), which is also the test
oracle. Both draw random start points the same way, so a generator seeded alike gives the same
samples on either path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from r3d._checks import describe
from r3d._native import sample_farthest_points as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.ops.ball_query import masked_gather
from r3d.ops.clouds import check_points, valid_points, zero_padding


def _per_cloud_k(
    op: str, K: int | Sequence[int] | torch.Tensor, N: int, device: torch.device
) -> tuple[torch.Tensor, int]:
    """K as an (N,) int64 tensor of positive sample counts on ``device``, and the output width
    (the largest K; read from the device only when K is a tensor there)."""
    if isinstance(K, torch.Tensor) and not K.is_floating_point() and not K.is_complex() \
            and K.dtype != torch.bool:
        values = K.reshape(-1).tolist() if K.shape == (N,) else None
    elif isinstance(K, int) and not isinstance(K, bool):
        values = [K] * N
    elif isinstance(K, (list, tuple)) and all(
        isinstance(k, int) and not isinstance(k, bool) for k in K
    ):
        values = list(K) if len(K) == N else None
    else:
        raise InputError(
            f"{op}: K must be an int, a list of ints or an integer tensor, got {describe(K)}"
        )
    if values is None:
        shape = tuple(K.shape) if isinstance(K, torch.Tensor) else (len(K),)
        raise InputError(f"{op}: K must be an int or hold {N} values, got shape {shape}")
    if N and min(values) < 1:
        raise InputError(f"{op}: K must be positive, got {values}")
    if isinstance(K, torch.Tensor):
        k = K.to(device=device, dtype=torch.int64)
    elif isinstance(K, int):
        k = torch.full((N,), K, dtype=torch.int64, device=device)
    else:
        k = torch.tensor(values, dtype=torch.int64, device=device)
    return k, max(values) if N else (K if isinstance(K, int) else 0)


def _start_indices(
    lengths: torch.Tensor, random_start: bool, generator: torch.Generator | None
) -> torch.Tensor:
    """(N,) int64 first sample of each cloud: 0, or uniform in [0, lengths[n])."""
    if not random_start:
        return torch.zeros_like(lengths)
    device = lengths.device if generator is None else generator.device
    u = torch.rand(lengths.shape, generator=generator, dtype=torch.float64, device=device)
    start = (u.to(lengths.device) * lengths).long()
    return torch.minimum(start, (lengths - 1).clamp(min=0))


def _prepare(
    points: torch.Tensor,
    lengths: torch.Tensor | None,
    K: int | Sequence[int] | torch.Tensor,
    random_start_point: bool,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, int, torch.Tensor]:
    """Checks a call; returns lengths (N,), K as (N,) int64, the output width max_k and the
    (N,) int64 start points, all on points' device."""
    op = "sample_farthest_points"
    lengths = check_points(op, "points", points, lengths)
    N = points.shape[0]
    k, max_k = _per_cloud_k(op, K, N, points.device)
    with torch.no_grad():
        start = _start_indices(lengths, random_start_point, generator)
    return lengths, k, max_k, start


def sample_farthest_points_torch(
    points: torch.Tensor,
    lengths: torch.Tensor | None = None,
    K: int | Sequence[int] | torch.Tensor = 50,
    random_start_point: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pure-PyTorch :func:`sample_farthest_points` (any device)."""
    lengths, k, max_k, current = _prepare(points, lengths, K, random_start_point, generator)
    N, P, _ = points.shape
    counts = torch.minimum(k, lengths)
    idx = torch.full((N, max_k), -1, dtype=torch.int64, device=points.device)
    steps = int(counts.max()) if N else 0
    with torch.no_grad():
        pts = zero_padding(points.detach(), lengths)  # a padded NaN never wins an argmax
        valid = valid_points(lengths, P)
        # Squared distance to the nearest sample; -inf keeps padding from being chosen.
        closest = torch.where(valid, float("inf"), float("-inf")).to(pts.dtype)
        batch = torch.arange(N, device=points.device)
        for i in range(steps):
            idx[:, i] = torch.where(i < counts, current, -1)
            if i + 1 < steps:
                diff = pts - pts[batch, current][:, None, :]
                closest = torch.minimum(closest, (diff * diff).sum(-1))
                current = closest.argmax(dim=1)
    return masked_gather(points, idx[:, :, None])[:, :, 0], idx


@native_op("sample_farthest_points", lambda points, lengths, k, start, max_k: lengths.new_empty(
    (points.shape[0], max_k)))
def farthest_points_op(
    points: torch.Tensor, lengths: torch.Tensor, k: torch.Tensor, start: torch.Tensor, max_k: int
) -> torch.Tensor:
    """Native farthest point sampling: (N, max_k) int64 indices, -1 in empty slots."""
    return bridge.sample_farthest_points_indices(points, lengths, k, start, max_k)


def sample_farthest_points(
    points: torch.Tensor,
    lengths: torch.Tensor | None = None,
    K: int | Sequence[int] | torch.Tensor = 50,
    random_start_point: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Iterative farthest point sampling.

    Each cloud's first sample is its point 0 (or a random point); each next sample is the point
    whose squared distance to the nearest sample so far is largest (ties: the lowest index).

    Args:
        points: (N, P, D) float clouds.
        lengths: (N,) int64 numbers of valid points of each cloud (None: all P).
        K: samples per cloud: an int, or N ints as a list or an (N,) integer tensor.
        random_start_point: start each cloud from a uniformly random point instead of point 0.
        generator: optional torch.Generator for the random start points.
    Returns:
        selected_points: (N, max K, D), differentiable w.r.t. points.
        selected_indices: (N, max K) int64 indices into each cloud. A cloud with fewer points
        than its K gets all of them (in sampling order); empty slots hold index -1 and point 0.
    """
    if not (isinstance(points, torch.Tensor) and use_native(points, "sample_farthest_points")):
        return sample_farthest_points_torch(
            points, lengths, K, random_start_point, generator=generator
        )
    lengths, k, max_k, start = _prepare(points, lengths, K, random_start_point, generator)
    idx = in_float32(
        farthest_points_op, points.detach().contiguous(), lengths.contiguous(), k, start, max_k
    )
    return masked_gather(points, idx[:, :, None])[:, :, 0], idx
