"""Point compositing: native kernels against the pure-PyTorch oracle, gradients, analytic
values, argument errors, the compositors' background and PointsRenderer."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from r3d._native import compositing as bridge
from r3d.errors import InputError
from r3d.renderer.points import (
    AlphaCompositor,
    NormWeightedCompositor,
    PointsRenderer,
    PointsRendererWithFragments,
    alpha_composite,
    norm_weighted_sum,
    weighted_sum,
)
from r3d.renderer.points.compositing_torch import (
    alpha_composite_torch,
    norm_weighted_sum_torch,
    weighted_sum_torch,
)
from r3d.structures import Pointclouds

OPS = {
    "alpha_composite": (alpha_composite, alpha_composite_torch),
    "norm_weighted_sum": (norm_weighted_sum, norm_weighted_sum_torch),
    "weighted_sum": (weighted_sum, weighted_sum_torch),
}


def random_fragments(
    points_per_image: list[int],
    K: int,
    H: int,
    W: int,
    C: int = 3,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pointsidx (N, K, H, W), alphas (N, K, H, W) in [0, 1) and features (C, sum P_n): image n
    sees only its own points (packed); about a third of the slots are empty, at the tail of
    some pixels and in the middle of others; images without points are all empty."""
    g = torch.Generator().manual_seed(seed)
    N = len(points_per_image)
    first = torch.tensor([0, *points_per_image]).cumsum(0)[:-1]
    sizes = torch.tensor(points_per_image)
    local = (torch.rand((N, K, H, W), generator=g) * sizes.clamp(min=1).view(N, 1, 1, 1)).long()
    idx = local + first.view(N, 1, 1, 1)
    hits = torch.randint(0, K + 1, (N, 1, H, W), generator=g)
    empty = torch.arange(K).view(1, K, 1, 1) >= hits  # -1 tails
    empty |= torch.rand((N, K, H, W), generator=g) < 0.15  # holes in the middle
    empty |= (sizes == 0).view(N, 1, 1, 1)
    idx = torch.where(empty, -1, idx)
    alphas = torch.rand((N, K, H, W), generator=g, dtype=dtype)
    features = torch.randn((C, sum(points_per_image)), generator=g, dtype=dtype)
    return idx, alphas, features


def renderer_layout(idx, alphas, features):
    """The same values in the layouts PointsRenderer passes: (N, H, W, K) tensors permuted to
    (N, K, H, W) and (P, C) features transposed."""

    def channels_last(t):
        return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)

    return channels_last(idx), channels_last(alphas), features.t().contiguous().t()


