"""Distances between point clouds and the triangles or edges of meshes, in packed batches.

Points (P, 3) and primitives (S, K, 3) — triangles (K = 3, "tris") or segments (K = 2, "segms")
given by their corner coordinates — are cut into N batch items by ``points_first_idx`` (N,) and
``prims_first_idx`` (N,). Every point is matched with the nearest primitive of its item, or every
primitive with the nearest point of its item, and the squared distance of the pair is returned
(+inf where the item has nothing to match with). The geometry is that of PyTorch3D's
point_mesh distances, see :mod:`r3d.ops.closest_point`.

The native kernel runs on CPU and CUDA for float32/float64; other devices and dtypes use the
pure-PyTorch twin :func:`nearest_distance_torch`, which bounds its memory by working on chunks of
at most ``CHUNK_PAIRS`` (query, candidate) pairs.
"""

from __future__ import annotations

import torch

from r3d._checks import check_float_points, check_index_vector, check_same_device, segment_lengths
from r3d._native import point_mesh as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.ops.closest_point import closest_point_weights

DEFAULT_MIN_TRIANGLE_AREA = 5e-3  # PyTorch3D's default
CHUNK_PAIRS = 1 << 20


def point_face_distance(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    tris: torch.Tensor,
    tris_first_idx: torch.Tensor,
    max_points: int,
    min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA,
) -> torch.Tensor:
    """Squared distance of every point to the nearest triangle of its batch item.

    Args:
        points: (P, 3) packed points; points_first_idx: (N,) int64.
        tris: (T, 3, 3) packed triangle corners; tris_first_idx: (N,) int64.
        max_points: at least the largest number of points of an item.
        min_triangle_area: triangles of smaller area count as their three edges.
    Returns:
        (P,) tensor, differentiable w.r.t. points and tris.
    """
    return _nearest(
        "point_face_distance", "tris", points, points_first_idx, tris, tris_first_idx, True,
        min_triangle_area, max_points,
    )


def face_point_distance(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    tris: torch.Tensor,
    tris_first_idx: torch.Tensor,
    max_tris: int,
    min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA,
) -> torch.Tensor:
    """Squared distance of every triangle to the nearest point of its batch item.

    Args: as :func:`point_face_distance`, with max_tris at least the largest number of
    triangles of an item.
    Returns:
        (T,) tensor, differentiable w.r.t. points and tris.
    """
    return _nearest(
        "face_point_distance", "tris", points, points_first_idx, tris, tris_first_idx, False,
        min_triangle_area, max_tris,
    )


def point_edge_distance(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    segms: torch.Tensor,
    segms_first_idx: torch.Tensor,
    max_points: int,
) -> torch.Tensor:
    """Squared distance of every point to the nearest segment of its batch item.

    Args:
        points: (P, 3) packed points; points_first_idx: (N,) int64.
        segms: (S, 2, 3) packed segment ends; segms_first_idx: (N,) int64.
        max_points: at least the largest number of points of an item.
    Returns:
        (P,) tensor, differentiable w.r.t. points and segms.
    """
    return _nearest(
        "point_edge_distance", "segms", points, points_first_idx, segms, segms_first_idx, True,
        0.0, max_points,
    )


def edge_point_distance(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    segms: torch.Tensor,
    segms_first_idx: torch.Tensor,
    max_segms: int,
) -> torch.Tensor:
    """Squared distance of every segment to the nearest point of its batch item.

    Args: as :func:`point_edge_distance`, with max_segms at least the largest number of
    segments of an item.
    Returns:
        (S,) tensor, differentiable w.r.t. points and segms.
    """
    return _nearest(
        "edge_point_distance", "segms", points, points_first_idx, segms, segms_first_idx, False,
        0.0, max_segms,
    )


def nearest_distance(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    prims: torch.Tensor,
    prims_first_idx: torch.Tensor,
    point_queries: bool,
    min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA,
) -> torch.Tensor:
    """The four functions above in one: points (P, 3) against prims (S, K, 3), K = 3 or 2.

    Returns:
        (P,) distances of the points to their nearest primitive when ``point_queries``, else
        (S,) distances of the primitives to their nearest point.
    """
    return _nearest(
        "nearest_distance", "prims", points, points_first_idx, prims, prims_first_idx,
        point_queries, min_triangle_area, None,
    )


