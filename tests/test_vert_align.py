import pytest
import torch

from r3d.errors import InputError
from r3d.ops import vert_align
from r3d.structures import Meshes, Pointclouds


def bilinear(fmap, x, y):
    """Manual bilinear sample of a (C, H, W) map at x, y in [-1, 1] (align_corners=True,
    zeros outside)."""
    C, H, W = fmap.shape
    px, py = (x + 1) / 2 * (W - 1), (y + 1) / 2 * (H - 1)
    x0, y0 = int(torch.floor(px)), int(torch.floor(py))
    out = torch.zeros(C, dtype=fmap.dtype)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            w = (1 - abs(px - xi)) * (1 - abs(py - yi))
            if 0 <= xi < W and 0 <= yi < H:
                out += w * fmap[:, yi, xi]
    return out


def test_matches_manual_bilinear_sample():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64),
             torch.randn(2, 4, 6, 3, generator=g, dtype=torch.float64)]
    verts = torch.rand(2, 9, 3, generator=g, dtype=torch.float64) * 2.4 - 1.2  # some outside
    out = vert_align(feats, verts)
    assert out.shape == (2, 9, 7)
    for n in range(2):
        for v in range(9):
            x, y = verts[n, v, 0], verts[n, v, 1]
            expect = torch.cat([bilinear(f[n], x, y) for f in feats])
            torch.testing.assert_close(out[n, v], expect)


def test_structures_packed_and_gradients():
    g = torch.Generator().manual_seed(1)
    v0 = (torch.rand(4, 3, generator=g) - 0.5).requires_grad_(True)
    v1 = torch.rand(2, 3, generator=g) - 0.5
    fmap = torch.randn(2, 3, 8, 8, generator=g, requires_grad=True)
    faces = [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 1]])]
    meshes = Meshes([v0, v1], faces)
    padded = vert_align(fmap, meshes)
    assert padded.shape == (2, 4, 3)
    packed = vert_align(fmap, meshes, return_packed=True)
    assert packed.shape == (6, 3)
    torch.testing.assert_close(packed, torch.cat([padded[0], padded[1, :2]]))
    clouds = vert_align(fmap, Pointclouds([v0, v1]), return_packed=True)
    torch.testing.assert_close(clouds, packed)
    tensor_packed = vert_align(fmap, meshes.verts_padded(), return_packed=True)
    assert tensor_packed.shape == (8, 3)
    packed.sum().backward()
    assert v0.grad is not None and v0.grad[:, 2].abs().sum() == 0  # z is not used
    assert fmap.grad.abs().sum() > 0


def test_modes_are_passed_to_grid_sample():
    fmap = torch.arange(4.0).reshape(1, 1, 2, 2)
    verts = torch.tensor([[[-0.1, -0.9, 0.0], [4.0, 4.0, 0.0]]])
    near = vert_align(fmap, verts, interp_mode="nearest", padding_mode="border")
    assert near[0, :, 0].tolist() == [0.0, 3.0]
    assert vert_align(fmap, verts)[0, 1, 0] == 0.0  # zeros padding outside


def test_invalid_inputs():
    with pytest.raises(InputError, match="verts must be"):
        vert_align(torch.zeros(1, 2, 3, 3), torch.zeros(1, 5, 2))
    with pytest.raises(InputError, match=r"feats\[0\] must be a tensor of shape \(2, C, H, W\)"):
        vert_align(torch.zeros(1, 2, 3, 3), torch.zeros(2, 5, 3))
    with pytest.raises(InputError, match="feats must be"):
        vert_align([], torch.zeros(1, 5, 3))