def leaves(*tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("layout", ["contiguous", "renderer"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_matches_torch(device, op, layout, dtype):
    native, oracle = OPS[op]
    idx, alphas, features = random_fragments([7, 0, 30], K=6, H=5, W=9, C=4, dtype=dtype)
    expected = oracle(idx, alphas, features)
    if layout == "renderer":
        idx, alphas, features = renderer_layout(idx, alphas, features)
    out = native(idx.to(device), alphas.to(device), features.to(device))
    assert out.shape == (3, 4, 5, 9) and out.dtype == dtype
    if layout == "renderer":  # computed in that layout, without copies
        assert out.is_contiguous(memory_format=torch.channels_last)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out.cpu(), expected, atol=tol, rtol=tol)
    assert (out[1] == 0).all()  # the image without points


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("layout", ["contiguous", "renderer"])
def test_native_grads_match_torch(device, op, layout):
    native, oracle = OPS[op]
    idx, alphas, features = random_fragments([11, 4], K=5, H=4, W=6)
    grad = torch.randn((2, 3, 4, 6), dtype=torch.float64)
    a0, f0 = leaves(alphas, features)
    expected = torch.autograd.grad(oracle(idx, a0, f0), [a0, f0], grad)
    if layout == "renderer":
        idx, alphas, features = renderer_layout(idx, alphas, features)
    a1, f1 = leaves(alphas.to(device), features.to(device))
    got = torch.autograd.grad(native(idx.to(device), a1, f1), [a1, f1], grad.to(device))
    for g, e in zip(got, expected):
        torch.testing.assert_close(g.cpu(), e, atol=1e-12, rtol=1e-12)
    assert (got[0].cpu()[idx < 0] == 0).all()


@pytest.mark.parametrize("op", OPS)
def test_many_threads(op):
    """Images large enough for the CPU launchers to split the pixels (and the backward's
    per-thread feature buffers) between threads."""
    native, oracle = OPS[op]
    idx, alphas, features = random_fragments([40, 25], K=8, H=40, W=36)
    grad = torch.randn((2, 3, 40, 36), dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        a, f = leaves(alphas, features)
        out = native(idx, a, f)
        got = torch.autograd.grad(out, [a, f], grad)
    finally:
        torch.set_num_threads(threads)
    a, f = leaves(alphas, features)
    expected_out = oracle(idx, a, f)
    expected = torch.autograd.grad(expected_out, [a, f], grad)
    torch.testing.assert_close(out, expected_out, atol=1e-12, rtol=1e-12)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("impl", ["native", "torch"])
def test_gradcheck(device, op, impl):
    fn = OPS[op][0 if impl == "native" else 1]
    idx, alphas, features = random_fragments([4, 3], K=4, H=3, W=2)
    idx = idx.to(device)
    a, f = leaves(alphas.to(device), features.to(device))
    assert torch.autograd.gradcheck(lambda a, f: fn(idx, a, f), (a, f))


def test_grad_of_one_input_only(device):
    idx, alphas, features = random_fragments([9], K=3, H=2, W=2)
    idx, alphas, features = idx.to(device), alphas.to(device), features.to(device)
    for op, (native, oracle) in OPS.items():
        (a,) = leaves(alphas)
        (ga,) = torch.autograd.grad(native(idx, a, features).sum(), [a])
        (ge,) = torch.autograd.grad(oracle(idx, a, features).sum(), [a])
        torch.testing.assert_close(ga, ge, msg=op)
        (f,) = leaves(features)
        (gf,) = torch.autograd.grad(native(idx, alphas, f).sum(), [f])
        (ge,) = torch.autograd.grad(oracle(idx, alphas, f).sum(), [f])
        torch.testing.assert_close(gf, ge, msg=op)


@pytest.mark.parametrize("op", OPS)
def test_opaque_and_clamped_alphas(device, op):
    """Alphas of exactly 1 (transmittance 0 behind them) and norm weights whose sum is under
    eps: native gradients stay finite and equal the oracle's."""
    native, oracle = OPS[op]
    idx = torch.tensor([0, 1, -1, 2]).view(1, 4, 1, 1).expand(2, 4, 1, 1).contiguous()
    alphas = torch.tensor([[0.3, 1.0, 0.5, 0.6], [2e-5, 1e-5, 0.5, 3e-5]], dtype=torch.float64)
    alphas = alphas.view(2, 4, 1, 1)
    features = torch.randn((2, 3), dtype=torch.float64)
    a0, f0 = leaves(alphas, features)
    expected = torch.autograd.grad(oracle(idx, a0, f0).sum(), [a0, f0])
    a1, f1 = leaves(alphas.to(device), features.to(device))
    got = torch.autograd.grad(native(idx.to(device), a1, f1).sum(), [a1, f1])
    for g, e in zip(got, expected):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g.cpu(), e)


@pytest.mark.parametrize("impl", ["native", "torch"])
def test_analytic_values(device, impl):
    pick = 0 if impl == "native" else 1
    composite, norm, wsum = (OPS[op][pick] for op in OPS)
    f = torch.tensor([[2.0, -1.0, 4.0], [0.5, 3.0, 1.0]], device=device)  # C = 2, P = 3

    def frags(points, alphas):
        idx = torch.tensor(points, device=device).view(1, -1, 1, 1)
        return idx, torch.tensor(alphas, device=device).view(1, -1, 1, 1)

    def pixel(out):
        return out[0, :, 0, 0]

    # one fragment with alpha a: a f for the alpha composite and the weighted sum, f normalised
    idx, a = frags([1], [0.25])
    for fn in (composite, wsum):
        torch.testing.assert_close(pixel(fn(idx, a, f)), 0.25 * f[:, 1])
    torch.testing.assert_close(pixel(norm(idx, a, f)), f[:, 1])
    # two fragments: a1 f1 + (1 - a1) a2 f2; an empty slot between them changes nothing
    a1, a2 = 0.25, 0.5
    want = a1 * f[:, 2] + (1 - a1) * a2 * f[:, 0]
    for points, alphas in (([2, 0], [a1, a2]), ([2, -1, 0, -1], [a1, 0.9, a2, 0.7])):
        idx, a = frags(points, alphas)
        torch.testing.assert_close(pixel(composite(idx, a, f)), want)
        torch.testing.assert_close(pixel(wsum(idx, a, f)), a1 * f[:, 2] + a2 * f[:, 0])
        torch.testing.assert_close(
            pixel(norm(idx, a, f)), (a1 * f[:, 2] + a2 * f[:, 0]) / (a1 + a2)
        )
    # weights summing to less than 1e-4 are divided by 1e-4, like PyTorch3D
    idx, a = frags([0], [2e-5])
    torch.testing.assert_close(pixel(norm(idx, a, f)), 0.2 * f[:, 0])
    # all-empty image, and no slots at all
    for K in (3, 0):
        idx = torch.full((2, K, 4, 5), -1, device=device)
        for fn in (composite, norm, wsum):
            out = fn(idx, torch.rand((2, K, 4, 5), device=device), f)
            assert out.shape == (2, 2, 4, 5) and (out == 0).all()


def test_no_points(device):
    idx = torch.full((1, 2, 3, 3), -1, device=device)
    alphas = torch.rand((1, 2, 3, 3), device=device, requires_grad=True)
    features = torch.zeros((3, 0), device=device, requires_grad=True)
    for native, _ in OPS.values():
        out = native(idx, alphas, features)
        ga, gf = torch.autograd.grad(out.sum(), [alphas, features])
        assert (out == 0).all() and (ga == 0).all() and gf.shape == (3, 0)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("impl", ["native", "torch"])
def test_bad_arguments(op, impl):
    fn = OPS[op][0 if impl == "native" else 1]
    idx, alphas, features = random_fragments([5], K=3, H=2, W=2, dtype=torch.float32)
    for bad in (5, -2):
        wrong = idx.clone()
        wrong[0, 1, 1, 0] = bad
        with pytest.raises(InputError, match=r"pointsidx has values in .* in \[-1, 4\]"):
            fn(wrong, alphas, features)
    with pytest.raises(InputError, match="pointsidx must be an int64"):
        fn(idx.int(), alphas, features)
    with pytest.raises(InputError, match="pointsidx must be an int64 tensor of shape"):
        fn(idx[0], alphas[0], features)
    with pytest.raises(InputError, match=r"alphas must be a float tensor of shape \(1, 3, 2, 2\)"):
        fn(idx, alphas[:, :2], features)
    with pytest.raises(InputError, match="alphas must be a float tensor"):
        fn(idx, idx, features)
    with pytest.raises(InputError, match="pt_clds must be a torch.float32 tensor"):
        fn(idx, alphas, features.double())
    with pytest.raises(InputError, match=r"pt_clds must be .* of shape \(C, P\)"):
        fn(idx, alphas, features[0])


def test_ext_checks_layouts():
    idx, alphas, features = random_fragments([5], K=3, H=2, W=4)
    with pytest.raises(InputError, match="alphas must be contiguous"):
        bridge.composite_forward("weighted_sum", idx, alphas.transpose(2, 3).contiguous()
                               .transpose(2, 3), features)
    cl_idx, cl_alphas, _ = renderer_layout(idx, alphas, features)
    with pytest.raises(InputError, match="alphas must be contiguous in torch.channels_last"):
        bridge.composite_forward("weighted_sum", cl_idx, alphas, features)
    with pytest.raises(InputError, match="op must be one of"):
        bridge.composite_forward("max", idx, alphas, features)
    out = bridge.composite_forward("weighted_sum", idx, alphas, features)
    wrong = idx.clone()
    wrong[0, 0, 0, 0] = 7
    with pytest.raises(InputError, match=r"weighted_sum backward: pointsidx has values"):
        bridge.composite_backward("weighted_sum", wrong, alphas, features, out, True, True)


def test_compositor_background(device):
    f = torch.tensor([[0.2, 0.4], [0.6, 0.8], [1.0, 0.0], [1.0, 1.0]], device=device)  # RGBA
    idx = torch.tensor([[0, -1], [-1, -1], [-1, 1]], device=device).T.reshape(1, 2, 1, 3)
    alphas = torch.full((1, 2, 1, 3), 0.5, device=device)
    plain = AlphaCompositor()(idx, alphas, f)
    torch.testing.assert_close(plain, alpha_composite(idx, alphas, f))
    assert (plain[0, :, 0, 1] == 0).all()

    red = torch.tensor([1.0, 0.0, 0.0, 1.0], device=device)
    for compositor, expected in (
        (AlphaCompositor(background_color=(1.0, 0.0, 0.0)), plain),  # alpha 1 appended
        (AlphaCompositor(background_color=red), plain),
        (NormWeightedCompositor(background_color=[1.0, 0.0, 0.0, 1.0]),
         norm_weighted_sum(idx, alphas, f)),
    ):
        out = compositor(idx, alphas, f)
        # only the pixel whose nearest slot is empty takes the background, even the one whose
        # second slot holds a point; the covered pixel keeps its composited value
        torch.testing.assert_close(out[0, :, 0, 1], red)
        torch.testing.assert_close(out[0, :, 0, 2], red)
        torch.testing.assert_close(out[0, :, 0, 0], expected[0, :, 0, 0])

    compositor = AlphaCompositor(background_color=(0.0, 0.0, 1.0))
    out = compositor(idx, alphas, f, background_color=0.5)  # a per-call override, every channel
    assert (out[0, :, 0, 1] == 0.5).all()
    with pytest.raises(InputError, match="background_color must have 4 values"):
        compositor(idx, alphas, f, background_color=(1.0, 0.0))
    with pytest.raises(InputError, match="background_color must have 4 values"):
        compositor(idx, alphas, f, background_color=torch.ones(2, 4))
    with pytest.raises(InputError, match="background_color must be a number or a sequence"):
        compositor(idx, alphas, f, background_color="red")


class StubRasterizer(torch.nn.Module):
    """Returns fixed fragments: idx (N, H, W, K), zbuf and dists, like a point rasteriser."""

    def __init__(self, idx, dists, radius):
        super().__init__()
        self.fragments = SimpleNamespace(idx=idx, zbuf=torch.ones_like(dists), dists=dists)
        self.raster_settings = SimpleNamespace(radius=radius, image_size=idx.shape[1:3],
                                               points_per_pixel=idx.shape[3])
        self.calls = []

    def forward(self, point_clouds, **kwargs):
        self.calls.append(kwargs)
        return self.fragments


def stub_scene(device):
    clouds = Pointclouds(
        points=[torch.randn(3, 3), torch.randn(2, 3)],
        features=[torch.rand(3, 4), torch.rand(2, 4)],
    ).to(device)
    g = torch.Generator().manual_seed(1)
    idx = torch.tensor([0, 1, 2, -1])[torch.randint(0, 4, (1, 4, 5, 3), generator=g)]
    idx = torch.cat([idx, torch.tensor([3, 4, -1])[torch.randint(0, 3, (1, 4, 5, 3), generator=g)]])
    dists = torch.rand((2, 4, 5, 3), generator=g) * 0.01
    return clouds, idx.to(device), dists.to(device)


def test_points_renderer(device):
    clouds, idx, dists = stub_scene(device)
    rasterizer = StubRasterizer(idx, dists, radius=0.1)
    renderer = PointsRenderer(rasterizer, AlphaCompositor(background_color=(0.0, 1.0, 0.0)))
    images = renderer(clouds, gamma=3)
    assert images.shape == (2, 4, 5, 4)
    assert rasterizer.calls == [{"gamma": 3}]
    pointsidx = idx.permute(0, 3, 1, 2)
    weights = (1 - dists.permute(0, 3, 1, 2) / 0.01).clamp(min=0)
    expected = alpha_composite(pointsidx, weights, clouds.features_packed().T)
    expected = torch.where(pointsidx[:, :1] < 0, torch.tensor([0.0, 1.0, 0.0, 1.0],
                           device=device)[:, None, None], expected)
    torch.testing.assert_close(images, expected.permute(0, 2, 3, 1))

    with_fragments = PointsRendererWithFragments(rasterizer, NormWeightedCompositor())
    images, fragments = with_fragments(clouds, background_color=(1.0, 1.0, 1.0, 1.0))
    assert fragments is rasterizer.fragments
    empty = idx[..., 0] < 0
    assert (images[empty] == 1).all()
    expected = norm_weighted_sum(pointsidx, weights, clouds.features_packed().T)
    torch.testing.assert_close(images[~empty], expected.permute(0, 2, 3, 1)[~empty])


def test_points_renderer_per_point_radius(device):
    clouds, idx, dists = stub_scene(device)
    radius = torch.tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 9.9]], device=device)  # (N, max P_i)
    renderer = PointsRenderer(StubRasterizer(idx, dists, radius), AlphaCompositor())
    r = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5], device=device)[idx.clamp(min=0)]
    weights = (1 - dists / r**2).clamp(min=0).permute(0, 3, 1, 2)
    expected = alpha_composite(idx.permute(0, 3, 1, 2), weights, clouds.features_packed().T)
    torch.testing.assert_close(renderer(clouds), expected.permute(0, 2, 3, 1))
    # the radius from a per-call raster_settings
    settings = SimpleNamespace(radius=0.1)
    weights = (1 - dists / 0.01).clamp(min=0).permute(0, 3, 1, 2)
    expected = alpha_composite(idx.permute(0, 3, 1, 2), weights, clouds.features_packed().T)
    torch.testing.assert_close(renderer(clouds, raster_settings=settings),
                               expected.permute(0, 2, 3, 1))
    with pytest.raises(InputError, match=r"radius must be a number or a tensor of shape \(2, 3\)"):
        PointsRenderer(StubRasterizer(idx, dists, radius[:, :2]), AlphaCompositor())(clouds)


