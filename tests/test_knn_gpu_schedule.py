"""The CUDA forward of knn_points, run on the host (``emulate_cuda``): the tiled schedule (a
block of 256 queries per cloud, the searched points staged tile by tile, each query's K best in
registers, for D <= 4 and K <= 32) and the brute-force body beyond, against the CPU kernel (a
kd-tree for large 3D clouds): same neighbours, same order, same tie rule."""

import pytest
import torch

from r3d._native import knn as bridge


def random_clouds(lengths1, lengths2, D, dtype=torch.float64, seed=0, grid=None):
    """Padded clouds p1 (N, max P1, D), p2 (N, max P2, D) and their lengths; with ``grid``,
    coordinates on an integer grid of that many steps (many equal distances: ties)."""
    g = torch.Generator().manual_seed(seed)
    N, P1, P2 = len(lengths1), max(lengths1, default=0), max(lengths2, default=0)
    p1 = torch.rand(N, P1, D, generator=g, dtype=torch.float64)
    p2 = torch.rand(N, P2, D, generator=g, dtype=torch.float64)
    if grid:
        p1, p2 = (p1 * grid).floor(), (p2 * grid).floor()
    return (p1.to(dtype), p2.to(dtype), torch.tensor(lengths1, dtype=torch.int64),
            torch.tensor(lengths2, dtype=torch.int64))


def assert_emulated_matches_cpu(p1, p2, l1, l2, K, norm):
    cpu = bridge.knn_points_forward(p1, p2, l1, l2, K, norm)
    gpu_schedule = bridge.knn_points_forward(p1, p2, l1, l2, K, norm, emulate_cuda=True)
    assert torch.equal(gpu_schedule[1], cpu[1])
    assert torch.equal(gpu_schedule[0], cpu[0])


@pytest.mark.parametrize("D", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("K", [1, 3, 8, 17, 32, 40])
def test_emulated_cuda_knn_matches_cpu(D, K):
    """Heterogeneous lengths (an empty cloud, a cloud smaller than K, several tiles of 256,
    queries past a block) and padded queries."""
    p1, p2, l1, l2 = random_clouds([300, 0, 5, 600], [700, 40, 0, 3], D, seed=D * 100 + K)
    assert_emulated_matches_cpu(p1, p2, l1, l2, K, 2)


@pytest.mark.parametrize("norm", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_emulated_cuda_knn_ties_and_norms(norm, dtype):
    """Points on a coarse integer grid: many neighbours at equal distances, ordered by index."""
    p1, p2, l1, l2 = random_clouds([200, 260], [500, 300], 3, dtype, seed=7, grid=4)
    assert_emulated_matches_cpu(p1, p2, l1, l2, 8, norm)


def grid_scene(seed=0, dtype=torch.float64):
    """Clouds for the grid schedule (p2 padded to >= 4096 points): a uniform cloud, two distant
    clusters (mostly empty cells), a flat cloud (z = 0), a small cloud, an empty one; queries
    inside and far outside the clouds."""
    g = torch.Generator().manual_seed(seed)
    P2, P1 = 5000, 700
    p2 = torch.zeros(5, P2, 3, dtype=torch.float64)
    p2[0] = torch.rand(P2, 3, generator=g, dtype=torch.float64)
    half = torch.rand(P2, 3, generator=g, dtype=torch.float64) * 0.05
    p2[1] = torch.where(torch.arange(P2)[:, None] % 2 == 0, half, half + 10.0)
    p2[2, :, :2] = torch.rand(P2, 2, generator=g, dtype=torch.float64)
    p2[3, :40] = torch.rand(40, 3, generator=g, dtype=torch.float64)
    p1 = torch.rand(5, P1, 3, generator=g, dtype=torch.float64) * 3 - 1  # many outside
    lengths2 = torch.tensor([P2, P2 - 1, 4500, 40, 0])
    lengths1 = torch.tensor([P1, 300, P1, 20, 10])
    return p1.to(dtype), p2.to(dtype), lengths1, lengths2


@pytest.mark.parametrize("K", [1, 5, 8, 32])
@pytest.mark.parametrize("norm", [1, 2])
def test_emulated_cuda_knn_grid_matches_cpu(K, norm):
    p1, p2, l1, l2 = grid_scene(seed=K)
    assert_emulated_matches_cpu(p1, p2, l1, l2, K, norm)


def test_emulated_cuda_knn_grid_ties_float32():
    """Points on a coarse integer grid (equal distances, duplicate points) in float32."""
    p1, p2, l1, l2 = random_clouds([500, 300], [5000, 4096], 3, torch.float32, seed=3, grid=6)
    assert_emulated_matches_cpu(p1, p2, l1, l2, 16, 2)
