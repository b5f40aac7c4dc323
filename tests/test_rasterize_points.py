"""rasterize_points: native kernel vs pure PyTorch, analytic footprints, bins, gradients, the
PointsRasterizer."""

import math

import pytest
import torch

from r3d._native import rasterize_points as bridge
from r3d.errors import InputError
from r3d.renderer import (
    FoVPerspectiveCameras,
    PointFragments,
    PointsRasterizationSettings,
    PointsRasterizer,
    look_at_view_transform,
)
from r3d.renderer.points import rasterize_points, rasterize_points_torch
from r3d.structures.pointclouds import Pointclouds

BOTH = [rasterize_points, rasterize_points_torch]


def random_clouds(dtype=torch.float64, device="cpu", seed=0, sizes=(60, 0, 1, 25, 140)):
    """Clouds of the given sizes in NDC (x, y in [-1.2, 1.2], depth in [-0.3, 3]: some points
    behind the camera), the empty one and the one of a single point included."""
    g = torch.Generator().manual_seed(seed)
    clouds = []
    for n in sizes:
        p = torch.rand(n, 3, generator=g, dtype=torch.float64) * 2.4 - 1.2
        p[:, 2] = torch.rand(n, generator=g, dtype=torch.float64) * 3.3 - 0.3
        clouds.append(p.to(dtype=dtype, device=device))
    return Pointclouds(clouds)


def pixel_centres(H: int, W: int):
    """NDC (x, y) of every pixel centre, (H, W) each: (0, 0) top-left, +x left, +y up."""
    m = min(H, W)
    x = (W - 2 * torch.arange(W, dtype=torch.float64) - 1) / m
    y = (H - 2 * torch.arange(H, dtype=torch.float64) - 1) / m
    return x[None, :].expand(H, W), y[:, None].expand(H, W)


def assert_same(a, b, max_mismatch=0.0):
    """idx equal (but for a fraction max_mismatch of the slots: float rounding at disc edges),
    zbuf and dists close where it is."""
    same = a[0] == b[0]
    assert (~same).float().mean().item() <= max_mismatch
    for x, y in zip(a[1:], b[1:]):
        torch.testing.assert_close(x[same], y[same])


