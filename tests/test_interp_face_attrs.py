import pytest
import torch

from r3d.errors import InputError
from r3d.ops import interpolate_face_attributes
from r3d.structures.interp_face_attrs import interpolate_face_attributes_torch


def fragments(N=2, H=5, W=7, K=3, F=11, D=4, dtype=torch.float32, device="cpu", seed=0):
    """pix_to_face with about a third of the slots empty (-1), bary, face attributes."""
    g = torch.Generator().manual_seed(seed)
    p2f = torch.randint(-1, F, (N, H, W, K), generator=g)
    p2f[torch.rand(N, H, W, K, generator=g) < 0.25] = -1
    bary = torch.rand(N, H, W, K, 3, generator=g, dtype=torch.float64)
    bary = bary / bary.sum(-1, keepdim=True)
    attrs = torch.randn(F, 3, D, generator=g, dtype=torch.float64)
    to = dict(dtype=dtype, device=device)
    return p2f.to(device), bary.to(**to), attrs.to(**to)


@pytest.mark.parametrize("K,D", [(1, 3), (4, 1), (3, 7)])
def test_native_matches_torch(device, K, D):
    p2f, bary, attrs = fragments(K=K, D=D, device=device, seed=K + D)
    bary.requires_grad_(True)
    attrs.requires_grad_(True)
    got = interpolate_face_attributes(p2f, bary, attrs)
    ref = interpolate_face_attributes_torch(p2f, bary, attrs)
    assert got.shape == (2, 5, 7, K, D)
    torch.testing.assert_close(got, ref)
    assert (got[p2f < 0] == 0).all()
    grad = torch.randn_like(got)
    g_got = torch.autograd.grad(got, (bary, attrs), grad)
    g_ref = torch.autograd.grad(ref, (bary, attrs), grad)
    for a, b in zip(g_got, g_ref):
        torch.testing.assert_close(a, b)


def test_values_by_hand(device):
    # face 1 corners: [9..11], [12..14], [15..17]
    attrs = torch.arange(18.0, device=device).reshape(2, 3, 3)
    p2f = torch.tensor([[[[1, -1]]]], device=device)
    bary = torch.tensor([[[[[0.5, 0.25, 0.25], [1.0, 0.0, 0.0]]]]], device=device)
    out = interpolate_face_attributes(p2f, bary, attrs)
    assert out.device.type == device
    expect = 0.5 * attrs[1, 0] + 0.25 * attrs[1, 1] + 0.25 * attrs[1, 2]
    torch.testing.assert_close(out[0, 0, 0, 0], expect)
    assert (out[0, 0, 0, 1] == 0).all()


@pytest.mark.parametrize("impl", [interpolate_face_attributes, interpolate_face_attributes_torch])
def test_gradcheck(device, impl):
    p2f, bary, attrs = fragments(N=1, H=3, W=3, K=2, F=4, D=2, dtype=torch.float64,
                                 device=device, seed=3)
    bary.requires_grad_(True)
    attrs.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda b, a: impl(p2f, b, a), (bary, attrs))


def test_attribute_gradient_sums_bary_per_face(device):
    p2f, bary, attrs = fragments(device=device, seed=4)
    attrs.requires_grad_(True)
    (g,) = torch.autograd.grad(interpolate_face_attributes(p2f, bary, attrs).sum(), attrs)
    # d sum / d attrs[f, j, d] = sum of bary[j] over f's slots
    bsum = torch.zeros(attrs.shape[0], 3).index_add_(0, p2f[p2f >= 0], bary[p2f >= 0])
    torch.testing.assert_close(g, bsum[:, :, None].expand_as(g))


def test_empty_image_and_no_faces(device):
    p2f = torch.full((1, 2, 2, 1), -1, dtype=torch.int64, device=device)
    bary = torch.rand(1, 2, 2, 1, 3, device=device)
    attrs = torch.zeros(0, 3, 5, device=device)
    out = interpolate_face_attributes(p2f, bary, attrs)
    assert out.shape == (1, 2, 2, 1, 5) and (out == 0).all()
    empty = interpolate_face_attributes(p2f[:0], bary[:0], attrs)
    assert empty.shape == (0, 2, 2, 1, 5)


@pytest.mark.parametrize("impl", [interpolate_face_attributes, interpolate_face_attributes_torch])
def test_invalid_inputs(device, impl):
    p2f, bary, attrs = fragments(device=device)
    for bad in (11, -2):
        wrong = p2f.clone()
        wrong[0, 0, 0, 0] = bad
        with pytest.raises(InputError, match="pix_to_face has values"):
            impl(wrong, bary, attrs)
    with pytest.raises(InputError, match="barycentric_coords must be"):
        impl(p2f, bary[..., :2], attrs)
    with pytest.raises(InputError, match="face_attributes must be"):
        impl(p2f, bary, attrs[:, :2])
    with pytest.raises(InputError, match="pix_to_face must be an int64"):
        impl(p2f.int(), bary, attrs)
    with pytest.raises(InputError, match="one dtype"):
        impl(p2f, bary.double(), attrs)
    covered = tuple(torch.nonzero(p2f >= 0)[0].tolist())
    nan_bary = bary.clone()
    nan_bary[covered] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        impl(p2f, nan_bary, attrs)
    nan_attrs = attrs.clone()
    nan_attrs[p2f[covered]] = float("inf")
    with pytest.raises(InputError, match="NaN"):
        impl(p2f, bary, nan_attrs)
    # values at empty slots are never read
    empty = tuple(torch.nonzero(p2f < 0)[0].tolist())
    nan_bary = bary.clone()
    nan_bary[empty] = float("nan")
    assert torch.isfinite(impl(p2f, nan_bary, attrs)).all()
