"""UV wrap modes: per-axis padding modes of TexturesUV, mirrored repeat, and packing maps whose
UVs leave [0, 1] (join_scene, joins of different modes) without losing the wrap."""

from __future__ import annotations

import itertools

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import Fragments, TexturesUV
from r3d.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene
from r3d.structures import textures as textures_module
from r3d.structures.texture_sampling import sample_maps

H, W = 2, 4
# texel (row, col) holds 10 * row + col in every channel
MAP = (10 * torch.arange(H)[:, None] + torch.arange(W)[None, :]).double()[..., None].expand(H, W, 3)


def _sample(uvs, padding_mode, align_corners=False, sampling_mode="nearest"):
    uv = torch.tensor(uvs, dtype=torch.float64).view(1, 1, -1, 2)
    return sample_maps(MAP[None], uv, padding_mode, align_corners, sampling_mode)[0, 0, :, 0]


def _u(col: float) -> float:
    """u of column ``col``'s centre (align_corners=False)."""
    return (col + 0.5) / W


def _v(row: float) -> float:
    """v of row ``row``'s centre (v up: row 0 is the top)."""
    return 1 - (row + 0.5) / H


def test_modes_per_axis_at_known_uvs():
    # u one tile to the right (col 1 of the next tile), v one tile up (row 0 of the next tile)
    uv = [(1 + _u(1), 1 + _v(0))]
    assert _sample(uv, ("repeat", "border")).tolist() == [1.0]  # v clamps to the top row 0
    assert _sample(uv, ("repeat", "repeat")).tolist() == [1.0]
    assert _sample(uv, ("border", "repeat")).tolist() == [3.0]  # u clamps to the last col
    assert _sample(uv, ("reflection", "repeat")).tolist() == [2.0]  # mirrored: col 3 - 1
    assert _sample(uv, ("reflection", "reflection")).tolist() == [12.0]  # row 1 mirrored
    assert _sample(uv, ("zeros", "repeat")).tolist() == [0.0]
    assert _sample(uv, ("repeat", "zeros")).tolist() == [0.0]
    # inside [0, 1] every mode reads the same texel
    for mode in ("zeros", "border", "reflection", "repeat"):
        assert _sample([(_u(2), _v(1))], (mode, "border")).tolist() == [12.0]


def test_mirrored_repeat_has_period_two_and_mirrors_at_the_edges():
    cols = [-_u(0), -_u(3), 1 + _u(0), 1 + _u(3), 2 + _u(1), -1 - _u(1)]
    got = _sample([(u, _v(0)) for u in cols], "reflection").tolist()
    assert got == [0.0, 3.0, 3.0, 0.0, 1.0, 2.0]
    # bilinear across the mirror line blends a texel with itself
    assert _sample([(1.0, _v(0))], "reflection", sampling_mode="bilinear").tolist() == [3.0]
    # with align_corners the mirror lines are the outer texel centres
    assert _sample([(-1 / 3, 1.0), (4 / 3, 1.0)], "reflection", True).tolist() == [1.0, 2.0]


def test_repeat_with_align_corners_keeps_1_on_the_last_texel():
    got = _sample([(1.0, 1.0), (0.0, 1.0), (1 + 1 / 3, 1.0), (1.0, 0.0)], "repeat", True)
    assert got.tolist() == [3.0, 0.0, 1.0, 13.0]


def test_padding_mode_pairs_are_checked_and_normalised():
    args = ([MAP.float()], [torch.tensor([[0, 1, 2]])], [torch.rand(3, 2)])
    assert TexturesUV(*args, padding_mode=("repeat", "repeat")).padding_mode == "repeat"
    assert TexturesUV(*args, padding_mode=["repeat", "border"]).padding_mode == \
        ("repeat", "border")
    for bad in ("wrap", ("repeat",), ("repeat", "mirror"), 3):
        with pytest.raises(InputError, match="padding_mode must be one of"):
            TexturesUV(*args, padding_mode=bad)


def _fragments(faces: torch.Tensor, bary: torch.Tensor) -> Fragments:
    """One image, one row of pixels: pixel i shows packed face faces[i] at bary[i]."""
    n = faces.shape[0]
    z = torch.ones(1, 1, n, 1)
    return Fragments(faces.view(1, 1, n, 1), z, bary.float().view(1, 1, n, 1, 3), z)


