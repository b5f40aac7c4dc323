"""The shape-prediction networks: shapes, the image-sampling convention, gradients, and that
an encoder with a mesh head can fit a target."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from r3d.errors import InputError
from r3d.loss import chamfer_distance
from r3d.models import ImageEncoder, MeshHead, PointsHead, image_sample_positions
from r3d.ops import sample_points_from_meshes, vert_align
from r3d.renderer import FoVOrthographicCameras, FoVPerspectiveCameras, look_at_view_transform
from r3d.utils import ico_sphere


def cameras(n: int = 2) -> FoVPerspectiveCameras:
    R, T = look_at_view_transform(2.5, torch.linspace(0, 30, n), torch.linspace(0, 90, n))
    return FoVPerspectiveCameras(R=R, T=T)


@pytest.mark.parametrize("channels, size", [(3, (32, 32)), (4, (24, 40))])
def test_encoder_maps_and_global_feature(channels, size):
    enc = ImageEncoder(channels, (8, 16, 32))
    maps, g = enc(torch.rand(2, channels, *size))
    H, W = size
    assert [tuple(m.shape) for m in maps] == [(2, 8, H, W), (2, 16, (H + 1) // 2, (W + 1) // 2),
                                              (2, 32, (H + 3) // 4, (W + 3) // 4)]
    assert g.shape == (2, 32) and enc.feature_dims == (8, 16, 32)


def test_encoder_rejects_bad_input():
    with pytest.raises(InputError, match=r"images must have shape \(N, 3, H, W\)"):
        ImageEncoder(3, (8,))(torch.rand(2, 4, 16, 16))
    with pytest.raises(InputError, match="widths must be positive ints"):
        ImageEncoder(3, ())


@pytest.mark.parametrize("size", [(16, 16), (16, 24), (24, 16)])
def test_sample_positions_follow_the_image(size):
    """A point projected onto the image's left edge samples the left column, the top edge the
    top row (NDC +x is left, +y up; the shorter side spans [-1, 1])."""
    H, W = size
    short = min(H, W)
    cams = FoVOrthographicCameras()  # NDC x, y = world x, y
    # the left edge and the top edge of the image, in NDC
    points = torch.tensor([[[W / short, 0.0, 1.0], [0.0, H / short, 1.0]]])
    pos = image_sample_positions(points, cams, (H, W))
    assert torch.allclose(pos[0, 0, :2], torch.tensor([-1.0, 0.0]), atol=1e-5)
    assert torch.allclose(pos[0, 1, :2], torch.tensor([0.0, -1.0]), atol=1e-5)
    columns = torch.arange(W, dtype=torch.float32).expand(1, 1, H, W)
    rows = torch.arange(H, dtype=torch.float32)[:, None].expand(1, 1, H, W)
    sampled = vert_align([columns, rows], pos)
    assert sampled[0, 0, 0] == pytest.approx(0.0, abs=1e-4)  # left column
    assert sampled[0, 1, 1] == pytest.approx(0.0, abs=1e-4)  # top row


def test_mesh_head_stages_subdivide():
    enc = ImageEncoder(3, (8, 16))
    head = MeshHead(enc.feature_dims, hidden=16, stages=3, level=1, radius=0.5)
    maps, _ = enc(torch.rand(2, 3, 32, 32))
    meshes = head(maps, cameras(), (32, 32))
    assert [m.num_verts_per_mesh().tolist() for m in meshes] == [[42, 42], [162, 162],
                                                                 [642, 642]]
    assert meshes[-1].num_faces_per_mesh().tolist() == [1280, 1280]
    # offsets start at zero: the first prediction is the sphere of the given radius
    assert torch.allclose(meshes[0].verts_packed().norm(dim=1), torch.tensor(0.5), atol=1e-5)


def test_mesh_head_colours():
    """With colors the last stage carries vertex colours (mid-grey at the start) that the
    image features drive; earlier stages carry none."""
    torch.manual_seed(0)
    enc = ImageEncoder(3, (8, 16))
    head = MeshHead(enc.feature_dims, hidden=16, stages=2, level=0, radius=0.5, colors=True)
    maps, _ = enc(torch.rand(2, 3, 32, 32))
    meshes = head(maps, cameras(), (32, 32))
    assert meshes[0].textures is None
    colours = meshes[-1].textures.verts_features_padded()
    assert colours.shape == (2, 42, 3) and torch.all(colours == 0.5)
    nn.init.normal_(head.colors.weight)
    colours = head(maps, cameras(), (32, 32))[-1].textures.verts_features_packed()
    assert 0 <= colours.min() and colours.max() <= 1
    assert not torch.allclose(colours, colours[:1].expand_as(colours))  # vary per vertex
    colours.sum().backward()
    assert head.colors.weight.grad.abs().sum() > 0
    assert enc.stem[0].weight.grad.abs().sum() > 0


def test_points_head():
    head = PointsHead(16, num_points=50, extent=0.7)
    points, colours = head(torch.randn(3, 16) * 10)
    assert points.shape == (3, 50, 3) and points.abs().max() <= 0.7 and colours is None
    coloured = PointsHead(16, num_points=50, extent=0.7, colors=True)
    points, colours = coloured(torch.randn(3, 16) * 10)
    assert points.shape == colours.shape == (3, 50, 3) and points.abs().max() <= 0.7
    assert 0 <= colours.min() and colours.max() <= 1


def test_encoder_and_mesh_head_fit_a_target():
    """Trained on one image, the predicted mesh moves towards a target shape (Chamfer drops),
    so gradients reach every part of the network."""
    torch.manual_seed(0)
    enc = ImageEncoder(3, (8, 16))
    head = MeshHead(enc.feature_dims, hidden=16, stages=2, level=1, radius=0.6)
    target = ico_sphere(2)
    target = target.update_padded(target.verts_padded() * torch.tensor([0.3, 0.8, 0.3]))
    y = sample_points_from_meshes(target, 500)
    image = torch.rand(1, 3, 32, 32)
    cams = cameras(1)
    opt = torch.optim.Adam([*enc.parameters(), *head.parameters()], lr=0.01)
    losses = []
    for _ in range(25):
        maps, _ = enc(image)
        meshes = head(maps, cams, (32, 32))
        loss = sum(chamfer_distance(sample_points_from_meshes(m, 500), y)[0] for m in meshes)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.grad is not None for p in enc.parameters())
