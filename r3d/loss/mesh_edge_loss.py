"""Edge-length regulariser of meshes (PyTorch3D's ``mesh_edge_loss``)."""

from __future__ import annotations

import numbers

import torch

from r3d._native import mesh_losses as bridge
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.loss._mesh_batch import check_meshes, empty_loss, per_item_mean
from r3d.ops.csr import scatter_add_rows
from r3d.structures import Meshes


def mesh_edge_loss(meshes: Meshes, target_length: float = 0.0) -> torch.Tensor:
    """Mean squared deviation of the edge lengths from ``target_length``.

    Every edge of ``meshes.edges_packed()`` contributes ``(|v_a - v_b| - target_length)^2``,
    weighted by 1 / (edges of its mesh); the weighted sum is divided by N, the number of meshes
    (meshes without edges count as 0).

    Args:
        meshes: N meshes.
        target_length: the length edges are pulled towards.
    Returns:
        () tensor, differentiable w.r.t. the vertices; 0 when no mesh has a face.
    """
    return _edge_loss(meshes, target_length, native=True)


def mesh_edge_loss_torch(meshes: Meshes, target_length: float = 0.0) -> torch.Tensor:
    """Pure-PyTorch :func:`mesh_edge_loss` (any device; the oracle of the native kernel)."""
    return _edge_loss(meshes, target_length, native=False)


def _edge_loss(meshes: Meshes, target_length: float, native: bool) -> torch.Tensor:
    op = "mesh_edge_loss"
    check_meshes(op, meshes)
    if isinstance(target_length, bool) or not isinstance(target_length, numbers.Real):
        raise InputError(f"{op}: target_length must be a real number, got {target_length!r}")
    if meshes.isempty():
        return empty_loss(meshes)
    verts, edges = meshes.verts_packed(), meshes.edges_packed()
    if native and use_native(verts, op):
        sq = in_float32(edge_loss_op, verts, edges, float(target_length))
    else:
        v0, v1 = verts[edges].unbind(1)
        sq = ((v0 - v1).norm(dim=1) - target_length) ** 2
    return per_item_mean(sq, meshes.edges_packed_to_mesh_idx(), len(meshes))


@native_op("mesh_edge_loss", lambda verts, edges, target: verts.new_empty((edges.shape[0],)))
def edge_loss_op(verts: torch.Tensor, edges: torch.Tensor, target: float) -> torch.Tensor:
    """Native per-edge squared length deviations (E,) of verts (V, 3) and edges (E, 2)."""
    return bridge.edge_loss_forward(verts.contiguous(), edges, target)


@native_op("mesh_edge_loss_backward",
           lambda verts, edges, grad, target: torch.empty_like(verts))
def edge_loss_backward_op(
    verts: torch.Tensor, edges: torch.Tensor, grad: torch.Tensor, target: float
) -> torch.Tensor:
    """Native backward: the gradient w.r.t. verts (V, 3)."""
    verts = verts.contiguous()
    grad_ends = bridge.edge_loss_backward(verts, edges, grad.contiguous(), target)
    return scatter_add_rows(grad_ends.view(-1, 3), edges.view(-1), verts.shape[0])


def _setup_edge_loss(ctx, inputs, output) -> None:
    ctx.save_for_backward(inputs[0], inputs[1])
    ctx.target = inputs[2]


edge_loss_op.register_autograd(
    lambda ctx, grad: (edge_loss_backward_op(*ctx.saved_tensors, grad, ctx.target), None, None),
    setup_context=_setup_edge_loss,
)