def _two_meshes(g: torch.Generator, padding_mode, align_corners, sampling_mode, single_tile):
    """Two meshes (4 and 3 faces) with maps of different sizes and UVs far outside [0, 1]:
    anywhere in [-2, 3], or (single_tile) each face inside one tile."""
    maps = [torch.rand(6, 9, 3, generator=g, dtype=torch.float64),
            torch.rand(4, 4, 3, generator=g, dtype=torch.float64)]
    faces_uvs, verts_uvs = [], []
    for nf in (4, 3):
        if single_tile:
            tile = torch.randint(-3, 4, (nf, 1, 2), generator=g).double()
            uv = torch.rand(nf, 3, 2, generator=g, dtype=torch.float64) + tile
        else:
            uv = torch.rand(nf, 3, 2, generator=g, dtype=torch.float64) * 5 - 2
        verts_uvs.append(uv.reshape(-1, 2))
        faces_uvs.append(torch.arange(3 * nf).view(nf, 3))
    verts = [torch.rand(12, 3, generator=g), torch.rand(9, 3, generator=g)]
    tex = TexturesUV(maps, faces_uvs, verts_uvs, padding_mode=padding_mode,
                     align_corners=align_corners, sampling_mode=sampling_mode)
    return Meshes(verts, faces_uvs, tex)


def _colours_alone_and_joined(g, parts: list[Meshes], joined: Meshes):
    """Colours at random points of every face: each one-mesh batch of ``parts`` (4 and 3
    faces) on its own, and of the joined mesh (whose faces are theirs, in order)."""
    bary = torch.rand(7, 100, 3, generator=g, dtype=torch.float64)
    bary = bary / bary.sum(-1, keepdim=True)
    faces = torch.arange(7).repeat_interleave(100)
    alone = torch.cat([
        parts[0].sample_textures(_fragments(faces[:400], bary[:4].reshape(-1, 3))),
        parts[1].sample_textures(_fragments(faces[:300], bary[4:].reshape(-1, 3))),
    ], dim=2)
    return alone, joined.sample_textures(_fragments(faces, bary.reshape(-1, 3)))


MODES = ["repeat", "reflection", "border", "zeros", ("repeat", "reflection"), ("zeros", "repeat")]


@pytest.mark.parametrize("padding_mode", MODES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("sampling_mode", ["bilinear", "nearest"])
def test_join_scene_keeps_each_faces_colours_with_uvs_outside_0_1(padding_mode, align_corners,
                                                                   sampling_mode):
    g = torch.Generator().manual_seed(3)
    repeats = "repeat" in (padding_mode if isinstance(padding_mode, tuple) else (padding_mode,))
    # align_corners with repeat jumps at every seam, which a packed image cannot hold inside
    # a face: those faces stay in one tile each
    batch = _two_meshes(g, padding_mode, align_corners, sampling_mode,
                        single_tile=align_corners and repeats)
    scene = join_meshes_as_scene(batch)
    tex = scene.textures
    assert tex.padding_mode == "border" and tex.align_corners == align_corners
    alone, joined = _colours_alone_and_joined(g, [batch[[0]], batch[[1]]], scene)
    torch.testing.assert_close(joined, alone, atol=1e-5, rtol=0)


def test_faces_in_one_tile_pack_into_little_more_than_the_maps():
    g = torch.Generator().manual_seed(4)
    batch = _two_meshes(g, "repeat", True, "bilinear", single_tile=True)
    atlas = join_meshes_as_scene(batch).textures.maps_list()[0]
    assert atlas.shape[0] * atlas.shape[1] <= (6 + 2) * (9 + 2) + (4 + 2) * (4 + 2) + 40


def test_meshes_with_different_padding_modes_join():
    g = torch.Generator().manual_seed(5)
    a = _two_meshes(g, "repeat", False, "bilinear", single_tile=False)[[0]]
    b = _two_meshes(g, ("reflection", "border"), False, "bilinear", single_tile=False)[[1]]
    assert join_meshes_as_batch([a, b]).textures.padding_mode == "border"
    alone, joined = _colours_alone_and_joined(g, [a, b], join_meshes_as_scene([a, b]))
    torch.testing.assert_close(joined, alone, atol=1e-5, rtol=0)


def _bary(g, n):
    bary = torch.rand(n, 3, generator=g, dtype=torch.float64)
    return bary / bary.sum(-1, keepdim=True)


def test_resolve_wrap_only_relabels_when_every_uv_is_inside():
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 1.0]])
    tex = TexturesUV([MAP.float()], [torch.tensor([[0, 1, 2]])], [uvs], padding_mode="repeat")
    same = tex.resolve_wrap()
    assert same.padding_mode == "border" and same.maps_list()[0] is tex.maps_list()[0]
    outside = TexturesUV([MAP.float()], [torch.tensor([[0, 1, 2]])], [uvs * 2],
                         padding_mode="repeat").resolve_wrap()
    assert outside.padding_mode == "border" and outside.maps_list()[0].shape[1] > 2 * W


