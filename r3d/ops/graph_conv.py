"""Graph convolution over mesh edges (PyTorch3D's ``GraphConv``) and its gather-scatter.

``gather_scatter(input, edges, directed)`` sums, for every vertex, the features of its
neighbours: with ``directed=False`` both ends of every edge receive the other's features; with
``directed=True`` only ``edges[k, 0]`` receives those of ``edges[k, 1]`` (PyTorch3D's convention).
Natively the edges are grouped by receiving vertex (a CSR) and every output row sums its own
neighbours, with no atomics; the backward pass is the same operation with the edges reversed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from r3d._checks import check_index_rows, check_positive_int, check_same_device, describe
from r3d._native import use_native
from r3d._native.library import in_float32, native_op
from r3d.errors import InputError
from r3d.ops.csr import csr_gather_sum_op, group_by

Csr = tuple[torch.Tensor, torch.Tensor]  # (ptr (V + 1,), col (M,)) int64


def neighbour_csr(edges: torch.Tensor, num_verts: int, directed: bool) -> Csr:
    """The neighbours every vertex gathers from, grouped by vertex.

    Args:
        edges: (E, 2) int64 in [0, num_verts).
        directed: True: vertex ``edges[k, 0]`` gathers ``edges[k, 1]``; False: both ways.
    Returns:
        ptr (V + 1,) and col (M,): vertex i gathers ``col[ptr[i]:ptr[i + 1]]`` (M = E or 2E).
    """
    if directed:
        ptr, order = group_by(edges[:, 0].contiguous(), num_verts)
        return ptr, edges[:, 1][order]
    flat = edges.reshape(-1)  # position 2k + s holds end s of edge k; its neighbour is 2k + 1 - s
    ptr, order = group_by(flat, num_verts)
    return ptr, flat[order ^ 1]


@native_op("gather_scatter", lambda x, ptr, col, reverse_ptr, reverse_col: torch.empty_like(x))
def gather_scatter_op(
    x: torch.Tensor, ptr: torch.Tensor, col: torch.Tensor, reverse_ptr: torch.Tensor,
    reverse_col: torch.Tensor,
) -> torch.Tensor:
    """Native gather-sum over the CSR (ptr, col) of a graph; (reverse_ptr, reverse_col) is the
    CSR of the reversed graph, which the backward gathers over (twice differentiable)."""
    return csr_gather_sum_op(x, ptr, col)


def _setup_gather_scatter(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs[1:])


def _gather_scatter_backward(ctx, grad: torch.Tensor) -> tuple:
    ptr, col, reverse_ptr, reverse_col = ctx.saved_tensors
    return gather_scatter_op(grad, reverse_ptr, reverse_col, ptr, col), None, None, None, None


gather_scatter_op.register_autograd(_gather_scatter_backward, setup_context=_setup_gather_scatter)


def gather_scatter_native(
    x: torch.Tensor, edges: torch.Tensor, directed: bool, csr: Csr | None = None
) -> torch.Tensor:
    """Native gather-scatter of checked inputs, reusing ``csr`` (from :func:`neighbour_csr`)
    when the caller already has it."""
    if csr is None:
        csr = neighbour_csr(edges, x.shape[0], directed)
    # an undirected graph is its own reverse
    reverse = neighbour_csr(edges.flip(1), x.shape[0], True) if directed else csr
    return in_float32(gather_scatter_op, x, *csr, *reverse)


def _check_graph(op: str, input: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Checks a gather-scatter's arguments; returns edges (as check_index_rows does)."""
    if not isinstance(input, torch.Tensor) or not input.is_floating_point() or input.dim() != 2:
        raise InputError(
            f"{op}: input must be a float tensor of shape (V, D), got {describe(input)}"
        )
    check_same_device(op, input=input, edges=edges)
    return check_index_rows(op, "edges", edges, 2, input.shape[0])


def gather_scatter(
    input: torch.Tensor, edges: torch.Tensor, directed: bool = False
) -> torch.Tensor:
    """Sum of the neighbours' features at every vertex.

    Args:
        input: (V, D) float vertex features.
        edges: (E, 2) int64 vertex indices in [0, V), same device.
        directed: False: ``out[a] += input[b]`` and ``out[b] += input[a]`` for every edge
            (a, b); True: only ``out[a] += input[b]``.
    Returns:
        (V, D) tensor, differentiable w.r.t. ``input``.
    """
    edges = _check_graph("gather_scatter", input, edges)
    if use_native(input, "gather_scatter"):
        return gather_scatter_native(input, edges, bool(directed))
    return gather_scatter_torch(input, edges, directed)


def gather_scatter_torch(
    input: torch.Tensor, edges: torch.Tensor, directed: bool = False
) -> torch.Tensor:
    """Pure-PyTorch :func:`gather_scatter` (index_add; any device, the oracle of the native)."""
    out = torch.zeros_like(input).index_add_(0, edges[:, 0], input[edges[:, 1]])
    if not directed:
        out = out.index_add_(0, edges[:, 1], input[edges[:, 0]])
    return out


class GraphConv(nn.Module):
    """One graph convolution: ``out = w0(verts) + gather_scatter(w1(verts), edges)``.

    Args:
        input_dim: features per input vertex.
        output_dim: features per output vertex.
        init: "normal" (weights N(0, 0.01^2), zero biases) or "zero" (zero weights, default
            biases), as in PyTorch3D.
        directed: whether the edges are directed (see :func:`gather_scatter`).
    """

    def __init__(
        self, input_dim: int, output_dim: int, init: str = "normal", directed: bool = False
    ) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            check_positive_int("GraphConv", name, value)
        if init not in ("normal", "zero"):
            raise InputError(f"GraphConv: init must be 'normal' or 'zero', got {init!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.directed = bool(directed)
        self.w0 = nn.Linear(input_dim, output_dim)
        self.w1 = nn.Linear(input_dim, output_dim)
        with torch.no_grad():
            for w in (self.w0, self.w1):
                if init == "normal":
                    nn.init.normal_(w.weight, mean=0.0, std=0.01)
                    w.bias.zero_()
                else:
                    w.weight.zero_()

    def forward(self, verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        """Args:
            verts: (V, input_dim) float vertex features.
            edges: (E, 2) int64 vertex indices in [0, V), same device.
        Returns:
            (V, output_dim) features.
        """
        return _graph_conv(self, verts, edges, gather_scatter)

    def extra_repr(self) -> str:
        return f"{self.input_dim} -> {self.output_dim}, directed={self.directed}"


def graph_conv_torch(conv: GraphConv, verts: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """``conv(verts, edges)`` with :func:`gather_scatter_torch` (tests and benchmarks)."""
    return _graph_conv(conv, verts, edges, gather_scatter_torch)


def _graph_conv(
    conv: GraphConv, verts: torch.Tensor, edges: torch.Tensor, gather: Callable
) -> torch.Tensor:
    op = "GraphConv"
    if not isinstance(verts, torch.Tensor) or verts.dim() != 2 or verts.shape[1] != conv.input_dim:
        raise InputError(
            f"{op}: verts must have shape (V, {conv.input_dim}), got {describe(verts)}"
        )
    if verts.shape[0] == 0:
        return verts.new_zeros((0, conv.output_dim)) * verts.sum()
    return conv.w0(verts) + gather(conv.w1(verts), edges, conv.directed)
