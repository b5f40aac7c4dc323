"""Benchmark cases of ball_query (run by ``r3d bench``).

``ball_query_b4_K16``: the first 16 points within radius 0.05 of each point of 4 query clouds,
in 4 searched clouds of the same size (the case's size: points per cloud), all uniform in the
unit cube, float32, with the neighbours' coordinates (return_nn). Contenders: r3d (native: a
grid per cloud), its pure-PyTorch twin (brute force, chunked: small sizes only) and PyTorch3D
when importable (brute force on the CPU: about half a minute a call at 20k points).
"""

from __future__ import annotations

import torch

from r3d.bench.contenders import op_contenders
from r3d.bench.registry import register_case
from r3d.ops import ball_query
from r3d.ops.ball_query import ball_query_torch

BATCH = 4
K = 16
RADIUS = 0.05
PYTORCH3D_OP = "pytorch3d.ops.ball_query.ball_query"


def cloud_pair(size: int, device: torch.device, seed: int = 0) -> dict:
    """Query and searched clouds p1, p2 (BATCH, size, 3) float32 and their (BATCH,) lengths."""
    gen = torch.Generator().manual_seed(seed)
    return {
        "p1": torch.rand(BATCH, size, 3, generator=gen).to(device),
        "p2": torch.rand(BATCH, size, 3, generator=gen).to(device),
        "lengths": torch.full((BATCH,), size, dtype=torch.int64).to(device),
    }


def _run(op):
    return lambda x: op(x["p1"], x["p2"], x["lengths"], x["lengths"], K=K, radius=RADIUS)


register_case(
    f"ball_query_b{BATCH}_K{K}",
    sizes=(2_000, 20_000),
    quick_sizes=(1_000,),
    setup=cloud_pair,
    contenders=op_contenders(ball_query, ball_query_torch, _run, PYTORCH3D_OP,
                             torch_max_size=2_000),
    size_label="points per cloud",
    description=f"ball_query K={K}, radius {RADIUS}, {BATCH} clouds against {BATCH}, uniform in "
    "the unit cube, float32, with the neighbours",
    K=K,
    radius=RADIUS,
    batch=BATCH,
)