def per_point_radius(clouds: Pointclouds, seed=1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    points = clouds.points_packed()
    return (torch.rand(points.shape[0], generator=g, dtype=torch.float64) * 0.3).to(points)


CONFIGS = [
    dict(image_size=16, radius=0.2, points_per_pixel=1),
    dict(image_size=(12, 20), radius=0.3, points_per_pixel=5),
    dict(image_size=(21, 11), radius=0.15, points_per_pixel=3, bin_size=4),
    dict(image_size=(9, 13), radius="per_point", points_per_pixel=40),  # K > hits everywhere
    dict(image_size=(18, 14), radius="per_point", points_per_pixel=2, bin_size=0),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_matches_torch(config, dtype, device):
    clouds = random_clouds(dtype, device, seed=len(str(config)))
    kw = dict(config)
    if kw["radius"] == "per_point":
        kw["radius"] = per_point_radius(clouds)
    native = rasterize_points(clouds, **kw)
    ref = rasterize_points_torch(clouds, **kw)
    size = kw["image_size"]
    H, W = (size, size) if isinstance(size, int) else size
    K = kw["points_per_pixel"]
    for t in native:
        assert t.shape == (5, H, W, K) and t.device.type == device
    assert native[0].dtype == torch.int64 and native[1].dtype == dtype
    assert (native[0][1] == -1).all()  # the empty cloud
    assert (native[0] >= 0).sum() > 50
    assert_same(native, ref, 0.0 if dtype == torch.float64 else 1e-3)


@pytest.mark.parametrize("fn", BOTH)
def test_sorted_by_depth_padded_and_in_their_own_cloud(fn):
    clouds = random_clouds()
    idx, zbuf, dists = fn(clouds, (17, 23), radius=0.3, points_per_pixel=6)
    empty = idx < 0
    assert (zbuf[empty] == -1).all() and (dists[empty] == -1).all()
    assert (empty[..., :-1] <= empty[..., 1:]).all()  # hits first, then padding
    z = torch.where(empty, math.inf, zbuf)
    assert (z[..., :-1] <= z[..., 1:]).all()
    first = clouds.cloud_to_packed_first_idx()[:, None, None, None]
    last = first + clouds.num_points_per_cloud()[:, None, None, None]
    assert (empty | ((idx >= first) & (idx < last))).all()
    # outputs are the points' own depth and squared distance to the pixel centre
    points = clouds.points_packed()
    hit = points[idx.clamp(min=0)]
    px, py = pixel_centres(17, 23)
    torch.testing.assert_close(zbuf[~empty], hit[..., 2][~empty])
    d2 = (hit[..., 0] - px[None, :, :, None]) ** 2 + (hit[..., 1] - py[None, :, :, None]) ** 2
    torch.testing.assert_close(dists[~empty], d2[~empty])
    assert (dists[~empty] < 0.3**2).all()


@pytest.mark.parametrize("fn", BOTH)
@pytest.mark.parametrize("size", [(40, 40), (30, 52), (52, 30)])
@pytest.mark.parametrize("centre", [(0.0, 0.0), (0.37, -0.21)])
def test_footprint_is_the_pixels_within_the_radius(fn, size, centre):
    H, W = size
    r = 0.33
    point = torch.tensor([[centre[0], centre[1], 2.0]], dtype=torch.float64)
    idx, zbuf, dists = fn(Pointclouds([point]), size, radius=r, points_per_pixel=2)
    px, py = pixel_centres(H, W)
    d2 = (px - centre[0]) ** 2 + (py - centre[1]) ** 2
    inside = d2 < r * r
    assert inside.sum() > 50
    assert torch.equal(idx[0, ..., 0] == 0, inside) and (idx[..., 1] == -1).all()
    torch.testing.assert_close(dists[0, ..., 0][inside], d2[inside])
    assert (zbuf[0, ..., 0][inside] == 2.0).all()
    # the footprint is a disc of radius r in NDC: about pi r^2 / (2 / min(H, W))^2 pixels
    assert inside.sum().item() == pytest.approx(math.pi * r * r * min(H, W) ** 2 / 4, rel=0.15)


@pytest.mark.parametrize("fn", BOTH)
def test_points_behind_the_camera_are_skipped(fn):
    points = torch.tensor([[0.0, 0.0, 1.0], [0.01, 0.0, -0.5], [0.0, 0.0, 0.0],
                           [0.02, 0.01, -1e-6]])
    idx, zbuf, _ = fn(Pointclouds([points]), 8, radius=0.5, points_per_pixel=4)
    assert set(idx.unique().tolist()) == {-1, 0, 2}
    covered = idx[..., 0] >= 0
    # depth 0 is in front (z >= 0, as PyTorch3D) and nearer than 1
    assert (idx[..., 0][covered] == 2).all() and (idx[..., 1][covered] == 0).all()
    assert (zbuf[..., 0][covered] == 0).all()


@pytest.mark.parametrize("fn", BOTH)
def test_k_larger_than_hits(fn):
    points = torch.tensor([[0.0, 0.0, 2.0], [0.05, 0.0, 1.0]])
    idx, zbuf, dists = fn(Pointclouds([points]), 10, radius=0.4, points_per_pixel=7)
    assert (idx[..., 2:] == -1).all() and (zbuf[..., 2:] == -1).all()
    assert (dists[..., 2:] == -1).all()
    both = idx[..., 1] >= 0
    assert both.sum() > 5
    assert (idx[..., 0][both] == 1).all() and (idx[..., 1][both] == 0).all()


@pytest.mark.parametrize("fn", BOTH)
def test_equal_depths_are_ordered_by_index(fn):
    points = torch.tensor([[0.0, 0.0, 1.0]] * 3 + [[0.01, 0.0, 0.5]])
    idx, _, _ = fn(Pointclouds([points]), 6, radius=0.7, points_per_pixel=3)
    covered = idx[..., 0] >= 0
    assert covered.sum() == 12
    assert (idx[covered] == torch.tensor([3, 0, 1])).all()


@pytest.mark.parametrize("fn", BOTH)
def test_radius_forms_agree(fn):
    clouds = random_clouds(sizes=(30, 12, 0, 7))
    kw = dict(image_size=(11, 15), points_per_pixel=4)
    scalar = fn(clouds, radius=0.2, **kw)
    packed = torch.full((49,), 0.2, dtype=torch.float64)
    padded = torch.full((4, 30), 0.2, dtype=torch.float64)
    for radius in (packed, padded, padded.tolist()):
        for a, b in zip(scalar, fn(clouds, radius=radius, **kw)):
            assert torch.equal(a, b)
    # per-point radii in padded form land on the right points
    radii = per_point_radius(clouds)
    padded = torch.zeros(4, 30, dtype=torch.float64)
    padded.view(-1)[clouds.padded_to_packed_idx()] = radii
    for a, b in zip(fn(clouds, radius=radii, **kw), fn(clouds, radius=padded, **kw)):
        assert torch.equal(a, b)
    # a zero radius covers nothing
    assert (fn(clouds, radius=0.0, **kw)[0] == -1).all()


@pytest.mark.parametrize("bin_size", [1, 3, 8, 10**12, None])
def test_heavy_overlap_in_one_bin_drops_nothing(bin_size):
    g = torch.Generator().manual_seed(4)
    # 20k points in a small square: every bin there holds thousands of them
    points = torch.rand(20000, 3, generator=g) * torch.tensor([0.4, 0.4, 2.0]) + torch.tensor(
        [-0.2, -0.2, 0.5])
    clouds = Pointclouds([points])
    kw = dict(image_size=(24, 20), radius=0.05, points_per_pixel=60)
    naive = rasterize_points(clouds, bin_size=0, **kw)
    binned = rasterize_points(clouds, bin_size=bin_size, max_points_per_bin=1, **kw)
    for a, b in zip(naive, binned):
        assert torch.equal(a, b)
    assert (naive[0][..., -1] >= 0).sum() > 10  # pixels with more than K points
    assert_same(naive, rasterize_points_torch(clouds, **kw), 1e-3)


def test_no_clouds_and_no_hits():
    for fn in BOTH:
        idx, zbuf, dists = fn(Pointclouds([torch.zeros(0, 3), torch.rand(3, 3) + 5]), (4, 5),
                              points_per_pixel=2)
        assert idx.shape == (2, 4, 5, 2) and (idx == -1).all() and (dists == -1).all()
        idx, _, _ = fn(Pointclouds([]), 6)
        assert idx.shape == (0, 6, 6, 8)


def gradcheck_clouds():
    g = torch.Generator().manual_seed(3)
    points = torch.rand(9, 3, generator=g, dtype=torch.float64) * 1.6 - 0.8
    points[:, 2] = points[:, 2] * 0.5 + 2
    return points


@pytest.mark.parametrize("fn", BOTH)
def test_gradcheck(fn):
    points = gradcheck_clouds()

    def outputs(p):
        return fn(Pointclouds([p[:6], p[6:]]), (7, 9), radius=0.5, points_per_pixel=3)[1:]

    assert torch.autograd.gradcheck(outputs, (points.requires_grad_(),), eps=1e-6, atol=1e-5)


def test_native_backward_matches_torch(device):
    clouds = random_clouds(torch.float64, device, seed=7)
    kw = dict(image_size=(14, 18), radius=0.25, points_per_pixel=4)
    grads, weights = [], None
    for fn in BOTH:
        points = clouds.points_packed().detach().clone().requires_grad_()
        outs = fn(Pointclouds(list(points.split(clouds.num_points_per_cloud().tolist()))),
                  **kw)[1:]
        if weights is None:
            g = torch.Generator().manual_seed(1)
            weights = [torch.randn(o.shape, generator=g, dtype=o.dtype).to(device)
                       for o in outs]
        sum((o * w).sum() for o, w in zip(outs, weights)).backward()
        grads.append(points.grad)
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1])


