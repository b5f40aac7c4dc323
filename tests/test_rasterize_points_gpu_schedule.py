"""The CUDA point rasteriser's schedule, run on the host (``emulate_cuda``): the coarse pass it
shares with the mesh rasteriser, its fine pass (a block per bin, points staged in chunks and
visited in shuffled order), its naive path and its backward's warp sums, against the CPU
kernel."""

import pytest
import torch

from r3d._native import rasterize_points as bridge


def random_clouds(counts, dtype=torch.float64, seed=0, radius=(0.01, 0.1)):
    """Packed points (P, 3) of clouds of counts[n] points over NDC slightly past the image (some
    behind the camera), radii (P,) in the given range, and first / count (N,)."""
    g = torch.Generator().manual_seed(seed)
    P = sum(counts)
    points = torch.rand(P, 3, generator=g, dtype=torch.float64) * torch.tensor([2.4, 2.4, 3.0])
    points = points - torch.tensor([1.2, 1.2, 0.3])  # depth -0.3 .. 2.7
    radii = radius[0] + (radius[1] - radius[0]) * torch.rand(P, generator=g, dtype=torch.float64)
    count = torch.tensor(counts, dtype=torch.int64)
    return points.to(dtype), radii.to(dtype), torch.cumsum(count, 0) - count, count


def rasterize(points, radii, first, count, settings, bin_size, emulate):
    return bridge.rasterize_points_forward(points, radii, first, count, settings, bin_size,
                                           emulate_cuda=emulate)


#  counts, (H, W), K, bin_size
CASES = [
    ([500, 0, 80], (37, 53), 1, 0),
    ([0, 300, 0, 50, 0], (64, 64), 5, 0),
    ([400, 7], (40, 70), 12, 16),
    ([3000], (90, 100), 50, 32),
    ([200, 10], (30, 20), 8, 9),  # rounded down to 8
    ([200, 10], (30, 20), 9, 30),  # covers the image: naive
    ([50], (5, 3), 2, 0),  # image smaller than a bin
    ([0, 0], (16, 16), 4, 0),  # no points at all
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_emulated_cuda_forward_matches_cpu(case, dtype):
    counts, (H, W), K, bin_size = case
    points, radii, first, count = random_clouds(counts, dtype, seed=len(counts) + K)
    settings = (len(counts), H, W, K)
    cpu = rasterize(points, radii, first, count, settings, 0, emulate=False)
    emulated = rasterize(points, radii, first, count, settings, bin_size, emulate=True)
    for x, y in zip(emulated, cpu):
        assert torch.equal(x, y)
    if sum(counts):
        assert (cpu[0] >= 0).any()


def test_emulated_cuda_forward_never_drops_a_point_of_a_crowded_bin():
    """15,000 points over one 8 x 8 corner of the image: one bin holds them all."""
    g = torch.Generator().manual_seed(4)
    P = 15_000
    points = torch.rand(P, 3, generator=g, dtype=torch.float64) * torch.tensor([0.25, 0.25, 2.0])
    points = points + torch.tensor([0.75, 0.75, 0.5])  # pixels (0..8, 0..8)
    radii = torch.full((P,), 0.02, dtype=torch.float64)
    first, count = torch.tensor([0]), torch.tensor([P])
    settings = (1, 64, 64, 12)
    cpu = rasterize(points, radii, first, count, settings, 0, emulate=False)
    assert (cpu[0][0, :8, :8] >= 0).all()  # every slot of every pixel of the bin is taken
    emulated = rasterize(points, radii, first, count, settings, 8, emulate=True)
    for x, y in zip(emulated, cpu):
        assert torch.equal(x, y)


@pytest.mark.parametrize("radius", [(0.01, 0.1), (0.5, 1.5)])
def test_emulated_cuda_backward_matches_cpu(radius):
    """Small points, and large ones that the 32 lanes of a warp share (warp sums of many
    peers)."""
    points, radii, first, count = random_clouds([120, 0, 40], seed=6, radius=radius)
    settings = (3, 33, 41, 6)
    idx, zbuf, dists = rasterize(points, radii, first, count, settings, 0, emulate=False)
    if radius[0] > 0.4:
        row = idx[0, 5, :32, 0]
        assert (row == row.mode().values).sum() >= 8  # many lanes of a warp share a point
    g = torch.Generator().manual_seed(0)
    grad_zbuf = torch.randn(zbuf.shape, generator=g, dtype=zbuf.dtype)
    grad_dists = torch.randn(dists.shape, generator=g, dtype=dists.dtype)
    cpu, on_gpu_schedule = (
        bridge.rasterize_points_backward(points, idx, grad_zbuf, grad_dists, settings,
                                         emulate_cuda=emulate)
        for emulate in (False, True)
    )
    assert cpu.abs().sum() > 0
    torch.testing.assert_close(on_gpu_schedule, cpu, rtol=1e-10, atol=1e-10)
