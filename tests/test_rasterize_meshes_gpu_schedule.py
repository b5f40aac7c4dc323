"""The CUDA mesh rasteriser's schedule, run on the host (``emulate_cuda``): its coarse pass
(bins of 8, 16 or 32 pixels filled by count / scan / fill), its fine pass (a block per bin, a
thread per pixel, faces staged in chunks, faces of a bin in shuffled order), its naive path, and
its backward's warp sums, against the CPU kernel. Same bodies as on a GPU, so these tests cover
the GPU path's maths on machines without one."""

import pytest
import torch

from r3d._native import rasterize_meshes as bridge
from r3d._native.core import emulated, module
from r3d.errors import InputError


def random_faces(counts, dtype=torch.float64, seed=0, size=0.15, depth=(0.5, 2.5)):
    """Packed face_verts (F, 3, 3) of meshes of counts[n] faces scattered over NDC slightly past
    the image, with first / count (N,)."""
    g = torch.Generator().manual_seed(seed)
    F = sum(counts)
    centre = torch.rand(F, 1, 3, generator=g, dtype=torch.float64)
    centre = centre * torch.tensor([2.4, 2.4, depth[1] - depth[0]], dtype=torch.float64)
    centre = centre + torch.tensor([-1.2, -1.2, depth[0]], dtype=torch.float64)
    offsets = torch.randn(F, 3, 3, generator=g, dtype=torch.float64)
    face_verts = centre + size * offsets * torch.tensor([1.0, 1.0, 0.2], dtype=torch.float64)
    count = torch.tensor(counts, dtype=torch.int64)
    return face_verts.to(dtype), torch.cumsum(count, 0) - count, count


def rasterize(face_verts, first, count, settings, bin_size, emulate):
    return bridge.rasterize_meshes_forward(face_verts, first, count, settings, bin_size,
                                           emulate_cuda=emulate)


def assert_same(a, b):
    for x, y in zip(a, b):
        assert torch.equal(x, y)