def test_bad_arguments_name_the_argument():
    clouds = random_clouds(torch.float32)
    P = clouds.points_packed().shape[0]
    cases = [
        (dict(image_size=(0, 4)), "image_size"),
        (dict(image_size=16.0), "image_size"),
        (dict(points_per_pixel=0), "points_per_pixel"),
        (dict(points_per_pixel=2.0), "points_per_pixel"),
        (dict(bin_size=-2), "bin_size"),
        (dict(max_points_per_bin=-1), "max_points_per_bin"),
        (dict(radius=-0.1), "radius"),
        (dict(radius=math.inf), "radius"),
        (dict(radius="big"), "radius"),
        (dict(radius=True), "radius"),
        (dict(radius=torch.full((P + 1,), 0.1)), "radius"),
        (dict(radius=torch.full((5, 3), 0.1)), "radius"),
        (dict(radius=torch.full((P,), math.nan)), "radius"),
        (dict(radius=torch.ones(P, dtype=torch.bool)), "radius"),
        (dict(radius=[[0.1, 0.2], [0.3]]), "radius"),
    ]
    for fn in BOTH:
        for kwargs, name in cases:
            with pytest.raises(InputError, match=name):
                fn(clouds, **kwargs)
        with pytest.raises(InputError, match="pointclouds must be a Pointclouds"):
            fn(clouds.points_packed())
        bad = Pointclouds([torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, math.nan]])])
        with pytest.raises(InputError, match="NaN"):
            fn(bad)


