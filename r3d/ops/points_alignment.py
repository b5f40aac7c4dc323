"""Similarity alignment of point sets: Umeyama for known correspondences, and ICP.

Signatures, outputs and the row-vector convention ``Y ~ s X R + T`` follow PyTorch3D.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import torch

from r3d._checks import check_positive_int, describe
from r3d.errors import InputError, warn
from r3d.ops.clouds import valid_points
from r3d.ops.knn import knn_points
from r3d.ops.points_normals import clouds_to_padded
from r3d.structures.pointclouds import Pointclouds

SimilarityTransform = namedtuple("SimilarityTransform", "R T s")
SimilarityTransform.__doc__ = (
    "Y ~ s X R + T: R (N, D, D) orthonormal, T (N, D) translations, s (N,) scales."
)
ICPSolution = namedtuple("ICPSolution", "converged rmse Xt RTs t_history")
ICPSolution.__doc__ = (
    "iterative_closest_point result: converged (bool), rmse (N,), Xt (X aligned: a tensor "
    "(N, P, D) or a Pointclouds like X), RTs (the final SimilarityTransform), t_history (the "
    "SimilarityTransform of every iteration)."
)

# Singular values of the cross-covariance at or below this leave the rotation ambiguous.
_AMBIGUOUS_SINGULAR_VALUE = 1e-15


def _weights_padded(
    op: str, weights: torch.Tensor | Sequence[torch.Tensor], points: torch.Tensor,
    lengths: torch.Tensor,
) -> torch.Tensor:
    """Validated (N, P) weights from an (N, P) tensor or a list of N (P_i,) tensors."""
    N, P, _ = points.shape
    if isinstance(weights, (list, tuple)):
        sizes = lengths.tolist()
        if len(weights) != N or any(
            not isinstance(w, torch.Tensor) or w.shape != (n,) for w, n in zip(weights, sizes)
        ):
            raise InputError(
                f"{op}: weights as a list must hold {N} 1-D tensors of sizes {sizes}, got "
                f"{[describe(w) for w in weights]}"
            )
        padded = points.new_zeros((N, P))
        for i, (w, n) in enumerate(zip(weights, sizes)):
            padded[i, :n] = w.to(device=points.device, dtype=points.dtype)
        weights = padded
    if not isinstance(weights, torch.Tensor) or not weights.is_floating_point() \
            or weights.shape != (N, P) or weights.device != points.device:
        raise InputError(
            f"{op}: weights must be a float tensor of shape ({N}, {P}) on {points.device} or "
            f"a list of {N} tensors, got {describe(weights)}"
        )
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise InputError(f"{op}: weights must be finite and non-negative")
    return weights.to(points.dtype)


def corresponding_points_alignment(
    X: torch.Tensor | Pointclouds,
    Y: torch.Tensor | Pointclouds,
    weights: torch.Tensor | Sequence[torch.Tensor] | None = None,
    estimate_scale: bool = False,
    allow_reflection: bool = False,
    eps: float = 1e-9,
) -> SimilarityTransform:
    """The similarity that best maps X[i] onto its corresponding points Y[i] (Umeyama, 1991).

    Minimises sum_j w_j |s X_j R + T - Y_j|^2 per batch item. As in PyTorch3D, the weights
    enter the centroids linearly and the cross-covariance (and the variance used for the scale)
    squared; binary weights (masks) are unaffected.

    Args:
        X, Y: (N, P, D) float tensors or Pointclouds with the same sizes; X[i, j] corresponds
            to Y[i, j].
        weights: optional non-negative (N, P) tensor, or a list of N (P_i,) tensors.
        estimate_scale: estimate s; otherwise s = 1.
        allow_reflection: allow R with determinant -1; otherwise R is the nearest rotation.
        eps: clamps the total weight and the variance of X before dividing by them.
    Returns:
        SimilarityTransform(R (N, D, D), T (N, D), s (N,)), differentiable w.r.t. X, Y and
        weights (where the singular values of the cross-covariance are distinct).
    """
    op = "corresponding_points_alignment"
    Xt, lengths = clouds_to_padded(op, "X", X)
    Yt, lengths_y = clouds_to_padded(op, "Y", Y)
    if Xt.dtype != Yt.dtype or Xt.device != Yt.device:
        raise InputError(f"{op}: X and Y must share dtype and device, got {describe(Xt)} and "
                         f"{describe(Yt)}")
    if Xt.shape != Yt.shape or not torch.equal(lengths, lengths_y):
        raise InputError(
            f"{op}: X and Y must have the same shape and cloud sizes, got {describe(Xt)} with "
            f"sizes {lengths.tolist()} and {describe(Yt)} with sizes {lengths_y.tolist()}"
        )
    N, P, D = Xt.shape
    mask = valid_points(lengths, P).to(Xt.dtype)
    w = mask if weights is None else mask * _weights_padded(op, weights, Xt, lengths)
    total = w.sum(1).clamp(min=eps)
    X_mean = (Xt * w[..., None]).sum(1, keepdim=True) / total[:, None, None]
    Y_mean = (Yt * w[..., None]).sum(1, keepdim=True) / total[:, None, None]
    Xc = (Xt - X_mean) * w[..., None]
    Yc = (Yt - Y_mean) * w[..., None]
    if bool((lengths < D + 1).any()):
        warn(f"{op}: a cloud has at most {D} points, so the rotation is not unique")
    U, S, Vh = torch.linalg.svd(Xc.transpose(1, 2) @ Yc / total[:, None, None])
    if bool((S.abs() <= _AMBIGUOUS_SINGULAR_VALUE).any()) and not bool((lengths < D + 1).any()):
        warn(f"{op}: the cross-covariance of X and Y has too low a rank for a unique rotation")
    E = torch.ones((N, D), dtype=Xt.dtype, device=Xt.device)
    if not allow_reflection:
        # Flip the last singular direction where U V^T would be a reflection; the determinant
        # is +-1 so it carries no gradient.
        E[:, -1] = torch.linalg.det(U @ Vh).detach()
    R = (U * E[:, None, :]) @ Vh
    if estimate_scale:
        s = (E * S).sum(1) / ((Xc * Xc).sum((1, 2)) / total).clamp(min=eps)
    else:
        s = Xt.new_ones(N)
    T = Y_mean[:, 0] - s[:, None] * (X_mean @ R)[:, 0]
    return SimilarityTransform(R, T, s)


def _apply(X: torch.Tensor, transform: SimilarityTransform) -> torch.Tensor:
    """s X R + T for X (N, P, D)."""
    R, T, s = transform
    return s[:, None, None] * (X @ R) + T[:, None, :]


def _check_init_transform(op: str, init, N: int, D: int) -> SimilarityTransform:
    want = (N, D, D), (N, D), (N,)
    if not isinstance(init, tuple) or len(init) != 3 or any(
        not isinstance(t, torch.Tensor) or tuple(t.shape) != shape for t, shape in zip(init, want)
    ):
        raise InputError(
            f"{op}: init_transform must be a SimilarityTransform (R, T, s) of shapes {want}, "
            f"got {describe(init)}"
        )
    return SimilarityTransform(*init)


def iterative_closest_point(
    X: torch.Tensor | Pointclouds,
    Y: torch.Tensor | Pointclouds,
    init_transform: SimilarityTransform | None = None,
    max_iterations: int = 100,
    relative_rmse_thr: float = 1e-6,
    estimate_scale: bool = False,
    allow_reflection: bool = False,
    verbose: bool = False,
) -> ICPSolution:
    """Aligns X to Y by alternating nearest-neighbour matching and Umeyama alignment.

    Each iteration matches every point of the (transformed) X with its nearest point of Y
    (:func:`knn_points`, cloud sizes respected) and re-estimates the similarity from the
    original X to those matches. It stops when the RMSE of every cloud has dropped by at most
    ``relative_rmse_thr`` relative to the previous iteration, or after ``max_iterations``.

    Args:
        X: (N, P1, D) float tensor or Pointclouds, the clouds moved.
        Y: (N, P2, D) float tensor or Pointclouds, the targets; a cloud of Y may be empty only
            where X's is.
        init_transform: optional SimilarityTransform(R (N, D, D), T (N, D), s (N,)) applied
            to X first; identity by default.
        max_iterations: the most iterations (>= 1).
        relative_rmse_thr: convergence threshold on the relative decrease of the RMSE.
        estimate_scale, allow_reflection: as for :func:`corresponding_points_alignment`.
        verbose: print the RMSE of every iteration.
    Returns:
        ICPSolution(converged, rmse (N,), Xt, RTs, t_history).
    """
    op = "iterative_closest_point"
    Xt, lengths_x = clouds_to_padded(op, "X", X)
    Yt, lengths_y = clouds_to_padded(op, "Y", Y)
    N, P, D = Xt.shape
    if Yt.shape[0] != N or Yt.shape[2] != D:
        raise InputError(f"{op}: X and Y must share N and D, got {describe(Xt)} and "
                         f"{describe(Yt)}")
    if bool(((lengths_y == 0) & (lengths_x > 0)).any()):
        raise InputError(f"{op}: Y has an empty cloud where X has points, got sizes "
                         f"{lengths_x.tolist()} and {lengths_y.tolist()}")
    check_positive_int(op, "max_iterations", max_iterations)
    mask = valid_points(lengths_x, P).to(Xt.dtype)
    if init_transform is None:
        transform = SimilarityTransform(
            torch.eye(D, dtype=Xt.dtype, device=Xt.device).expand(N, D, D),
            Xt.new_zeros((N, D)),
            Xt.new_ones(N),
        )
    else:
        transform = _check_init_transform(op, init_transform, N, D)
    moved = _apply(Xt, transform)
    history, prev_rmse, converged = [], None, False
    for iteration in range(max_iterations):
        matches = knn_points(moved, Yt, lengths_x, lengths_y, K=1, return_nn=True).knn[:, :, 0]
        transform = corresponding_points_alignment(
            Xt, matches, mask, estimate_scale, allow_reflection
        )
        moved = _apply(Xt, transform)
        history.append(transform)
        sq = ((moved - matches) ** 2).sum(2)
        rmse = ((sq * mask).sum(1) / mask.sum(1).clamp(min=1e-9)).sqrt()
        if prev_rmse is None:
            relative = torch.ones_like(rmse)
        else:
            # An RMSE already at zero (e.g. an empty cloud) counts as converged.
            relative = torch.where(prev_rmse > 0, (prev_rmse - rmse) / prev_rmse, 0.0)
        if verbose:
            print(
                f"ICP iteration {iteration}: mean/max rmse = {rmse.mean():1.2e}/"
                f"{rmse.max():1.2e}; mean relative rmse = {relative.mean():1.2e}"
            )
        if bool((relative <= relative_rmse_thr).all()):
            converged = True
            break
        prev_rmse = rmse
    if verbose:
        print(f"ICP has {'converged' if converged else 'not converged'} after "
              f"{len(history)} iterations.")
    Xt_out = X.update_padded(moved) if isinstance(X, Pointclouds) else moved
    return ICPSolution(converged, rmse, Xt_out, transform, history)
