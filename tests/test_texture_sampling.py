"""Texture lookups at fragments: vertex colours, UV maps (modes, wrap, v up) and atlases."""

from __future__ import annotations

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import Fragments, TexturesAtlas, TexturesUV, TexturesVertex
from r3d.structures import Meshes
from r3d.structures.texture_sampling import sample_maps
from r3d.structures.textures import atlas_barycentric_grid

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


# -- several maps per mesh, join_scene ------------------------------------------------------


def _fragments(per_image) -> Fragments:
    """One row of pixels per image: per_image[n] = (packed face indices, (P, 3) barycentrics);
    shorter rows are padded with empty pixels."""
    n, p = len(per_image), max(len(f) for f, _ in per_image)
    p2f = torch.full((n, 1, p, 1), -1, dtype=torch.int64)
    bary = torch.zeros((n, 1, p, 1, 3))
    for i, (faces, b) in enumerate(per_image):
        p2f[i, 0, : len(faces), 0] = torch.as_tensor(faces, dtype=torch.int64)
        bary[i, 0, : len(faces), 0] = b
    z = torch.ones(p2f.shape)
    return Fragments(p2f, z, bary, z)


def _quad(textures) -> Meshes:
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    return Meshes([verts], [torch.tensor([[0, 1, 2], [0, 2, 3]])], textures)


def test_multi_map_texture_picks_each_faces_map():
    # face 0 samples map 1, face 1 map 0; both use UVs of texel (0, 0)'s centre at corner 0
    maps = torch.stack([MAP, MAP + 100]).float().requires_grad_(True)
    uvs = torch.tensor([_uv_of_texel(0, 0), _uv_of_texel(0, 3), _uv_of_texel(1, 3),
                        _uv_of_texel(1, 0)])
    faces_uvs = torch.tensor([[0, 1, 2], [0, 2, 3]])
    for mode in ("bilinear", "nearest"):
        tex = TexturesUV([maps], [faces_uvs], [uvs], align_corners=False, sampling_mode=mode,
                         maps_ids=[torch.tensor([1, 0])])
        mesh = _quad(tex)
        corners = torch.eye(3).repeat(2, 1)  # each face at its three corners
        out = mesh.sample_textures(_fragments([([0, 0, 0, 1, 1, 1], corners)]))[0, 0, :, 0, 0]
        assert out.tolist() == pytest.approx([100.0, 103.0, 113.0, 0.0, 13.0, 10.0])
        assert tex.faces_verts_textures_packed()[..., 0].flatten().tolist() == pytest.approx(
            [100.0, 103.0, 113.0, 0.0, 13.0, 10.0])
    out.sum().backward()
    assert maps.grad[1, 0, 0, 0] == 1 and maps.grad[0, 0, 0, 0] == 1
    assert maps.grad[1, 1, 0, 0] == 0  # texel (1, 0) of map 1: face 1 uses map 0 there


def test_multi_map_batch_offsets_faces_of_each_mesh():
    # mesh 0: one face on its second map; mesh 1: two faces on maps 0 and 2 of three
    constant = [torch.full((2, 2, 1), float(v)) for v in range(5)]
    tex = TexturesUV(
        [torch.stack(constant[:2]), torch.stack(constant[2:])],
        [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2], [0, 2, 3]])],
        [torch.rand(3, 2), torch.rand(4, 2)],
        maps_ids=[torch.tensor([1]), torch.tensor([0, 2])],
    )
    tri = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    quad = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    mesh = Meshes([tri, quad], [torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2], [0, 2, 3]])],
                  tex)
    bary = torch.full((2, 3), 1 / 3)
    out = mesh.sample_textures(_fragments([([0], bary[:1]), ([1, 2], bary)]))[:, 0, :, 0, 0]
    # pixel 1 of image 0 is empty
    assert out.flatten().tolist() == pytest.approx([1.0, 0.0, 2.0, 4.0])