def test_native_bridge_rejects_bad_inputs():
    points, radius = torch.rand(4, 3), torch.full((4,), 0.1)
    settings = (1, 4, 4, 2)
    with pytest.raises(InputError, match="cloud_to_packed_first_idx \\+ num_points_per_cloud"):
        bridge.rasterize_points_forward(points, radius, torch.tensor([2]), torch.tensor([3]),
                                      settings, 0)
    with pytest.raises(InputError, match="radius must have"):
        bridge.rasterize_points_forward(points, radius.double(), torch.tensor([0]),
                                      torch.tensor([4]), settings, 0)
    with pytest.raises(InputError, match="settings"):
        bridge.rasterize_points_forward(points, radius, torch.tensor([0]), torch.tensor([4]),
                                      (1, 4, 4, 0), 0)
    with pytest.raises(InputError, match="idx has values"):
        bridge.rasterize_points_backward(points, torch.full((1, 4, 4, 2), 4),
                                       torch.zeros(1, 4, 4, 2), torch.zeros(1, 4, 4, 2), settings)


def test_native_kernel_survives_non_finite_values():
    # the public op rejects them; the kernel itself must stay in bounds and skip such points
    points = torch.tensor([[math.nan, 0.0, 1.0], [0.0, math.inf, 1.0], [0.0, 0.0, math.nan],
                           [0.0, 0.0, 1.0], [-math.inf, math.inf, 1.0]])
    radius = torch.tensor([0.5, 0.5, 0.5, math.nan, math.inf])
    idx, _, _ = bridge.rasterize_points_forward(points, radius, torch.tensor([0]),
                                              torch.tensor([5]), (1, 6, 7, 3), 2)
    assert (idx == -1).all()


def test_cuda_launchers_fail_cleanly_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from r3d import _C

    # a launch with no device must raise, not crash the interpreter
    match = "r3d native kernel failed" if _C.with_cuda else "built without CUDA"
    with pytest.raises(RuntimeError, match=match):
        _C.rasterize_points_forward_cuda("float32", 0, 0, 0, 0, (1, 2, 2, 1), 0, 0, 0, 0, 0)
    with pytest.raises(RuntimeError, match=match):
        _C.rasterize_points_backward_cuda("float64", 0, 0, 0, 0, (1, 2, 2, 1), 1, 0, 0)


def test_settings_and_fragments():
    s = PointsRasterizationSettings()
    assert (s.image_size, s.radius, s.points_per_pixel, s.bin_size, s.max_points_per_bin) == (
        256, 0.01, 8, None, None)
    points = torch.tensor([[0.0, 0.0, 1.0]], requires_grad=True)
    frags = PointFragments(*rasterize_points(Pointclouds([points]), 8, radius=0.3))
    assert frags.zbuf.requires_grad and not frags.idx.requires_grad
    idx, zbuf, dists = frags
    assert idx is frags.idx and zbuf is frags.zbuf and dists is frags.dists


