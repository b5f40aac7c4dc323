"""Benchmark case of chamfer_distance (run by ``r3d bench``).

``chamfer_fwd_bwd``: forward and backward w.r.t. both clouds, float32, 32 Gaussian clouds of
different sizes against as many (the size is the total number of points of each side).
Contenders: r3d's chamfer_distance (native nearest-neighbour search), the same loss with the
pure-PyTorch search ``knn_points_torch``, PyTorch3D's chamfer_distance when PyTorch3D is
importable (on the CPU only at the smaller size: its search is brute force there), and the
forward alone (no gradient) of the same loss with kd-trees of scipy (cKDTree) and pykdtree: two
trees per pair of clouds, built and queried, the mean squared distances summed as r3d's loss.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from r3d.bench.cases.knn import cpu_peer_available, pykdtree_knn, scipy_knn
from r3d.bench.contenders import op_contenders, pytorch3d_contender
from r3d.bench.registry import Contender, register_case
from r3d.loss import chamfer_distance
from r3d.loss.chamfer import chamfer_distance_with_knn
from r3d.ops.knn import knn_points_torch

NUM_CLOUDS = 32
# Relative cloud sizes 1..20: at 336,000 points in all, clouds of 1k to 20k points.
SHARES = torch.linspace(1, 20, NUM_CLOUDS, dtype=torch.float64)
SIZES = (33_600, 336_000)
QUICK_SIZES = (3_360,)
PYTORCH3D_CPU_MAX_SIZE = 33_600  # brute-force search on the CPU: minutes a call at 336k


def cloud_batch(total: int, device: torch.device, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded (N, max P_i, 3) float32 Gaussian clouds of NUM_CLOUDS different sizes adding up
    to about ``total`` points (sizes shuffled by ``seed``), and their (N,) int64 lengths."""
    gen = torch.Generator().manual_seed(seed)
    shares = SHARES[torch.randperm(NUM_CLOUDS, generator=gen)]
    lengths = torch.round(shares / shares.sum() * total).long().clamp(min=1)
    points = torch.randn(NUM_CLOUDS, int(lengths.max()), 3, generator=gen)
    points *= (torch.arange(points.shape[1])[None, :] < lengths[:, None])[..., None]
    return points.to(device), lengths.to(device)


def _setup(size: int, device: torch.device) -> dict:
    x, x_lengths = cloud_batch(size, device, seed=0)
    y, y_lengths = cloud_batch(size, device, seed=1)
    return {"x": x.requires_grad_(True), "y": y.requires_grad_(True),
            "x_lengths": x_lengths, "y_lengths": y_lengths}


def _fwd_bwd(op: Callable) -> Callable:
    def run(inputs):
        loss, _ = op(inputs["x"], inputs["y"], x_lengths=inputs["x_lengths"],
                     y_lengths=inputs["y_lengths"])
        return torch.autograd.grad(loss, (inputs["x"], inputs["y"]))

    return run


def _cloud_pairs(inputs: dict) -> list:
    """Per pair of clouds: (x, y) as NumPy float32 arrays of their valid rows."""
    return [(x[:n].detach().numpy(), y[:m].detach().numpy())
            for x, y, n, m in zip(inputs["x"], inputs["y"], inputs["x_lengths"].tolist(),
                                  inputs["y_lengths"].tolist())]


def _tree_chamfer(knn: Callable) -> Callable:
    """run(_cloud_pairs) of a kd-tree ``knn(1)``: the batch mean of each pair's mean squared
    distance from x to y plus from y to x (r3d's default reduction), forward only."""
    nearest = knn(1)

    def run(pairs: list) -> float:
        there = nearest(pairs)
        back = nearest([(y, x) for x, y in pairs])
        return sum(float((d1.astype("float64") ** 2).mean() + (d2.astype("float64") ** 2).mean())
                   for (d1, _), (d2, _) in zip(there, back)) / len(pairs)

    return run


register_case(
    "chamfer_fwd_bwd",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    setup=_setup,
    size_label="points",
    description=f"chamfer_distance forward + backward, float32, {NUM_CLOUDS} clouds of "
    "different sizes (1k to 20k points at the largest size) against as many",
    contenders=op_contenders(
        chamfer_distance, functools.partial(chamfer_distance_with_knn, knn_points_torch),
        _fwd_bwd,
    ) + [
        pytorch3d_contender("pytorch3d.loss.chamfer_distance", _fwd_bwd, PYTORCH3D_CPU_MAX_SIZE),
        Contender("scipy fwd", _tree_chamfer(scipy_knn), "peer",
                  cpu_peer_available("scipy.spatial"), _cloud_pairs),
        Contender("pykdtree fwd", _tree_chamfer(pykdtree_knn), "peer",
                  cpu_peer_available("pykdtree.kdtree"), _cloud_pairs),
    ],
    clouds=NUM_CLOUDS,
)