def _random_uv_batch(g: torch.Generator, multi: bool, **kwargs) -> Meshes:
    """Two meshes (4 and 3 faces, 5 and 4 vertices) with random UVs in [0, 1] and maps of
    different sizes: one each, or 2 and 3 each with random maps_ids."""
    verts = [torch.rand(5, 3, generator=g), torch.rand(4, 3, generator=g)]
    faces = [torch.randint(0, 5, (4, 3), generator=g), torch.randint(0, 4, (3, 3), generator=g)]
    lead = [(2,), (3,)] if multi else [(), ()]
    maps = [torch.rand(lead[0] + (6, 9, 3), generator=g, dtype=torch.float64),
            torch.rand(lead[1] + (4, 4, 3), generator=g, dtype=torch.float64)]
    verts_uvs = [torch.rand(7, 2, generator=g, dtype=torch.float64),
                 torch.rand(5, 2, generator=g, dtype=torch.float64)]
    faces_uvs = [torch.randint(0, 7, (4, 3), generator=g), torch.randint(0, 5, (3, 3), generator=g)]
    if multi:
        kwargs["maps_ids"] = [torch.tensor([0, 1, 1, 0]), torch.tensor([2, 0, 2])]
    return Meshes(verts, faces, TexturesUV(maps, faces_uvs, verts_uvs, **kwargs))


@pytest.mark.parametrize("multi", [False, True])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("sampling_mode", ["bilinear", "nearest"])
def test_join_scene_samples_the_same_colours(multi, align_corners, sampling_mode):
    from r3d.structures import join_meshes_as_scene

    g = torch.Generator().manual_seed(5)
    batch = _random_uv_batch(g, multi, align_corners=align_corners, sampling_mode=sampling_mode)
    scene = join_meshes_as_scene(batch)
    tex = scene.textures
    assert len(tex) == 1 and not tex.has_maps_ids and tex.maps_list()[0].dim() == 3
    assert tex.sampling_mode == sampling_mode and tex.align_corners == align_corners
    # both maps are packed, or the four used (two of each mesh's 2 and 3)
    atlas = tex.maps_list()[0]
    assert atlas.shape[0] * atlas.shape[1] >= (6 * 9 + 4 * 4) * (2 if multi else 1)
    bary = torch.rand(7, 20, 3, generator=g)
    bary = bary / bary.sum(-1, keepdim=True)
    bary[:, :3] = torch.eye(3)  # the corners too
    faces = torch.arange(7).repeat_interleave(20)
    # each mesh on its own (a batch would resize the smaller map to the larger)
    separate = torch.cat([
        batch[[0]].sample_textures(_fragments([(faces[:80], bary[:4].reshape(-1, 3))])),
        batch[[1]].sample_textures(_fragments([(faces[:60], bary[4:].reshape(-1, 3))])),
    ], dim=2)
    joined = scene.sample_textures(_fragments([(faces, bary.reshape(-1, 3))]))
    # float32 barycentrics sum to 1 only up to ~1e-7, which moves the remapped UVs slightly
    torch.testing.assert_close(joined, separate, atol=1e-6, rtol=0)


def test_join_scene_of_a_multi_map_texture_packs_only_the_used_maps():
    g = torch.Generator().manual_seed(6)
    batch = _random_uv_batch(g, multi=True)
    maps = [m.detach().requires_grad_(True) for m in batch.textures.maps_list()]
    t = batch.textures
    tex = TexturesUV(maps, t.faces_uvs_list(), t.verts_uvs_list(),
                     maps_ids=t.maps_ids_list()).join_scene()
    tex.maps_list()[0].sum().backward()
    # mesh 1 never uses its map 1: no gradient reaches it
    assert torch.all(maps[0].grad > 0) and torch.all(maps[1].grad[[0, 2]] > 0)
    assert torch.all(maps[1].grad[1] == 0)
    # the faces of mesh 0 on one map: a single used map is kept as is, UVs untouched
    one = TexturesUV([maps[0]], [t.faces_uvs_list()[0]], [t.verts_uvs_list()[0]],
                     maps_ids=[torch.ones(4, dtype=torch.long)], padding_mode="repeat")
    s = one.join_scene()
    assert torch.equal(s.maps_list()[0], maps[0][1])
    used = t.faces_uvs_list()[0].unique()
    torch.testing.assert_close(s.verts_uvs_list()[0], t.verts_uvs_list()[0][used])