def test_points_rasterizer_matches_manual_projection(device):
    g = torch.Generator().manual_seed(5)
    clouds = Pointclouds([(torch.rand(n, 3, generator=g) - 0.5).to(device) for n in (40, 0, 25)])
    R, T = look_at_view_transform(dist=2.5, elev=20.0, azim=30.0)
    cameras = FoVPerspectiveCameras(R=R, T=T, fov=50.0, device=device)
    settings = PointsRasterizationSettings(image_size=(20, 28), radius=0.08, points_per_pixel=3)
    rasterizer = PointsRasterizer(cameras=cameras, raster_settings=settings)
    frags = rasterizer(clouds)
    assert isinstance(frags, PointFragments)
    # by hand: NDC x, y from the full projection, z the view-space depth
    world = clouds.points_padded()
    view = cameras.get_world_to_view_transform().transform_points(world)
    ndc = cameras.transform_points_ndc(world)
    projected = clouds.update_padded(torch.cat([ndc[..., :2], view[..., 2:]], -1))
    assert torch.allclose(rasterizer.transform(clouds).points_packed(),
                          projected.points_packed())
    ref = rasterize_points(projected, (20, 28), radius=0.08, points_per_pixel=3)
    for a, b in zip(frags, ref):
        assert torch.equal(a, b)
    assert (frags.idx >= 0).sum() > 30
    assert (frags.zbuf[frags.idx >= 0] > 1.5).all()  # view depth, not NDC z
    # cameras and settings given to forward override the stored ones
    other = PointsRasterizationSettings(image_size=12, radius=0.2, points_per_pixel=1)
    frags = PointsRasterizer()(clouds, cameras=cameras, raster_settings=other)
    assert frags.idx.shape == (3, 12, 12, 1)


def test_points_rasterizer_errors():
    clouds = Pointclouds([torch.rand(5, 3)])
    with pytest.raises(InputError, match="cameras are required"):
        PointsRasterizer()(clouds)
    cameras = FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]] * 2))
    with pytest.raises(InputError, match="1 or 3 cameras"):
        PointsRasterizer(cameras)(clouds.extend(3))
    with pytest.raises(InputError, match="point_clouds must be a Pointclouds"):
        PointsRasterizer(cameras)(clouds.points_packed())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
class TestCudaKernel:
    """The CUDA kernel (coarse bins, a block per bin, warp-summed backward) gives the CPU
    kernel's result: the hit test rounds as on the CPU, so indices are equal exactly."""

    @staticmethod
    def both(clouds, **kw):
        cuda_kw = {k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
        return rasterize_points(clouds, **kw), rasterize_points(clouds.to("cuda"), **cuda_kw)

    def test_built_with_cuda(self):
        from r3d._native.core import built_with_cuda

        assert built_with_cuda()

    @pytest.mark.parametrize("bin_size", [None, 0, 8, 16, 32, 64])
    @pytest.mark.parametrize("K", [1, 5, 50])
    def test_matches_cpu(self, bin_size, K):
        clouds = random_clouds(torch.float32, seed=9, sizes=(600, 0, 1, 250, 1400))
        kw = dict(image_size=(70, 100), radius=per_point_radius(clouds), points_per_pixel=K,
                  bin_size=bin_size)
        cpu, gpu = self.both(clouds, **kw)
        for a, b in zip(cpu, gpu):
            torch.testing.assert_close(b.cpu(), a, rtol=0, atol=0)

    def test_crowded_bin_drops_nothing(self):
        """20,000 points over a 10 x 10 pixel corner: one bin holds them all."""
        g = torch.Generator().manual_seed(3)
        p = torch.rand(20_000, 3, generator=g) * torch.tensor([0.15, 0.15, 2.0])
        clouds = Pointclouds([p + torch.tensor([0.85, 0.85, 0.5])])
        cpu, gpu = self.both(clouds, image_size=128, radius=0.02, points_per_pixel=30)
        assert (cpu[0][0, :8, :8] >= 0).all()
        for a, b in zip(cpu, gpu):
            torch.testing.assert_close(b.cpu(), a, rtol=0, atol=0)

    @pytest.mark.parametrize("radius", [0.05, 0.8])  # 0.8: a warp's lanes share points
    def test_backward_matches_cpu(self, radius):
        clouds = random_clouds(torch.float64, seed=4, sizes=(300, 0, 40))
        grads = []
        for device in ("cpu", "cuda"):
            pts = clouds.points_packed().to(device).requires_grad_(True)
            moved = Pointclouds(list(pts.split(clouds.num_points_per_cloud().tolist())))
            idx, zbuf, dists = rasterize_points(moved, image_size=(40, 56), radius=radius,
                                                points_per_pixel=6)
            g = torch.Generator().manual_seed(0)
            wz = torch.randn(zbuf.shape, generator=g, dtype=zbuf.dtype).to(device)
            wd = torch.randn(dists.shape, generator=g, dtype=dists.dtype).to(device)
            (grad,) = torch.autograd.grad((zbuf * wz).sum() + (dists * wd).sum(), pts)
            grads.append(grad.cpu())
        torch.testing.assert_close(grads[1], grads[0], rtol=1e-9, atol=1e-12)
