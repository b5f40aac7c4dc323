"""Texture lookups at fragments: vertex colours, UV maps (modes, wrap, v up) and atlases."""

from __future__ import annotations

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import Fragments, TexturesAtlas, TexturesUV, TexturesVertex
from r3d.renderer.mesh.texture_sampling import sample_maps
from r3d.renderer.mesh.textures import atlas_barycentric_grid
from r3d.structures import Meshes

H, W = 2, 4
# texel (row, col) holds 10 * row + col in every channel
MAP = (10 * torch.arange(H)[:, None] + torch.arange(W)[None, :]).double()[..., None].expand(H, W, 3)


def _uv_of_texel(row: float, col: float) -> tuple[float, float]:
    """UV of a texel centre with align_corners=False (v up: row 0 is the top)."""
    return (col + 0.5) / W, 1 - (row + 0.5) / H


def _sample(uvs, padding_mode="border", align_corners=False, sampling_mode="bilinear"):
    uv = torch.tensor(uvs, dtype=torch.float64).view(1, 1, -1, 2)
    out = sample_maps(MAP[None], uv, padding_mode, align_corners, sampling_mode)
    return out[0, 0, :, 0].tolist()


def test_texel_centres_and_v_up():
    uvs = [_uv_of_texel(r, c) for r in range(H) for c in range(W)]
    expected = [10.0 * r + c for r in range(H) for c in range(W)]
    for mode in ("bilinear", "nearest"):
        assert _sample(uvs, sampling_mode=mode) == pytest.approx(expected)
    # v = 0 is the bottom row
    assert _sample([(0.5 / W, 0.0)], sampling_mode="nearest") == [10.0]


def test_bilinear_versus_nearest_between_texels():
    u, v = _uv_of_texel(0, 1.25)  # a quarter of the way from texel 1 to texel 2 of row 0
    assert _sample([(u, v)]) == pytest.approx([1.25])
    assert _sample([(u, v)], sampling_mode="nearest") == [1.0]


def test_align_corners_puts_0_and_1_on_outer_texel_centres():
    assert _sample([(0.0, 1.0), (1.0, 1.0), (1.0, 0.0)], align_corners=True) == pytest.approx(
        [0.0, 3.0, 13.0]
    )
    assert _sample([(0.0, 1.0)], align_corners=False) == pytest.approx([0.0])  # border


def test_repeat_wraps_and_border_clamps():
    beyond = (1 + 0.5 / W, 1 - 0.5 / H)  # past the right edge by half a texel
    assert _sample([beyond], padding_mode="repeat") == pytest.approx([0.0])
    assert _sample([beyond], padding_mode="border") == pytest.approx([3.0])
    edge = (1.0, 1 - 0.5 / H)  # the right edge: half the last texel, half outside
    assert _sample([edge], padding_mode="zeros") == pytest.approx([1.5])
    assert _sample([edge], padding_mode="border") == pytest.approx([3.0])
    # on the seam (u = 0) repeat blends the first and last columns
    assert _sample([(0.0, 1 - 0.5 / H)], padding_mode="repeat") == pytest.approx([1.5])
    assert _sample([(-0.75 / W, 1 - 0.5 / H)], padding_mode="repeat", sampling_mode="nearest") \
        == [3.0]
    assert _sample([(0.5 / W, 2 - 0.5 / H)], padding_mode="repeat") == pytest.approx([0.0])
    assert _sample([(0.5 / W, -0.5 / H)], padding_mode="repeat") == pytest.approx([0.0])


def _one_face_fragments(bary, pix_to_face=0) -> Fragments:
    bary = torch.tensor(bary, dtype=torch.float32).view(1, 1, -1, 1, 3)
    p2f = torch.full(bary.shape[:-1], pix_to_face, dtype=torch.int64)
    p2f[0, 0, -1, 0] = -1  # the last pixel is empty
    z = torch.ones(p2f.shape)
    return Fragments(p2f, z, bary, z)


def _triangle(textures) -> Meshes:
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    return Meshes([verts], [torch.tensor([[0, 1, 2]])], textures)


def test_vertex_colours_are_interpolated():
    colors = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1]], requires_grad=True)
    mesh = _triangle(TexturesVertex([colors]))
    frags = _one_face_fragments([[0.2, 0.3, 0.5], [1, 0, 0], [0.3, 0.3, 0.4]])
    out = mesh.sample_textures(frags)
    assert out.shape == (1, 1, 3, 1, 3)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor([0.2, 0.3, 0.5]))
    torch.testing.assert_close(out[0, 0, 1, 0], torch.tensor([1.0, 0, 0]))
    assert out[0, 0, 2].abs().max() == 0  # empty slot
    out.sum().backward()
    torch.testing.assert_close(colors.grad, torch.tensor([[1.2] * 3, [0.3] * 3, [0.5] * 3]))
    torch.testing.assert_close(
        mesh.textures.faces_verts_textures_packed(mesh.faces_packed()), colors[None].detach()
    )
    with pytest.raises(InputError, match="faces_packed"):
        mesh.textures.sample_textures(frags)


def test_uv_texture_through_fragments_with_gradients():
    maps = MAP.float().clone().requires_grad_(True)
    uvs = torch.tensor([_uv_of_texel(0, 0), _uv_of_texel(0, 2), _uv_of_texel(1, 0)])
    tex = TexturesUV([maps], [torch.tensor([[0, 1, 2]])], [uvs], align_corners=False)
    mesh = _triangle(tex)
    frags = _one_face_fragments([[1.0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0, 1]])
    out = mesh.sample_textures(frags)[0, 0, :, 0, 0]
    assert out.tolist() == pytest.approx([0.0, 1.0, 5.0, 0.0])
    out.sum().backward()
    assert maps.grad[0, 1].tolist() == [1.0, 0.0, 0.0]  # texel (0, 1): the second pixel
    corners = tex.faces_verts_textures_packed()
    assert corners[0, :, 0].tolist() == pytest.approx([0.0, 2.0, 10.0])


def test_atlas_texels_at_their_barycentrics():
    R = 3
    atlas = torch.arange(R * R, dtype=torch.float32).view(1, R, R, 1).expand(1, R, R, 3)
    mesh = _triangle(TexturesAtlas([atlas.clone()]))
    grid = atlas_barycentric_grid(R).view(-1, 3)
    frags = _one_face_fragments(torch.cat([grid, grid[:1]]).tolist())
    out = mesh.sample_textures(frags)[0, 0, :, 0, 0]
    assert out.tolist() == list(range(R * R)) + [0.0]
    corners = mesh.textures.faces_verts_textures_packed()[0, :, 0]
    # corner 0 is w0 = 1 (last column, first row), corner 1 w1 = 1, corner 2 the origin texel
    assert corners.tolist() == [float(R - 1), float(R * (R - 1)), 0.0]


def test_sample_textures_checks_the_batch():
    mesh = _triangle(TexturesVertex([torch.ones(3, 3)]))
    bary = torch.full((2, 1, 1, 1, 3), 1 / 3)
    frags = Fragments(torch.zeros(2, 1, 1, 1, dtype=torch.int64), bary[..., 0], bary, bary[..., 0])
    with pytest.raises(InputError, match="2 images"):
        mesh.sample_textures(frags)
    with pytest.raises(InputError, match="no textures"):
        _triangle(None).sample_textures(frags)
