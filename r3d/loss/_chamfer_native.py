"""The fused native path of :func:`r3d.loss.chamfer_distance` on the CPU.

One registered op searches both directions' nearest neighbours (kd-trees of every cloud of both
sides, built and queried in one parallel region) and returns each cloud's summed distances with
the neighbours' indices; its backward scatters the gradients onto both clouds natively. The
loss then only divides and adds (N,) sums. It covers 3D float32 / float64 clouds on the CPU with
a "mean" or "sum" point reduction and no normals; chamfer_distance runs its knn_points path for
everything else.
"""

from __future__ import annotations

import torch

from r3d._native import chamfer as bridge
from r3d._native.library import native_op
from r3d.value_checks import tracing


def _fake_forward(x, y, x_lengths, y_lengths, norm, directions):
    N, P1, P2 = x.shape[0], x.shape[1], y.shape[1]
    return (x.new_empty((directions, N)), x.new_empty((N, P1), dtype=torch.int32),
            x.new_empty((N, P2 if directions == 2 else 0), dtype=torch.int32))


@native_op("chamfer_distance", _fake_forward, device_types="cpu")
def chamfer_op(
    x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor, y_lengths: torch.Tensor,
    norm: int, directions: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Native sums (directions, N) and indices x_idx (N, P1), y_idx (N, P2 or 0) int32 (see
    the bridge); the sums are differentiable w.r.t. x and y."""
    return bridge.chamfer_forward(x, y, x_lengths, y_lengths, norm, directions)


@native_op("chamfer_distance_backward", lambda x, y, x_lengths, y_lengths, x_idx, y_idx,
           grad_sums, norm: (torch.empty_like(x), torch.empty_like(y)), device_types="cpu")
def chamfer_backward_op(
    x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor, y_lengths: torch.Tensor,
    x_idx: torch.Tensor, y_idx: torch.Tensor, grad_sums: torch.Tensor, norm: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Native gradients grad_x (N, P1, 3) and grad_y (N, P2, 3) of the sums."""
    return bridge.chamfer_backward(x, y, x_lengths, y_lengths, x_idx, y_idx,
                                   grad_sums.contiguous(), norm)


def _setup(ctx, inputs, output) -> None:
    x, y, x_lengths, y_lengths, norm, _ = inputs
    ctx.save_for_backward(x, y, x_lengths, y_lengths, output[1], output[2])
    ctx.norm = norm


def _backward(ctx, grad_sums: torch.Tensor, _grad_x_idx, _grad_y_idx) -> tuple:
    grad_x, grad_y = chamfer_backward_op(*ctx.saved_tensors, grad_sums, ctx.norm)
    return grad_x, grad_y, None, None, None, None


chamfer_op.register_autograd(_backward, setup_context=_setup)


def covers(x: torch.Tensor, y: torch.Tensor, normals: bool, point_reduction: str | None) -> bool:
    """Whether the fused path computes this chamfer_distance call (x, y checked clouds)."""
    return (x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and x.shape[2] == 3 and not normals and point_reduction in ("mean", "sum")
            and max(x.shape[1], y.shape[1]) <= bridge.MAX_POINTS)


def nearest_sums(
    x: torch.Tensor, y: torch.Tensor, x_lengths: torch.Tensor, y_lengths: torch.Tensor,
    norm: int, single_directional: bool,
) -> torch.Tensor:
    """(directions, N) sums over each cloud's valid points of the distance to the nearest point
    of the other cloud (0 when it is empty): from x to y, then from y to x unless
    single_directional. Differentiable w.r.t. x and y."""
    grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
    # the registered op for autograd and tracing; else its body without the dispatch's cost
    search = chamfer_op if grad or tracing(x) else bridge.chamfer_forward
    return search(x.contiguous(), y.contiguous(), x_lengths.contiguous(),
                  y_lengths.contiguous(), norm, 1 if single_directional else 2)[0]
