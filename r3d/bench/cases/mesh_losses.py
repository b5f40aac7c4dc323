"""Benchmark cases of GraphConv and the mesh regularisers (run by ``r3d bench``).

``graph_conv_fwd_bwd``, ``mesh_edge_loss_fwd_bwd``, ``mesh_laplacian_smoothing_fwd_bwd`` and
``mesh_normal_consistency_fwd_bwd``: each runs forward + backward on a batch of bumpy grid
meshes of different sizes (16 to 64 meshes of about 1k to 30k faces; the size is the total
number of faces), float32, and compares r3d (native kernels on CPU and CUDA) with the
pure-PyTorch twin. The batch's topology (edges, uniform Laplacian) is computed once outside the
timing, as in an optimisation loop where the vertices change and the faces do not
(``Meshes.update_padded``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from r3d.bench.cases._inputs import MESH_SHARES, grid_mesh
from r3d.bench.contenders import register_op_cases
from r3d.loss import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from r3d.loss.mesh_edge_loss import mesh_edge_loss_torch
from r3d.loss.mesh_laplacian_smoothing import mesh_laplacian_smoothing_torch
from r3d.loss.mesh_normal_consistency import mesh_normal_consistency_torch
from r3d.ops import GraphConv
from r3d.ops.graph_conv import graph_conv_torch
from r3d.structures import Meshes

SIZES = (50_000, 200_000, 1_000_000)
QUICK_SIZES = (10_000,)
FACES_PER_MESH = 16_000  # average; the batch has 16 to 64 meshes
FEATURES = 32  # GraphConv input and output features


def mesh_batch(size: int, device: torch.device) -> Meshes:
    """Grid meshes with about ``size`` faces together, of sizes in the ratios MESH_SHARES."""
    gen = torch.Generator().manual_seed(0)
    count = min(64, max(16, size // FACES_PER_MESH))
    shares = [MESH_SHARES[i % len(MESH_SHARES)] for i in range(count)]
    meshes = [grid_mesh(size * s // sum(shares), gen) for s in shares]
    return Meshes([v.to(device) for v, _ in meshes], [f.to(device) for _, f in meshes])


def _loss_setup(size: int, device: torch.device) -> dict:
    meshes = mesh_batch(size, device)
    meshes.edges_packed()
    meshes.laplacian_packed()
    return {"meshes": meshes, "verts": meshes.verts_padded().clone().requires_grad_(True)}


def _loss_run(loss: Callable) -> Callable:
    def run(x):
        value = loss(x["meshes"].update_padded(x["verts"]))
        return torch.autograd.grad(value, x["verts"])

    return run


def _conv_setup(size: int, device: torch.device) -> dict:
    meshes = mesh_batch(size, device)
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(0)
    feats = torch.randn(meshes.verts_packed().shape[0], FEATURES, generator=gen)
    return {
        "conv": GraphConv(FEATURES, FEATURES).to(device),
        "feats": feats.to(device).requires_grad_(True),
        "edges": meshes.edges_packed(),
    }


def _conv_run(op: Callable) -> Callable:
    def run(x):
        out = op(x["conv"], x["feats"], x["edges"])
        return torch.autograd.grad(out, [x["feats"], *x["conv"].parameters()], out)

    return run


def _graph_conv(conv: GraphConv, feats: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    return conv(feats, edges)


_COMMON = dict(
    pytorch3d=None,
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    size_label="faces",
)
_BATCH = "float32, 16-64 grid meshes of different sizes"

register_op_cases(
    "graph_conv",
    [("_fwd_bwd", _conv_setup, _conv_run, "forward + backward")],
    native=_graph_conv,
    torch_op=graph_conv_torch,
    description=f"GraphConv({FEATURES}, {FEATURES}) {{what}} over the edges of {_BATCH}",
    **_COMMON,
)
for _name, _native, _torch in (
    ("mesh_edge_loss", mesh_edge_loss, mesh_edge_loss_torch),
    ("mesh_laplacian_smoothing", mesh_laplacian_smoothing, mesh_laplacian_smoothing_torch),
    ("mesh_normal_consistency", mesh_normal_consistency, mesh_normal_consistency_torch),
):
    register_op_cases(
        _name,
        [("_fwd_bwd", _loss_setup, _loss_run, "forward + backward w.r.t. the vertices")],
        native=_native,
        torch_op=_torch,
        description=f"{_name} {{what}}, {_BATCH}"
        + (" (uniform)" if _name == "mesh_laplacian_smoothing" else ""),
        **_COMMON,
    )
