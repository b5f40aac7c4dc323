"""Camera pose from 3D-2D correspondences: EPnP with Gauss-Newton refinement (PyTorch3D's
``efficient_pnp``).

EPnP (Moreno-Noguer, Lepetit, Fua: "EPnP: An Accurate O(n) Solution to the PnP Problem",
IJCV 2009) writes every world point as an affine combination of 4 control points, so the
projection equations become linear in the control points' camera coordinates (12 unknowns).
Their solution lies in the (near) null space of that 2n x 12 system, spanned by up to 4
vectors; the coefficients of those vectors are found from the constraint that the control
points keep their world distances (linearised for 1 to 4 vectors, then refined by Gauss-Newton
on the distances), and the pose is the similarity aligning the world points with the camera
points so found (:func:`corresponding_points_alignment`).

Conventions are PyTorch3D's: row vectors, ``x_cam = x R + T``, and y the projection of x_cam
by ``(X / Z, Y / Z)`` (calibrated, unit focal length).
"""

from __future__ import annotations

import warnings
from itertools import combinations
from typing import NamedTuple

import torch

from r3d._checks import describe
from r3d.errors import InputError, warn
from r3d.ops.points_alignment import corresponding_points_alignment
from r3d.ops.utils import wmean

__all__ = ["EpnpSolution", "efficient_pnp"]

# The 6 pairs of the 4 control points, and the 10 products of 4 kernel coefficients in
# PyTorch3D's order: beta_kk for k = 1..4, then beta_k beta_l for k < l.
_PAIRS = tuple(combinations(range(4), 2))
_PRODUCTS = tuple((k, k) for k in range(4)) + _PAIRS
# Linearised cases of the paper: how many kernel vectors, and the products solved for.
_CASES = ((4, (0, 4, 5, 6)), (2, (0, 4, 1)), (3, (0, 4, 1, 5, 7)))
_GAUSS_NEWTON_STEPS = 5


class EpnpSolution(NamedTuple):
    """efficient_pnp's result.

    Attributes:
        x_cam: (B, N, 3) the world points in camera coordinates as EPnP estimated them (from
            the control points; with noise not exactly ``x R + T``).
        R: (B, 3, 3) rotations and T: (B, 3) translations: ``x_cam ~ x R + T``.
        err_2d: (B,) weighted mean distance between y and the projections of ``x R + T``.
        err_3d: (B,) weighted mean squared distance between ``x R + T`` and x_cam.
    """

    x_cam: torch.Tensor
    R: torch.Tensor
    T: torch.Tensor
    err_2d: torch.Tensor
    err_3d: torch.Tensor


def _check(x: object, y: object, weights: object) -> None:
    op = "efficient_pnp"
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 3 \
            or x.shape[2] != 3:
        raise InputError(f"{op}: x must be a float tensor of shape (B, N, 3), got {describe(x)}")
    B, N, _ = x.shape
    if not isinstance(y, torch.Tensor) or y.shape != (B, N, 2) or y.dtype != x.dtype \
            or y.device != x.device:
        raise InputError(f"{op}: y must be a tensor of shape ({B}, {N}, 2) with x's dtype and "
                         f"device, got {describe(y)}")
    if N < 4:
        raise InputError(f"{op}: at least 4 correspondences are needed, got {N}")
    if weights is not None and (
        not isinstance(weights, torch.Tensor) or weights.shape != (B, N)
        or weights.dtype != x.dtype or weights.device != x.device
    ):
        raise InputError(f"{op}: weights must be a tensor of shape ({B}, {N}) with x's dtype "
                         f"and device, got {describe(weights)}")
    if weights is not None and bool((weights < 0).any()):
        raise InputError(f"{op}: weights must be non-negative")


