"""Chamfer distance between batches of point clouds of different sizes.

``chamfer_distance`` follows PyTorch3D's signature, semantics and return values. On the CPU, 3D
float32 / float64 clouds with a "mean" or "sum" point reduction and no normals take one fused
native op (:mod:`r3d.loss._chamfer_native`: both directions' kd-tree searches and per-cloud
sums in one call, a native backward); every other call finds nearest neighbours with
:func:`r3d.ops.knn.knn_points` with K=1 (native kd-tree / brute-force kernels, CUDA kernels).
Either way memory stays linear in the number of points: no (P1, P2) distance matrix is built.

Where PyTorch3D silently ignores an argument, r3d raises InputError: lengths or normals passed
with a Pointclouds input, normals passed for one side only. With weights that sum to 0 both
results are zeros, cham_normals too even without normals (as PyTorch3D; but "max" still gives
None), of the usual shapes (PyTorch3D's are (N, N) without a batch reduction).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from r3d._checks import describe
from r3d._native import use_native
from r3d.errors import InputError
from r3d.loss import _chamfer_native as fused_path
from r3d.ops.clouds import check_clouds
from r3d.ops.knn import knn_gather, knn_points
from r3d.structures import Pointclouds

_OP = "chamfer_distance"
_BATCH_REDUCTIONS = (None, "mean", "sum")
_POINT_REDUCTIONS = (None, "mean", "sum", "max")
_COSINE_EPS = 1e-6  # as PyTorch3D's F.cosine_similarity call

# (dists, normals): each a tensor, a (forward, backward) pair of tensors, or None for normals.
Loss = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def chamfer_distance(
    x: torch.Tensor | Pointclouds,
    y: torch.Tensor | Pointclouds,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    x_normals: torch.Tensor | None = None,
    y_normals: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    batch_reduction: str | None = "mean",
    point_reduction: str | None = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
) -> tuple[Loss, Loss | None]:
    """Chamfer distance between the clouds of x and those of y, item by item.

    For each point of x, the distance to its nearest point of y (squared Euclidean for norm=2,
    L1 for norm=1) and, with normals, ``1 - |cos|`` (``1 - cos`` when ``abs_cosine`` is False)
    of the angle between its normal and that neighbour's; then the same from y to x unless
    ``single_directional``. Padded points contribute 0. A point whose other cloud is empty
    has distance 0 and normal term 1.

    Args:
        x: (N, P1, D) float tensor or a Pointclouds (its padded points, lengths and normals are
            used; then x_lengths and x_normals must be None).
        y: (N, P2, D) float tensor or a Pointclouds, like x.
        x_lengths, y_lengths: (N,) int64 numbers of valid points (None: all P1 / P2).
        x_normals: (N, P1, D) and y_normals: (N, P2, D) float normals, both or neither.
        weights: (N,) non-negative float weights multiplying each item's per-point terms.
        batch_reduction: "mean" (divided by N, or by weights.sum() when weights are given and
            their sum is not 0), "sum" or None.
        point_reduction: "mean" (over each cloud's valid points), "sum", "max" (the largest
            per-point term: the directed Hausdorff distance, squared for norm=2) or None.
            "max" takes no normals (those of Pointclouds inputs are then not used).
        norm: 2 or 1.
        single_directional: only the x -> y terms.
        abs_cosine: ignore the orientation of normals.
    Returns:
        (cham_dist, cham_normals). With a point reduction, the two directions are added
        ("max": their maximum) and each result is (N,), or a scalar after a batch reduction.
        With point_reduction None (batch_reduction must then be None), per-point terms:
        (N, P1) when single_directional, else a pair ((N, P1), (N, P2)). cham_normals is None
        without normals or with "max", except that weights summing to 0 give zeros like
        cham_dist for it (as PyTorch3D) unless with "max". Differentiable w.r.t. x, y and the
        normals.
    Raises:
        InputError: an argument has the wrong type, shape, dtype, device or value.
    """
    return _chamfer(
        knn_points, True, x, y, x_lengths, y_lengths, x_normals, y_normals, weights,
        batch_reduction, point_reduction, norm, single_directional, abs_cosine,
    )


def chamfer_distance_with_knn(
    knn: Callable,
    x: torch.Tensor | Pointclouds,
    y: torch.Tensor | Pointclouds,
    x_lengths: torch.Tensor | None = None,
    y_lengths: torch.Tensor | None = None,
    x_normals: torch.Tensor | None = None,
    y_normals: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    batch_reduction: str | None = "mean",
    point_reduction: str | None = "mean",
    norm: int = 2,
    single_directional: bool = False,
    abs_cosine: bool = True,
) -> tuple[Loss, Loss | None]:
    """:func:`chamfer_distance` with the neighbour search ``knn`` (a function with
    knn_points' signature, e.g. ``knn_points_torch``), so that tests and benchmarks can compare
    searches. The other arguments and the results are chamfer_distance's."""
    return _chamfer(
        knn, False, x, y, x_lengths, y_lengths, x_normals, y_normals, weights,
        batch_reduction, point_reduction, norm, single_directional, abs_cosine,
    )


def _chamfer(
    knn: Callable,
    fused: bool,
    x: torch.Tensor | Pointclouds,
    y: torch.Tensor | Pointclouds,
    x_lengths: torch.Tensor | None,
    y_lengths: torch.Tensor | None,
    x_normals: torch.Tensor | None,
    y_normals: torch.Tensor | None,
    weights: torch.Tensor | None,
    batch_reduction: str | None,
    point_reduction: str | None,
    norm: int,
    single_directional: bool,
    abs_cosine: bool,
) -> tuple[Loss, Loss | None]:
    """chamfer_distance with the search ``knn``, or the fused native path
    (:mod:`r3d.loss._chamfer_native`) where ``fused`` and it covers the call."""
    _check_options(batch_reduction, point_reduction, norm, x_normals, y_normals)
    given = (x_normals is not None, y_normals is not None)
    x, x_lengths, x_normals = _unpack("x", x, x_lengths, x_normals)
    y, y_lengths, y_normals = _unpack("y", y, y_lengths, y_normals)
    x_lengths, y_lengths = check_clouds(
        _OP, x, y, x_lengths, y_lengths, ("x", "y", "x_lengths", "y_lengths")
    )
    x_normals, y_normals = _normals_used(point_reduction, x_normals, y_normals, given)
    for name, normals, cloud in (("x_normals", x_normals, x), ("y_normals", y_normals, y)):
        _check_normals(name, normals, cloud)
    weights = _check_weights(weights, x)

    if fused and fused_path.covers(x, y, x_normals is not None, point_reduction) \
            and use_native(x, _OP):
        sums = fused_path.nearest_sums(x, y, x_lengths, y_lengths, norm, single_directional)
        dists = [_reduce_sums(total, lengths, weights, point_reduction)
                 for total, lengths in zip(sums, (x_lengths, y_lengths))]
        cosines = []
    else:
        directions = [(x, y, x_lengths, y_lengths, x_normals, y_normals)]
        if not single_directional:
            directions.append((y, x, y_lengths, x_lengths, y_normals, x_normals))
        dists, cosines = [], []
        for p, q, p_lengths, q_lengths, p_normals, q_normals in directions:
            d, c = _one_direction(knn, p, q, p_lengths, q_lengths, p_normals, q_normals, norm,
                                  abs_cosine)
            dists.append(_reduce_points(d, p_lengths, weights, point_reduction))
            if c is not None:
                cosines.append(_reduce_points(c, p_lengths, weights, point_reduction))
    loss = _reduce_batch(_combine(dists, point_reduction), weights, batch_reduction)
    if cosines:
        return loss, _reduce_batch(_combine(cosines, point_reduction), weights, batch_reduction)
    if weights is not None and point_reduction != "max" and not bool(weights.sum()):
        # PyTorch3D returns zeros for both when the weights sum to 0, normals or not
        return loss, tuple(t * 0 for t in loss) if isinstance(loss, tuple) else loss * 0
    return loss, None


def _check_options(batch_reduction, point_reduction, norm, x_normals, y_normals) -> None:
    if batch_reduction not in _BATCH_REDUCTIONS:
        raise InputError(f"{_OP}: batch_reduction must be one of {_BATCH_REDUCTIONS}, "
                         f"got {batch_reduction!r}")
    if point_reduction not in _POINT_REDUCTIONS:
        raise InputError(f"{_OP}: point_reduction must be one of {_POINT_REDUCTIONS}, "
                         f"got {point_reduction!r}")
    if point_reduction is None and batch_reduction is not None:
        raise InputError(f"{_OP}: batch_reduction must be None when point_reduction is None, "
                         f"got {batch_reduction!r}")
    if isinstance(norm, bool) or norm not in (1, 2):
        raise InputError(f"{_OP}: norm must be 1 or 2, got {norm!r}")
    if point_reduction == "max" and (x_normals is not None or y_normals is not None):
        raise InputError(f"{_OP}: x_normals and y_normals must be None when point_reduction "
                         "is 'max'")


def _unpack(
    name: str,
    cloud: torch.Tensor | Pointclouds,
    lengths: torch.Tensor | None,
    normals: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Padded points, lengths and normals of a Pointclouds (or a tensor's, unchanged)."""
    if isinstance(cloud, torch.Tensor):
        return cloud, lengths, normals
    if not isinstance(cloud, Pointclouds):
        raise InputError(f"{_OP}: {name} must be a float tensor (N, P, D) or a Pointclouds, "
                         f"got {describe(cloud)}")
    for arg, value in ((f"{name}_lengths", lengths), (f"{name}_normals", normals)):
        if value is not None:
            raise InputError(f"{_OP}: {arg} must be None when {name} is a Pointclouds (its own "
                             f"are used), got {describe(value)}")
    return cloud.points_padded(), cloud.num_points_per_cloud(), cloud.normals_padded()


def _normals_used(
    point_reduction: str | None,
    x_normals: torch.Tensor | None,
    y_normals: torch.Tensor | None,
    given: tuple[bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Both normals, or neither: none with "max", none when only one Pointclouds carries them
    (as PyTorch3D); InputError when normals passed as an argument have no counterpart."""
    if point_reduction == "max":
        return None, None
    if (x_normals is None) == (y_normals is None):
        return x_normals, y_normals
    for arg, other, was_given in (("x_normals", "y", given[0]), ("y_normals", "x", given[1])):
        if was_given:
            raise InputError(f"{_OP}: {arg} is given but {other} has no normals; pass "
                             f"{other}_normals too, or neither")
    return None, None


def _check_normals(name: str, normals: torch.Tensor | None, cloud: torch.Tensor) -> None:
    """Raises InputError unless normals is None or a tensor like cloud (shape, dtype, device)."""
    if normals is None:
        return
    if not isinstance(normals, torch.Tensor) or normals.shape != cloud.shape \
            or normals.dtype != cloud.dtype or normals.device != cloud.device:
        raise InputError(f"{_OP}: {name} must be a {cloud.dtype} tensor of shape "
                         f"{tuple(cloud.shape)} on {cloud.device}, got {describe(normals)}")


def _check_weights(weights: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    """Validates (N,) non-negative float weights; returns them in x's dtype."""
    if weights is None:
        return None
    N = x.shape[0]
    if not isinstance(weights, torch.Tensor) or not weights.is_floating_point() \
            or weights.shape != (N,) or weights.device != x.device:
        raise InputError(f"{_OP}: weights must be a float tensor of shape ({N},) on {x.device}, "
                         f"got {describe(weights)}")
    if N and not bool((weights >= 0).all()):
        raise InputError(f"{_OP}: weights must be non-negative (and not NaN), got a minimum of "
                         f"{float(weights.min())}")
    return weights.to(x.dtype)


def _one_direction(
    knn: Callable,
    x: torch.Tensor,
    y: torch.Tensor,
    x_lengths: torch.Tensor,
    y_lengths: torch.Tensor,
    x_normals: torch.Tensor | None,
    y_normals: torch.Tensor | None,
    norm: int,
    abs_cosine: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-point terms from x to y: (N, P1) nearest distances and (N, P1) normal terms (or
    None), 0 at padded points of x."""
    nn = knn(x, y, lengths1=x_lengths, lengths2=y_lengths, norm=norm, K=1)
    dists = nn.dists[..., 0]  # knn_points gives 0 at padded queries
    if x_normals is None:
        return dists, None
    near = knn_gather(y_normals, nn.idx, y_lengths)[..., 0, :]
    cosine = F.cosine_similarity(x_normals, near, dim=2, eps=_COSINE_EPS)
    term = 1 - (cosine.abs() if abs_cosine else cosine)
    valid = torch.arange(x.shape[1], device=x.device)[None, :] < x_lengths[:, None]
    return dists, torch.where(valid, term, torch.zeros_like(term))


def _reduce_points(
    terms: torch.Tensor,
    lengths: torch.Tensor,
    weights: torch.Tensor | None,
    point_reduction: str | None,
) -> torch.Tensor:
    """(N, P) per-point terms, weighted per item, reduced over points to (N,) (or kept)."""
    if weights is not None:
        terms = terms * weights[:, None]
    if point_reduction is None:
        return terms
    if point_reduction == "max":
        return terms.max(1).values if terms.shape[1] else terms.new_zeros(terms.shape[0])
    return _point_mean(terms.sum(1), lengths, point_reduction)


def _reduce_sums(
    total: torch.Tensor,
    lengths: torch.Tensor,
    weights: torch.Tensor | None,
    point_reduction: str,
) -> torch.Tensor:
    """(N,) per-item sums of the per-point terms, weighted per item and reduced as
    _reduce_points reduces the terms ("mean" or "sum")."""
    if weights is not None:
        total = total * weights
    return _point_mean(total, lengths, point_reduction)


def _point_mean(total: torch.Tensor, lengths: torch.Tensor, point_reduction: str) -> torch.Tensor:
    """(N,) sums over each item's points divided by its number of points ("mean", at least 1)
    or kept ("sum")."""
    return total / lengths.clamp(min=1) if point_reduction == "mean" else total


def _combine(per_direction: list[torch.Tensor], point_reduction: str | None) -> Loss:
    """One direction as is; two directions added, their maximum ("max") or paired (None)."""
    if len(per_direction) == 1:
        return per_direction[0]
    forward, backward = per_direction
    if point_reduction is None:
        return forward, backward
    return torch.maximum(forward, backward) if point_reduction == "max" else forward + backward


def _reduce_batch(
    loss: Loss, weights: torch.Tensor | None, batch_reduction: str | None
) -> Loss:
    """(N,) -> scalar by "sum" or "mean" (over N, or over the weights' sum when not 0)."""
    if batch_reduction is None:
        return loss
    total = loss.sum()
    if batch_reduction == "sum":
        return total
    if weights is None:
        return total / max(loss.shape[0], 1)
    weight_sum = weights.sum()
    return total / torch.where(weight_sum == 0, torch.ones_like(weight_sum), weight_sum)