def test_a_face_over_many_tiles_shrinks_its_raster_with_a_warning(monkeypatch):
    monkeypatch.setattr(textures_module, "MIN_RASTER_TEXELS", 400)
    uvs = torch.tensor([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])
    maps = [MAP.float(), MAP.float() + 1]
    tex = TexturesUV(maps, [torch.tensor([[0, 1, 2]])] * 2, [uvs, uvs * 0.5],
                     padding_mode="repeat")
    with pytest.warns(UserWarning, match="lower resolution"):
        atlas = tex.join_scene().maps_list()[0]
    assert atlas.shape[0] * atlas.shape[1] <= 2 * 400


def test_gradients_reach_the_maps_and_uvs_through_the_packing():
    g = torch.Generator().manual_seed(6)
    batch = _two_meshes(g, "repeat", False, "bilinear", single_tile=False)
    t = batch.textures
    maps = [m.clone().requires_grad_(True) for m in t.maps_list()]
    uvs = [u.clone().requires_grad_(True) for u in t.verts_uvs_list()]
    tex = TexturesUV(maps, t.faces_uvs_list(), uvs, padding_mode="repeat", align_corners=False)
    scene = tex.join_scene()
    out = scene.sample_textures(_fragments(torch.arange(7), _bary(g, 7)),
                                torch.zeros((7, 3), dtype=torch.int64))
    out.sum().backward()
    assert all(m.grad.abs().sum() > 0 for m in maps)
    assert all(u.grad.abs().sum() > 0 for u in uvs)


@pytest.mark.parametrize("mode, align_corners",
                         list(itertools.product(["repeat", "reflection", "border", "zeros"],
                                                [False, True])))
def test_texel_extension_matches_nearest_sampling(mode, align_corners):
    """wrap_texel_index gives the texel sample_maps reads at every texel position."""
    from r3d.structures.texture_sampling import wrap_texel_index

    period = W - 1 if align_corners else W
    t = torch.arange(-2 * W, 3 * W)
    index, inside = wrap_texel_index(t, W, mode, align_corners)
    shift = 0.0 if align_corners else 0.5
    u = ((t.double() + shift) / period).tolist()
    got = _sample([(x, _v(0) if not align_corners else 1.0) for x in u], mode, align_corners)
    expected = torch.where(inside, index.double(), 0.0)
    if align_corners and mode == "repeat":  # positions on a seam: the map jumps there
        seam = (torch.remainder(t, period) == 0) & ((t < 0) | (t >= W))
        got, expected = got[~seam], expected[~seam]
    assert got.tolist() == expected.tolist()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("padding_mode", ["zeros", ("repeat", "reflection")])
def test_packing_on_cuda_matches_the_cpu(padding_mode):
    g = torch.Generator().manual_seed(7)
    batch = _two_meshes(g, padding_mode, False, "bilinear", single_tile=False)
    cpu = batch.textures.join_scene()
    cuda = batch.textures.to("cuda").join_scene()
    torch.testing.assert_close(cuda.maps_list()[0].cpu(), cpu.maps_list()[0])
    torch.testing.assert_close(cuda.verts_uvs_list()[0].cpu(), cpu.verts_uvs_list()[0])