def test_points_renderer_gradients_and_errors(device):
    clouds, idx, dists = stub_scene(device)
    features = clouds.features_packed().clone().requires_grad_(True)
    clouds = Pointclouds(points=clouds.points_list(), features=list(features.split([3, 2])))
    renderer = PointsRenderer(StubRasterizer(idx, dists, 0.1), AlphaCompositor())
    (grad,) = torch.autograd.grad(renderer(clouds).sum(), [features])
    assert grad.shape == (5, 4) and torch.isfinite(grad).all() and (grad != 0).any()
    bare = Pointclouds(points=clouds.points_list())
    with pytest.raises(InputError, match="point_clouds must have features"):
        renderer(bare)


def test_cuda_launchers_fail_cleanly_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from r3d import _C

    match = "r3d native kernel failed" if _C.with_cuda else "built without CUDA"
    shape = (1, 1, 1, 1, 1, 1, 0, False, False)
    with pytest.raises(RuntimeError, match=match):
        _C.composite_forward_cuda("float32", 0, 0, 0, shape, 0, 0, 0)
    with pytest.raises(RuntimeError, match=match):
        _C.composite_backward_cuda("float64", 0, 0, 0, 0, shape, 0, 0, 0)


def test_points_renderer_point_opacity_scales_the_weights():
    """point_opacity multiplies each fragment's weight: opacity 0 hides a point, and the
    gradient reaches the opacities."""
    from r3d.renderer import (
        FoVOrthographicCameras,
        PointsRasterizationSettings,
        PointsRasterizer,
    )

    points = torch.tensor([[0.0, 0.0, 1.0], [0.3, 0.0, 2.0]])
    clouds = Pointclouds([points], features=[torch.ones(2, 1)])
    rasterizer = PointsRasterizer(FoVOrthographicCameras(),
                                  PointsRasterizationSettings(image_size=16, radius=0.2))
    renderer = PointsRenderer(rasterizer, AlphaCompositor())
    full = renderer(clouds)
    opacity = torch.tensor([0.0, 1.0], requires_grad=True)
    faded = renderer(clouds, point_opacity=opacity)
    assert full[..., 0].sum() > faded[..., 0].sum() > 0
    only_second = renderer(Pointclouds([points[1:]], features=[torch.ones(1, 1)]))
    assert torch.allclose(faded, only_second)
    faded.sum().backward()
    assert opacity.grad[0] > 0
    with pytest.raises(InputError, match="point_opacity must be a tensor of shape \\(2,\\)"):
        renderer(clouds, point_opacity=torch.ones(3))