#  counts, (H, W), K, blur_radius, perspective_correct, clip_barycentric_coords, cull_backfaces,
#  bin_size
CASES = [
    ([300, 0, 50], (37, 53), 1, 0.0, False, False, False, 0),
    ([0, 300, 0, 50, 0], (64, 64), 5, 1e-3, True, True, False, 0),
    ([120, 7], (40, 70), 12, 1e-3, True, False, True, 16),
    ([2000], (100, 90), 50, 1e-3, False, True, False, 32),
    ([200, 10], (30, 20), 3, 1e-4, True, True, True, 8),
    ([200, 10], (30, 20), 8, 1e-4, False, False, False, 9),  # rounded down to 8
    ([200, 10], (30, 20), 9, 1e-4, False, False, False, 30),  # covers the image: naive
    ([50], (5, 3), 2, 0.01, False, False, False, 0),  # image smaller than a bin
    ([0, 0], (16, 16), 4, 0.0, False, False, False, 0),  # no faces at all
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_emulated_cuda_forward_matches_cpu(case, dtype):
    counts, (H, W), K, blur, persp, clip, cull, bin_size = case
    face_verts, first, count = random_faces(counts, dtype, seed=len(counts) + K)
    settings = (len(counts), H, W, K, blur, persp, clip, cull)
    cpu = rasterize(face_verts, first, count, settings, 0, emulate=False)
    assert_same(rasterize(face_verts, first, count, settings, bin_size, emulate=True), cpu)
    if sum(counts):
        assert (cpu[0] >= 0).any()  # the scene is seen: the comparison is not of empty images


def test_emulated_cuda_forward_every_bin_side_and_naive():
    face_verts, first, count = random_faces([400, 0, 90], seed=3)
    settings = (3, 48, 40, 6, 2e-3, True, True, False)
    cpu = rasterize(face_verts, first, count, settings, 0, emulate=False)
    for bin_size in (0, 8, 16, 31, 32, 47, 48, 1000):
        assert_same(rasterize(face_verts, first, count, settings, bin_size, emulate=True), cpu)


def test_emulated_cuda_forward_never_drops_a_face_of_a_crowded_bin():
    """12,000 small faces over one 8 x 8 corner of the image: one bin holds them all, staged in
    many chunks, and every pixel still finds its nearest faces."""
    g = torch.Generator().manual_seed(1)
    F = 12_000
    centre = torch.rand(F, 1, 3, generator=g, dtype=torch.float64) * torch.tensor([0.2, 0.2, 2.0])
    centre = centre + torch.tensor([0.8, 0.8, 0.5])  # top-left corner: pixels (0..8, 0..8)
    face_verts = centre + 0.03 * torch.randn(F, 3, 3, generator=g, dtype=torch.float64)
    first, count = torch.tensor([0]), torch.tensor([F])
    settings = (1, 64, 64, 10, 1e-4, False, False, False)
    cpu = rasterize(face_verts, first, count, settings, 0, emulate=False)
    assert (cpu[0][0, :8, :8] >= 0).all()
    assert_same(rasterize(face_verts, first, count, settings, 8, emulate=True), cpu)


def backward_pair(face_verts, first, count, settings, seed=0):
    """The gradients w.r.t. face_verts of the CPU and the emulated CUDA backward for the same
    forward and random upstream gradients."""
    pix_to_face, zbuf, bary, dists = rasterize(face_verts, first, count, settings, 0, False)
    g = torch.Generator().manual_seed(seed)
    grads = [torch.randn(x.shape, generator=g, dtype=x.dtype) for x in (zbuf, bary, dists)]
    return [bridge.rasterize_meshes_backward(face_verts, pix_to_face, *grads, settings,
                                             emulate_cuda=emulate) for emulate in (False, True)]


@pytest.mark.parametrize("persp, clip", [(False, False), (True, True)])
def test_emulated_cuda_backward_matches_cpu(persp, clip):
    face_verts, first, count = random_faces([150, 0, 40], seed=5)
    cpu, on_gpu_schedule = backward_pair(face_verts, first, count, (3, 33, 41, 6, 1e-3, persp, clip,
                                                               False))
    assert cpu.abs().sum() > 0
    torch.testing.assert_close(on_gpu_schedule, cpu, rtol=1e-10, atol=1e-10)


def test_emulated_cuda_backward_sums_faces_shared_across_a_warp():
    """A few large faces cover the image, so the 32 lanes of a warp hold the same faces in their
    slots (peers of up to 32 lanes) and the warp sums carry almost all the gradient."""
    face_verts, first, count = random_faces([6], seed=2, size=1.5, depth=(1.0, 1.5))
    settings = (1, 24, 40, 4, 0.0, True, False, False)
    pix_to_face = rasterize(face_verts, first, count, settings, 0, False)[0]
    row = pix_to_face[0, 5, :32, 0]
    assert (row == row[0]).sum() >= 8  # many lanes of the warp share their nearest face
    cpu, on_gpu_schedule = backward_pair(face_verts, first, count, settings, seed=1)
    torch.testing.assert_close(on_gpu_schedule, cpu, rtol=1e-10, atol=1e-10)


def test_emulate_cuda_refuses_other_devices():
    face_verts, first, count = random_faces([3])
    with pytest.raises(InputError, match="emulate_cuda runs on CPU tensors"):
        emulated("rasterize_meshes", "rasterize_meshes_forward",
                         torch.device("cuda"), True)
    assert emulated("op", "name", face_verts.device, False) == "name"


def test_gpu_bin_side_choice():
    side = module().gpu_bin_side
    # a bin_size covering the image asks for the naive path; others are rounded down
    assert side(64, 1, 64, 48, [1, 1, 1]) == 0
    assert side(63, 1, 64, 48, [1, 1, 1]) == 32
    assert side(20, 1, 64, 48, [1, 1, 1]) == 16
    assert side(3, 1, 64, 48, [1, 1, 1]) == 8
    # small faces (each in about one bin whatever the side): the smallest bins waste least
    assert side(0, 8, 1024, 1024, [1_000_000, 1_000_000, 1_000_000]) == 8
    # faces spanning many bins: each face is filed into fewer, larger bins
    assert side(0, 8, 1024, 1024, [64_000_000, 16_000_000, 4_000_000]) == 32
    # millions of faces of about a pixel each at 1920 x 1080
    assert side(0, 1, 1080, 1920, [4_100_000, 4_030_000, 4_010_000]) == 8
    # a small image (too few bins to fill the GPU) of faces of about a bin of 8: the most bins
    assert side(0, 1, 64, 64, [40_000, 12_000, 10_000]) == 8
    # a small image of faces covering it: every side costs the same tests, the largest the
    # fewest entries
    assert side(0, 1, 64, 64, [64_000, 16_000, 4_000]) == 32