def _control_points(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """(B, 4, 3): the weighted centroid of x, and the centroid plus the RMS spread of x about
    it along each axis."""
    centre = wmean(x, weights)  # (B, 1, 3)
    spread = wmean(((x - centre) ** 2).sum(-1, keepdim=True), weights).sqrt()  # (B, 1, 1)
    axes = torch.eye(3, dtype=x.dtype, device=x.device) * spread.clamp(min=1e-12)
    return torch.cat([centre, centre + axes], dim=1)


def _barycentric(x: torch.Tensor, control: torch.Tensor) -> torch.Tensor:
    """(B, N, 4) coefficients a with x = a @ control and sum(a) = 1, for the control points of
    :func:`_control_points` (the centroid c and c + s e_k)."""
    spread = control[:, 1:2, 0:1] - control[:, 0:1, 0:1]  # (B, 1, 1)
    local = (x - control[:, :1]) / spread
    return torch.cat([1 - local.sum(-1, keepdim=True), local], dim=-1)


def _projection_system(
    y: torch.Tensor, alphas: torch.Tensor, weights: torch.Tensor | None
) -> torch.Tensor:
    """(B, 2N, 12) matrix M with M @ vec(control points in camera space) = 0 for exact data:
    ``sum_j a_ij (X_j - u_i Z_j) = 0`` and ``sum_j a_ij (Y_j - v_i Z_j) = 0`` for point i."""
    if weights is not None:
        alphas = alphas * weights[..., None]
    one, zero = torch.ones_like(y[..., :1]), torch.zeros_like(y[..., :1])
    rows = torch.stack([torch.cat([one, zero, -y[..., :1]], -1),
                        torch.cat([zero, one, -y[..., 1:]], -1)], dim=2)  # (B, N, 2, 3)
    M = alphas[:, :, None, :, None] * rows[:, :, :, None, :]  # (B, N, 2, 4, 3)
    return M.reshape(y.shape[0], -1, 12)


def _distance_system(kernel: torch.Tensor) -> torch.Tensor:
    """(B, 6, 10) L with L @ products(beta) = the squared distances between the control points
    sum_k beta_k kernel[..., k] (kernel (B, 4, 3, 4)), products in the order of _PRODUCTS."""
    diffs = torch.stack([kernel[:, a] - kernel[:, b] for a, b in _PAIRS], dim=1)  # (B, 6, 3, 4)
    dots = torch.einsum("bpxk,bpxl->bpkl", diffs, diffs)
    return torch.stack(
        [dots[..., k, l] * (1 if k == l else 2) for k, l in _PRODUCTS], dim=-1
    )


def _selectors(like: torch.Tensor) -> torch.Tensor:
    """(10, 4, 4) symmetric S_p with beta^T S_p beta the p-th product of _PRODUCTS."""
    S = torch.zeros(len(_PRODUCTS), 4, 4, dtype=like.dtype, device=like.device)
    for p, (k, l) in enumerate(_PRODUCTS):
        S[p, k, l] += 0.5
        S[p, l, k] += 0.5
    return S


def _linearised_betas(L: torch.Tensor, rho: torch.Tensor, n: int, cols) -> torch.Tensor:
    """(B, 4) kernel coefficients from the least-squares solution b of L[:, :, cols] b = rho,
    for the paper's cases of n = 4, 2 or 3 kernel vectors (the others 0)."""
    b = (torch.linalg.pinv(L[:, :, list(cols)]) @ rho[..., None])[..., 0]
    zero = torch.zeros_like(b[:, 0])
    if n == 4:  # b = (b11, b12, b13, b14), defined up to the sign of beta
        b = b * torch.where(b[:, :1] < 0, -1.0, 1.0)
        first = b[:, 0].clamp(min=0).sqrt()
        return torch.cat([first[:, None], b[:, 1:] / first.clamp(min=1e-12)[:, None]], dim=1)
    # b = (b11, b12, b22[, b13, b23])
    first = b[:, 0].clamp(min=0).sqrt()
    second = torch.where(b[:, 1] < 0, -1.0, 1.0) * b[:, 2].clamp(min=0).sqrt()
    third = b[:, 3] / first.clamp(min=1e-12) if n == 3 else zero
    return torch.stack([first, second, third, zero], dim=1)


def _gauss_newton(L: torch.Tensor, rho: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """beta (B, 4) refined to minimise |L @ products(beta) - rho|^2 by Gauss-Newton steps."""
    S = _selectors(beta)
    eye = torch.eye(4, dtype=beta.dtype, device=beta.device)
    for _ in range(_GAUSS_NEWTON_STEPS):
        products = torch.einsum("bk,pkl,bl->bp", beta, S, beta)  # (B, 10)
        residual = (L @ products[..., None])[..., 0] - rho  # (B, 6)
        J = L @ (2 * torch.einsum("pkl,bl->bpk", S, beta))  # (B, 6, 4)
        JtJ = J.transpose(1, 2) @ J
        damping = 1e-12 * JtJ.diagonal(dim1=1, dim2=2).sum(-1).clamp(min=1e-30)
        step = torch.linalg.solve(JtJ + damping[:, None, None] * eye,
                                  (J.transpose(1, 2) @ residual[..., None])[..., 0])
        beta = beta - step
    return beta


def _pose(
    c_cam: torch.Tensor, alphas: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
    weights: torch.Tensor | None,
) -> EpnpSolution:
    """The solution for camera-space control points c_cam (B, 4, 3), any scale and sign: the
    points in front of the camera, scale and pose from the similarity between x and them."""
    x_cam = alphas @ c_cam
    behind = wmean(x_cam[..., 2:], weights) < 0  # (B, 1, 1)
    x_cam = torch.where(behind, -x_cam, x_cam)
    with warnings.catch_warnings():
        # coplanar points leave one singular value at 0, which a proper rotation resolves
        warnings.filterwarnings("ignore", message=".*too low a rank.*")
        R, T, s = corresponding_points_alignment(x, x_cam, weights, estimate_scale=True)
    s = s.clamp(min=1e-9)
    x_cam, T = x_cam / s[:, None, None], T / s[:, None]
    moved = x @ R + T[:, None]
    projected = moved[..., :2] / moved[..., 2:].clamp(min=1e-9)
    err_2d = wmean(torch.linalg.norm(y - projected, dim=-1, keepdim=True), weights)[:, 0, 0]
    err_3d = wmean(((moved - x_cam) ** 2).sum(-1, keepdim=True), weights)[:, 0, 0]
    return EpnpSolution(x_cam, R, T, err_2d, err_3d)


def efficient_pnp(
    x: torch.Tensor,
    y: torch.Tensor,
    weights: torch.Tensor | None = None,
    skip_quadratic_eq: bool = False,
) -> EpnpSolution:
    """The camera pose (R, T) that best projects the 3D points x onto the 2D points y.

    Solves ``y_i ~ proj(x_i R + T)`` with ``proj(X, Y, Z) = (X / Z, Y / Z)`` by EPnP. Without
    noise 5 or more points, coplanar or not, give the exact pose; 4 points may give an
    approximate one (their 4 null-space vectors are combined approximately).

    Args:
        x: (B, N, 3) world points, N >= 4.
        y: (B, N, 2) their calibrated projections (pixel coordinates with the intrinsics
            removed), x's dtype and device.
        weights: optional non-negative (B, N) weights of the correspondences.
        skip_quadratic_eq: use the null-space vector of the smallest singular value only (one
            candidate; simplest to differentiate). Otherwise candidates from 1 to 4 null-space
            vectors, each refined by Gauss-Newton on the control points' distances, compete and
            the one with the smallest ``err_2d`` wins.
    Returns:
        EpnpSolution(x_cam (B, N, 3), R (B, 3, 3), T (B, 3), err_2d (B,), err_3d (B,)); R and T
        are differentiable w.r.t. x, y and weights where the solution is unique.
    """
    _check(x, y, weights)
    control = _control_points(x, weights)
    alphas = _barycentric(x, control)
    M = _projection_system(y, alphas, weights)
    _, vectors = torch.linalg.eigh(M.transpose(1, 2) @ M)
    kernel = vectors[:, :, :4].reshape(-1, 4, 3, 4)  # (B, control point, xyz, vector)
    candidates = [kernel[..., 0]]
    if not skip_quadratic_eq:
        L = _distance_system(kernel)
        rho = torch.stack([((control[:, a] - control[:, b]) ** 2).sum(-1) for a, b in _PAIRS], 1)
        for n, cols in _CASES:
            beta = _gauss_newton(L, rho, _linearised_betas(L, rho, n, cols))
            candidates.append((kernel @ beta[:, None, :, None])[..., 0])
    solutions = [_pose(c, alphas, x, y, weights) for c in candidates]
    stacked = EpnpSolution(*(torch.stack(field) for field in zip(*solutions)))
    best = stacked.err_2d.argmin(0)  # (B,)
    batch = torch.arange(x.shape[0], device=x.device)
    result = EpnpSolution(*(field[best, batch] for field in stacked))
    if bool((result.x_cam[..., 2] < 0).any()):
        share = float((result.x_cam[..., 2] < 0).to(x.dtype).mean())
        warn(f"efficient_pnp: {share:.2%} of the points are behind the camera (z < 0)")
    return result
