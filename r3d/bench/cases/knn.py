"""Benchmark cases of knn_points (run by ``r3d bench``).

``knn_K{K}_b{B}``: K nearest neighbours from a query cloud to a searched cloud of the same size,
uniform in the unit cube, float32. With B = 1 the size is the number of points of each cloud;
with B = 8 it is the total over eight clouds of different sizes (shares 1..8 shuffled). Contenders:
r3d (kd-tree / native), its pure-PyTorch twin (brute force, chunked; not run above 100k points),
scipy's cKDTree (build + query with ``workers=-1``, one tree per cloud), pykdtree's KDTree (an
OpenMP kd-tree: build + query, one tree per cloud, threads from ``OMP_NUM_THREADS``) and
PyTorch3D when it is importable (brute force on the CPU: not run there above 10k points).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import torch

from r3d.bench.contenders import native_available, pytorch3d_contender
from r3d.bench.registry import Contender, register_case
from r3d.ops import knn_points
from r3d.ops.knn import knn_points_torch

SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000,)
TORCH_MAX_SIZE = 100_000
PYTORCH3D_CPU_MAX_SIZE = 10_000  # brute force on the CPU: about a minute a call at 100k
SHARES = (3, 8, 1, 6, 2, 7, 4, 5)  # relative sizes of the clouds of a batch of 8


def cloud_batch(size: int, batch: int, device: torch.device, seed: int = 0) -> dict:
    """Query and searched clouds: p1, p2 (B, P, 3) padded float32 and their (B,) lengths."""
    gen = torch.Generator().manual_seed(seed)
    shares = SHARES[:batch] if batch > 1 else (1,)
    lengths = torch.tensor([max(1, size * s // sum(shares)) for s in shares])
    P = int(lengths.max())
    return {
        "p1": torch.rand(len(shares), P, 3, generator=gen).to(device),
        "p2": torch.rand(len(shares), P, 3, generator=gen).to(device),
        "lengths": lengths.to(device),
    }


def _run_knn(op: Callable, K: int) -> Callable:
    return lambda x: op(x["p1"], x["p2"], x["lengths"], x["lengths"], K=K)


def _peer_module(name: str):
    """The module ``name`` of an optional peer (looked up when needed, never at import)."""
    return importlib.import_module(name)


def cpu_peer_available(module: str) -> Callable[[torch.device], str | None]:
    """``available(device)`` of a CPU-only peer library whose ``module`` must import."""
    package = module.partition(".")[0]

    def available(device: torch.device) -> str | None:
        if device.type != "cpu":
            return f"{package} runs on the CPU only"
        try:
            _peer_module(module)
        except ImportError:
            return f"{package} is not installed"
        return None

    return available


def cloud_pairs(x: dict) -> list:
    """Per cloud: (queries, points) as NumPy float32 arrays of the valid rows."""
    lengths = x["lengths"].tolist()
    return [
        (x["p1"][b, :n].cpu().numpy(), x["p2"][b, :n].cpu().numpy())
        for b, n in enumerate(lengths)
    ]


def scipy_knn(K: int) -> Callable:
    """run(cloud_pairs) of scipy's cKDTree: a tree per searched cloud, its K nearest to each
    query (all cores)."""
    def run(clouds: list) -> list:
        cKDTree = _peer_module("scipy.spatial").cKDTree
        return [cKDTree(points).query(queries, k=K, workers=-1) for queries, points in clouds]

    return run


def pykdtree_knn(K: int) -> Callable:
    """run(cloud_pairs) of pykdtree's KDTree: a tree per searched cloud, its K nearest to each
    query (OpenMP threads)."""
    def run(clouds: list) -> list:
        KDTree = _peer_module("pykdtree.kdtree").KDTree
        return [KDTree(points).query(queries, k=K) for queries, points in clouds]

    return run


for _K in (1, 8, 32):
    for _batch in (1, 8):
        register_case(
            f"knn_K{_K}_b{_batch}",
            sizes=SIZES,
            quick_sizes=QUICK_SIZES,
            setup=lambda size, device, b=_batch: cloud_batch(size, b, device),
            size_label="points",
            description=f"knn_points K={_K}, "
            + ("one cloud" if _batch == 1 else f"{_batch} clouds of different sizes (total)")
            + ", uniform in the unit cube, float32",
            contenders=[
                Contender("r3d", _run_knn(knn_points, _K), "native", native_available),
                Contender("torch", _run_knn(knn_points_torch, _K), "torch",
                          max_size=TORCH_MAX_SIZE),
                Contender("scipy", scipy_knn(_K), "peer", cpu_peer_available("scipy.spatial"),
                          cloud_pairs),
                Contender("pykdtree", pykdtree_knn(_K), "peer",
                          cpu_peer_available("pykdtree.kdtree"), cloud_pairs),
                pytorch3d_contender("pytorch3d.ops.knn_points", lambda op, K=_K: _run_knn(op, K),
                                    PYTORCH3D_CPU_MAX_SIZE),
            ],
            K=_K,
            batch=_batch,
        )