def _nearest(
    op: str,
    prims_name: str,
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    prims: torch.Tensor,
    prims_first_idx: torch.Tensor,
    point_queries: bool,
    min_area: float,
    max_size: int | None,
) -> torch.Tensor:
    """Validates the inputs of one of the public functions and dispatches."""
    check_float_points(op, "points", points)
    check_float_points(op, prims_name, prims)
    if points.dim() != 2:
        raise InputError(f"{op}: points must have shape (P, 3), got {tuple(points.shape)}")
    corners = 3 if prims_name == "tris" else 2 if prims_name == "segms" else prims.shape[-2]
    if prims.dim() != 3 or prims.shape[1] != corners or corners not in (2, 3):
        want = f"(S, {corners}, 3)" if prims_name != "prims" else "(S, 3, 3) or (S, 2, 3)"
        raise InputError(f"{op}: {prims_name} must have shape {want}, got {tuple(prims.shape)}")
    if prims.dtype != points.dtype:
        raise InputError(
            f"{op}: {prims_name} must have the dtype of points ({points.dtype}), got {prims.dtype}"
        )
    prims_first_name = prims_name + "_first_idx"
    check_index_vector(op, "points_first_idx", points_first_idx)
    check_index_vector(op, prims_first_name, prims_first_idx)
    check_same_device(op, points=points, points_first_idx=points_first_idx, **{
        prims_name: prims, prims_first_name: prims_first_idx})
    if points_first_idx.shape != prims_first_idx.shape:
        raise InputError(
            f"{op}: points_first_idx and {prims_first_name} must have one entry per batch item, "
            f"got {points_first_idx.shape[0]} and {prims_first_idx.shape[0]}"
        )
    # max_size (PyTorch3D's max_points / max_tris / ...) bounds the items of the query side
    num_points, num_prims = points.shape[0], prims.shape[0]
    max_points = max_size if point_queries and max_size is not None else num_points
    max_prims = max_size if not point_queries and max_size is not None else num_prims
    segment_lengths(op, points_first_idx, num_points, int(max_points), "points_first_idx")
    segment_lengths(op, prims_first_idx, num_prims, int(max_prims), prims_first_name)
    if use_native(points, op):
        return in_float32(
            point_mesh_distance_op, points.contiguous(), prims.contiguous(),
            points_first_idx.contiguous(), prims_first_idx.contiguous(), float(min_area),
            point_queries,
        )[0]
    return nearest_distance_torch(
        points, points_first_idx, prims, prims_first_idx, point_queries, min_area
    )


def nearest_distance_torch(
    points: torch.Tensor,
    points_first_idx: torch.Tensor,
    prims: torch.Tensor,
    prims_first_idx: torch.Tensor,
    point_queries: bool,
    min_triangle_area: float = DEFAULT_MIN_TRIANGLE_AREA,
) -> torch.Tensor:
    """Pure-PyTorch :func:`nearest_distance` (any device; the oracle of the native kernel).

    The nearest match of every query is searched without autograd, item by item and in chunks of
    at most CHUNK_PAIRS pairs; the distance of each matched pair is then evaluated again with
    autograd, as |p - c|^2 with c the closest point written with detached corner weights (which
    gives the exact gradient, since c minimises the distance).

    Returns:
        (P,) or (S,) distances, +inf where the item has nothing to match with.
    """
    num_points, num_prims = points.shape[0], prims.shape[0]
    points_end = torch.cat([points_first_idx[1:], points_first_idx.new_tensor([num_points])])
    prims_end = torch.cat([prims_first_idx[1:], prims_first_idx.new_tensor([num_prims])])
    match = torch.full(
        (num_points if point_queries else num_prims,), -1, dtype=torch.int64, device=points.device
    )
    bounds = torch.stack([points_first_idx, points_end, prims_first_idx, prims_end], 1).tolist()
    with torch.no_grad():
        for p0, p1, s0, s1 in bounds:
            if p1 == p0 or s1 == s0:
                continue
            item_points, item_prims = points[p0:p1].detach(), prims[s0:s1].detach()
            if point_queries:
                match[p0:p1] = s0 + _nearest_in_item(item_points, item_prims, min_triangle_area)
            else:
                match[s0:s1] = p0 + _nearest_in_item(item_prims, item_points, min_triangle_area)
    found = match >= 0
    pair_points = points[found] if point_queries else points[match[found]]
    pair_prims = prims[match[found]] if point_queries else prims[found]
    with torch.no_grad():
        weights, _ = closest_point_weights(pair_points, pair_prims, min_triangle_area)
    closest = (weights.unsqueeze(-1) * pair_prims).sum(-2)
    dists = torch.full(match.shape, float("inf"), dtype=points.dtype, device=points.device)
    return dists.masked_scatter(found, ((pair_points - closest) ** 2).sum(-1))


def _nearest_in_item(
    queries: torch.Tensor, candidates: torch.Tensor, min_area: float
) -> torch.Tensor:
    """Index of the nearest candidate of every query: points (Q, 3) against primitives
    (C, K, 3), or primitives (Q, K, 3) against points (C, 3)."""
    chunk = max(1, CHUNK_PAIRS // candidates.shape[0])
    found = []
    for start in range(0, queries.shape[0], chunk):
        q = queries[start:start + chunk].unsqueeze(1)
        c = candidates.unsqueeze(0)
        _, dist = closest_point_weights(q, c, min_area) if q.dim() == 3 \
            else closest_point_weights(c, q, min_area)
        found.append(dist.argmin(1))
    return torch.cat(found)


def _num_queries(points: torch.Tensor, prims: torch.Tensor, point_queries: bool) -> int:
    return points.shape[0] if point_queries else prims.shape[0]


@native_op("point_mesh_distance", lambda points, prims, points_first_idx, prims_first_idx,
           min_area, point_queries: (
    points.new_empty((_num_queries(points, prims, point_queries),)),
    points.new_empty((_num_queries(points, prims, point_queries),), dtype=torch.int64),
))
def point_mesh_distance_op(
    points: torch.Tensor, prims: torch.Tensor, points_first_idx: torch.Tensor,
    prims_first_idx: torch.Tensor, min_area: float, point_queries: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native nearest pairs: dists (Q,) and the matches idx (Q,) int64 (see the bridge)."""
    return bridge.point_mesh_forward(
        points, points_first_idx, prims, prims_first_idx, min_area, point_queries
    )


@native_op("point_mesh_distance_backward", lambda points, prims, idx, grad_dists, min_area,
           point_queries: (
    points.new_empty((idx.shape[0], 3)), points.new_empty((idx.shape[0], prims.shape[1], 3)),
))
def point_mesh_distance_backward_op(
    points: torch.Tensor, prims: torch.Tensor, idx: torch.Tensor, grad_dists: torch.Tensor,
    min_area: float, point_queries: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native backward: each pair's gradients w.r.t. its point (Q, 3) and corners (Q, K, 3)."""
    return bridge.point_mesh_backward(
        points, prims, idx, grad_dists.contiguous(), min_area, point_queries
    )


def _setup_point_mesh(ctx, inputs, output) -> None:
    points, prims, _, _, min_area, point_queries = inputs
    ctx.save_for_backward(points, prims, output[1])
    ctx.min_area, ctx.point_queries = min_area, point_queries


def _point_mesh_backward(ctx, grad_dists, _grad_idx) -> tuple:
    points, prims, idx = ctx.saved_tensors
    grad_points, grad_prims = point_mesh_distance_backward_op(
        points, prims, idx, grad_dists, ctx.min_area, ctx.point_queries
    )
    # each query's own gradient is in place; its match's is scattered (idx -1: zeros)
    if ctx.point_queries:
        grad_prims = _scatter(prims.shape[0], idx, grad_prims)
    else:
        grad_points = _scatter(points.shape[0], idx, grad_points)
    return grad_points, grad_prims, None, None, None, None


point_mesh_distance_op.register_autograd(_point_mesh_backward, setup_context=_setup_point_mesh)


def _scatter(num: int, idx: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Sums values (Q, ...) into num rows at idx (Q,); rows of idx -1 hold zeros and are dropped
    onto row 0 harmlessly."""
    out = values.new_zeros((num, *values.shape[1:]))
    return out.index_add_(0, idx.clamp(min=0), values) if num else out
