"""TexturesVertex, TexturesUV and TexturesAtlas: accessors and the batch protocol."""

from __future__ import annotations

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import TexturesAtlas, TexturesBase, TexturesUV, TexturesVertex
from r3d.structures.textures import atlas_barycentric_grid, pack_texture_maps, remap_uvs

NV = [4, 0, 3]  # vertices per mesh (mesh 1 is empty)
NF = [2, 0, 1]  # faces per mesh


def _vertex(requires_grad: bool = False) -> TexturesVertex:
    g = torch.Generator().manual_seed(0)
    feats = [torch.rand(n, 3, generator=g, requires_grad=requires_grad) for n in NV]
    return TexturesVertex(feats)


def _uv(requires_grad: bool = False, sizes=((4, 5), (2, 2), (3, 3))) -> TexturesUV:
    g = torch.Generator().manual_seed(1)
    maps = [torch.rand(h, w, 3, generator=g, requires_grad=requires_grad) for h, w in sizes]
    nt = [5, 0, 3]
    verts_uvs = [torch.rand(t, 2, generator=g) for t in nt]
    faces_uvs = [torch.randint(0, max(t, 1), (f, 3), generator=g) for t, f in zip(nt, NF)]
    return TexturesUV(maps, faces_uvs, verts_uvs)


def _uv_multi(requires_grad: bool = False) -> TexturesUV:
    """Several maps per mesh: M_i = 2, 1, 3 maps, faces picking theirs with maps_ids."""
    g = torch.Generator().manual_seed(4)
    maps = [torch.rand(m, h, w, 3, generator=g, requires_grad=requires_grad)
            for m, (h, w) in zip((2, 1, 3), ((4, 5), (2, 2), (3, 3)))]
    nt = [5, 0, 3]
    verts_uvs = [torch.rand(t, 2, generator=g) for t in nt]
    faces_uvs = [torch.randint(0, max(t, 1), (f, 3), generator=g) for t, f in zip(nt, NF)]
    maps_ids = [torch.tensor([1, 0]), torch.zeros(0, dtype=torch.int32), torch.tensor([2])]
    return TexturesUV(maps, faces_uvs, verts_uvs, maps_ids=maps_ids)


def _atlas(requires_grad: bool = False, R: int = 2) -> TexturesAtlas:
    g = torch.Generator().manual_seed(2)
    return TexturesAtlas([torch.rand(f, R, R, 3, generator=g, requires_grad=requires_grad)
                          for f in NF])


MAKERS = {"vertex": _vertex, "uv": _uv, "uv_multi": _uv_multi, "atlas": _atlas}


def _tensors(t: TexturesBase) -> list[torch.Tensor]:
    if isinstance(t, TexturesVertex):
        return t.verts_features_list()
    if isinstance(t, TexturesAtlas):
        return t.atlas_list()
    return t.maps_list() + t.faces_uvs_list() + t.verts_uvs_list() + (t.maps_ids_list() or [])


def _per_mesh(t: TexturesBase, i: int) -> list[torch.Tensor]:
    if isinstance(t, TexturesVertex):
        return [t.verts_features_list()[i]]
    if isinstance(t, TexturesAtlas):
        return [t.atlas_list()[i]]
    ids = t.maps_ids_list()
    return [t.maps_list()[i], t.faces_uvs_list()[i], t.verts_uvs_list()[i]] + (
        [] if ids is None else [ids[i]])


def _same_mesh(a: TexturesBase, i: int, b: TexturesBase, j: int) -> bool:
    return all(torch.equal(x, y) for x, y in zip(_per_mesh(a, i), _per_mesh(b, j)))


# -- accessors -----------------------------------------------------------------------------


def test_vertex_accessors():
    t = _vertex()
    lst = t.verts_features_list()
    assert [x.shape[0] for x in lst] == NV
    assert t.verts_features_packed().shape == (sum(NV), 3)
    padded = t.verts_features_padded()
    assert padded.shape == (3, 4, 3)
    assert torch.equal(padded[2, :3], lst[2]) and torch.all(padded[2, 3:] == 0)
    assert torch.all(padded[1] == 0)


def test_vertex_padded_input_is_trimmed_by_check_shapes():
    padded = torch.rand(3, 4, 3)
    t = TexturesVertex(padded)
    t.check_shapes(NV, NF)
    assert [x.shape[0] for x in t.verts_features_list()] == NV
    assert torch.equal(t.verts_features_list()[2], padded[2, :3])
    with pytest.raises(InputError, match="verts_features of mesh 0 has 4 rows"):
        TexturesVertex(torch.rand(3, 4, 3)).check_shapes([5, 0, 3], NF)


def test_uv_accessors():
    t = _uv()
    assert [m.shape[:2] for m in t.maps_list()] == [(4, 5), (2, 2), (3, 3)]
    mp = t.maps_padded()
    assert mp.shape == (3, 4, 5, 3)  # smaller maps resized to the largest
    assert torch.equal(mp[0], t.maps_list()[0])
    assert t.faces_uvs_padded().shape == (3, 2, 3)
    assert t.faces_uvs_padded().dtype == torch.int64
    assert t.verts_uvs_padded().shape == (3, 5, 2)
    same = TexturesUV(torch.rand(2, 4, 4, 3), [torch.zeros(1, 3, dtype=torch.int32)] * 2,
                      torch.rand(2, 1, 2))
    assert same.maps_padded().shape == (2, 4, 4, 3)
    assert same.faces_uvs_list()[0].dtype == torch.int64


def test_uv_validation():
    with pytest.raises(InputError, match="faces_uvs of mesh 0"):
        TexturesUV([torch.rand(2, 2, 3)], [torch.tensor([[0, 1, 5]])], [torch.rand(3, 2)])
    with pytest.raises(InputError, match="same number of meshes"):
        TexturesUV([torch.rand(2, 2, 3)] * 2, [torch.zeros(1, 3, dtype=torch.long)],
                   [torch.rand(3, 2)])
    with pytest.raises(InputError, match="padding_mode"):
        TexturesUV([torch.rand(2, 2, 3)], [torch.zeros(1, 3, dtype=torch.long)],
                   [torch.rand(3, 2)], padding_mode="wrap")
    with pytest.raises(InputError, match="verts_uvs"):
        TexturesUV([torch.rand(2, 2, 3)], [torch.zeros(1, 3, dtype=torch.long)],
                   [torch.rand(3, 3)])


def test_uv_multi_map_accessors():
    t = _uv_multi()
    assert t.has_maps_ids and not _uv().has_maps_ids
    assert [tuple(m.shape) for m in t.maps_list()] == [(2, 4, 5, 3), (1, 2, 2, 3), (3, 3, 3, 3)]
    mp = t.maps_padded()
    assert mp.shape == (3, 3, 4, 5, 3)  # M padded with zero maps, sizes resized to the largest
    assert torch.equal(mp[0, :2], t.maps_list()[0])
    assert torch.all(mp[0, 2] == 0) and torch.all(mp[1, 1:] == 0)
    assert [x.tolist() for x in t.maps_ids_list()] == [[1, 0], [], [2]]
    assert t.maps_ids_list()[1].dtype == torch.int64
    assert t.maps_ids_padded().tolist() == [[1, 0], [0, 0], [2, 0]]
    assert t.maps_ids_packed().tolist() == [1, 0, 2]
    single = _uv()
    assert single.maps_ids_list() is None and single.maps_ids_padded() is None
    assert single.maps_ids_packed() is None
    # padded input: (N, M, H, W, C) maps and (N, F) ids, trimmed to faces_uvs' rows
    padded = TexturesUV(torch.rand(2, 3, 4, 4, 3), [torch.zeros(2, 3, dtype=torch.long),
                                                    torch.zeros(1, 3, dtype=torch.long)],
                        torch.rand(2, 1, 2), maps_ids=torch.tensor([[2, 1], [0, 7]]))
    assert [x.tolist() for x in padded.maps_ids_list()] == [[2, 1], [0]]


def test_uv_multi_map_validation():
    maps = [torch.rand(2, 4, 4, 3)]
    fuv = [torch.zeros(2, 3, dtype=torch.long)]
    vuv = [torch.rand(1, 2)]
    with pytest.raises(InputError, match=r"maps_ids of mesh 0 holds indices in \[0, 2\] but "
                                         r"maps\[0\] holds 2 maps"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.tensor([0, 2])])
    with pytest.raises(InputError, match=r"maps_ids of mesh 0 holds indices in \[-1, 0\]"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.tensor([-1, 0])])
    with pytest.raises(InputError, match=r"maps_ids of mesh 0 must have one row per face, like "
                                         r"faces_uvs \(2 rows\), got shape \(3,\)"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.tensor([0, 1, 1])])
    with pytest.raises(InputError, match=r"maps_ids\[0\] must be a \(F_i,\) tensor"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.zeros(2, 1, dtype=torch.long)])
    with pytest.raises(InputError, match=r"maps_ids must be a list .* \(2 dims\)"):
        TexturesUV(maps, fuv, vuv, maps_ids=torch.zeros(1, 2, 1, dtype=torch.long))
    with pytest.raises(InputError, match=r"maps_ids\[0\] must be an integer"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.zeros(2, dtype=torch.bool)])
    with pytest.raises(InputError, match=r"maps_ids\[0\] holds values that are not whole"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.tensor([0.0, 0.5])])
    with pytest.raises(InputError, match="same number of meshes"):
        TexturesUV(maps, fuv, vuv, maps_ids=[torch.zeros(2, dtype=torch.long)] * 2)
    with pytest.raises(InputError, match="same number of meshes"):
        TexturesUV(maps, fuv, vuv, maps_ids=torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(InputError, match=r"maps\[0\] must be a \(M_i, H_i, W_i, C\)"):
        TexturesUV([torch.rand(4, 4, 3)], fuv, vuv, maps_ids=[torch.zeros(2, dtype=torch.long)])
    with pytest.raises(InputError, match=r"maps\[0\] must hold at least one map"):
        TexturesUV([torch.rand(0, 4, 4, 3)], fuv, vuv,
                   maps_ids=[torch.zeros(2, dtype=torch.long)])
    with pytest.raises(InputError, match="pass maps_ids"):
        TexturesUV(torch.rand(1, 2, 4, 4, 3), fuv, vuv)
    # padded ids with padded faces_uvs: the row count is checked against the mesh
    t = TexturesUV(maps, torch.zeros(1, 3, 3, dtype=torch.long), vuv,
                   maps_ids=torch.tensor([[0, 1, 5]]))
    t.check_shapes([3], [2])
    assert t.maps_ids_list()[0].tolist() == [0, 1]
    with pytest.raises(InputError, match="maps_ids of mesh 0 has 2 rows but the mesh has 3"):
        TexturesUV(maps, torch.zeros(1, 3, 3, dtype=torch.long), vuv,
                   maps_ids=torch.tensor([[0, 1]])).check_shapes([3], [3])
    with pytest.raises(InputError, match=r"maps_ids of mesh 0 holds indices in \[0, 5\]"):
        TexturesUV(maps, torch.zeros(1, 3, 3, dtype=torch.long), vuv,
                   maps_ids=torch.tensor([[0, 1, 5]])).check_shapes([3], [3])
    with pytest.raises(InputError, match="incompatible"):
        _uv().join_batch([_uv_multi()])


def test_atlas_accessors_and_validation():
    t = _atlas()
    assert t.atlas_packed().shape == (3, 2, 2, 3)
    assert t.atlas_padded().shape == (3, 2, 2, 2, 3)
    with pytest.raises(InputError, match=r"\(F_i, R, R, C\)"):
        TexturesAtlas([torch.rand(2, 2, 3, 3)])


def test_atlas_barycentric_grid():
    bary = atlas_barycentric_grid(3)
    assert bary.shape == (3, 3, 3)
    assert torch.allclose(bary.sum(-1), torch.ones(3, 3))
    assert torch.all(bary > 0)
    assert torch.allclose(bary[0, 0], torch.tensor([1 / 9, 1 / 9, 7 / 9]))


# -- the batch protocol ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MAKERS))
def test_len_getitem(kind):
    t = MAKERS[kind]()
    assert len(t) == 3
    sub = t[[2, 0, -1]]
    assert type(sub) is type(t) and len(sub) == 3
    assert _same_mesh(sub, 0, t, 2) and _same_mesh(sub, 1, t, 0) and _same_mesh(sub, 2, t, 2)
    empty = t[[1]]
    assert len(empty) == 1
    empty.check_shapes([0], [0])
    none = t[[]]
    assert len(none) == 0
    with pytest.raises(IndexError, match="out of range"):
        t[[3]]
    assert len(t[0]) == 1 and _same_mesh(t[0], 0, t, 0)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_clone_detach_to(kind):
    t = MAKERS[kind](requires_grad=True)
    c = t.clone()
    for a, b in zip(_tensors(t), _tensors(c)):
        assert torch.equal(a, b)
        if a.numel():
            assert a.data_ptr() != b.data_ptr()
    d = t.detach()
    assert not any(x.requires_grad for x in _tensors(d))
    moved = t.to("cpu")
    assert moved.device == torch.device("cpu")
    assert moved is t


@pytest.mark.parametrize("kind", list(MAKERS))
def test_extend(kind):
    t = MAKERS[kind]()
    e = t.extend(2)
    assert len(e) == 6
    for i in range(3):
        assert _same_mesh(e, 2 * i, t, i) and _same_mesh(e, 2 * i + 1, t, i)
    e.check_shapes([n for n in NV for _ in range(2)], [n for n in NF for _ in range(2)])
    with pytest.raises(InputError):
        t.extend(0)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_join_batch(kind):
    a = MAKERS[kind]()
    b = a[[2]]
    j = a.join_batch([b, a[[1]]])
    assert len(j) == 5
    assert _same_mesh(j, 3, a, 2) and _same_mesh(j, 4, a, 1) and _same_mesh(j, 0, a, 0)
    j.check_shapes(NV + [NV[2], NV[1]], NF + [NF[2], NF[1]])


def test_join_batch_incompatible():
    with pytest.raises(InputError, match="incompatible"):
        _vertex().join_batch([_atlas()])
    with pytest.raises(InputError, match="incompatible"):
        _vertex().join_batch([TexturesVertex([torch.rand(2, 4)])])
    uv = _uv()
    other = TexturesUV([torch.rand(2, 2, 3)], [torch.zeros(1, 3, dtype=torch.long)],
                       [torch.rand(1, 2)], align_corners=False)
    with pytest.raises(InputError, match="incompatible"):
        uv.join_batch([other])


@pytest.mark.parametrize("kind", list(MAKERS))
def test_check_shapes(kind):
    t = MAKERS[kind]()
    t.check_shapes(NV, NF)
    with pytest.raises(InputError, match="3 meshes"):
        t.check_shapes(NV[:2], NF[:2])
    if kind == "vertex":
        with pytest.raises(InputError, match="mesh 2 has 3 rows but the mesh has 4 vertices"):
            t.check_shapes([4, 0, 4], NF)
    else:
        with pytest.raises(InputError, match="mesh 0 has 2 rows but the mesh has 3 faces"):
            t.check_shapes(NV, [3, 0, 1])


def test_join_scene_vertex_and_atlas():
    v = _vertex()
    s = v.join_scene()
    assert len(s) == 1
    assert torch.equal(s.verts_features_list()[0], v.verts_features_packed())
    s.check_shapes([sum(NV)], [sum(NF)])
    a = _atlas()
    sa = a.join_scene()
    assert torch.equal(sa.atlas_list()[0], a.atlas_packed())


def _sample(img: torch.Tensor, uv: torch.Tensor, align_corners: bool) -> torch.Tensor:
    """Bilinear lookup of (T, 2) UVs (v up) in an (H, W, C) image."""
    grid = torch.stack([uv[:, 0] * 2 - 1, (1 - uv[:, 1]) * 2 - 1], dim=-1)
    out = torch.nn.functional.grid_sample(
        img.permute(2, 0, 1)[None], grid[None, None], mode="bilinear",
        padding_mode="border", align_corners=align_corners)
    return out[0, :, 0].T


@pytest.mark.parametrize("align_corners", [True, False])
def test_join_scene_uv_samples_the_same_colours(align_corners):
    g = torch.Generator().manual_seed(3)
    maps = [torch.rand(6, 9, 3, generator=g), torch.rand(4, 4, 3, generator=g)]
    verts_uvs = [torch.rand(7, 2, generator=g), torch.rand(5, 2, generator=g)]
    faces_uvs = [torch.randint(0, 7, (3, 3), generator=g), torch.randint(0, 5, (2, 3),
                                                                             generator=g)]
    t = TexturesUV(maps, faces_uvs, verts_uvs, align_corners=align_corners)
    s = t.join_scene()
    assert len(s) == 1
    atlas = s.maps_list()[0]
    fuv = s.faces_uvs_list()[0]
    vuv = s.verts_uvs_list()[0]
    used = sum(int(f.unique().numel()) for f in faces_uvs)  # one UV row per used (UV, map)
    assert fuv.shape == (5, 3) and vuv.shape == (used, 2)
    before = torch.cat([_sample(maps[i], verts_uvs[i][faces_uvs[i].reshape(-1)], align_corners)
                        for i in range(2)])
    after = _sample(atlas, vuv[fuv.reshape(-1)], align_corners)
    assert torch.allclose(before, after, atol=1e-5)
    s.check_shapes([0], [5])


def test_join_scene_uv_gradients_and_shared_maps():
    t = _uv(requires_grad=True)
    s = t.join_scene()
    s.maps_list()[0].sum().backward()
    grads = [m.grad for m in t.maps_list()]
    assert grads[0] is not None and grads[2] is not None
    assert grads[1] is None  # mesh 1 has no faces: its map is not packed
    # the same map object repeated (extend) is packed once
    one = _uv()[[0]]
    joined = one.extend(3).join_scene()
    assert torch.equal(joined.maps_list()[0], one.maps_list()[0])
    assert joined.faces_uvs_list()[0].shape == (6, 3)


def test_empty_join_scene():
    t = TexturesVertex([torch.zeros(0, 3), torch.zeros(0, 3)])
    s = t.join_scene()
    assert s.verts_features_list()[0].shape == (0, 3)
    assert t[[]].verts_features_padded().shape[0] == 0
    assert t[[]].verts_features_packed().shape == (0, 3)


@pytest.mark.parametrize("kind", list(MAKERS))
def test_gradients_flow(kind):
    t = MAKERS[kind](requires_grad=True)
    e = t.extend(2)[[1, 4]].clone().join_batch([t[[0]]])
    if kind == "vertex":
        out = e.verts_features_padded().sum() + e.join_scene().verts_features_packed().sum()
        leaf = t.verts_features_list()
    elif kind == "atlas":
        out = e.atlas_padded().sum()
        leaf = t.atlas_list()
    else:
        out = e.maps_padded().sum()
        leaf = t.maps_list()
    out.backward()
    assert leaf[0].grad is not None and torch.all(leaf[0].grad > 0)
    assert leaf[2].grad is not None


def test_pack_texture_maps_layout():
    maps = [torch.full((3, 2, 1), float(k)) for k in range(5)]
    atlas, transforms = pack_texture_maps(maps, align_corners=True)
    assert transforms.shape == (5, 4)
    for k in range(5):
        corners = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.5, 0.5]])
        uv = remap_uvs(corners, transforms[k])
        assert torch.all(_sample(atlas, uv, True) == k)
    with pytest.raises(InputError):
        pack_texture_maps([])


def test_with_meshes_and_devices(device):
    from r3d.structures import Meshes, join_meshes_as_scene

    verts = [torch.rand(n, 3, device=device) for n in (4, 3)]
    faces = [torch.tensor([[0, 1, 2], [0, 2, 3]], device=device),
             torch.tensor([[0, 1, 2]], device=device)]
    padded = torch.rand(2, 4, 3, device=device, requires_grad=True)
    mesh = Meshes(verts=verts, faces=faces, textures=TexturesVertex(padded))
    assert [t.shape[0] for t in mesh.textures.verts_features_list()] == [4, 3]
    with pytest.raises(InputError):  # the padding is gone: a later check is strict
        mesh.textures.check_shapes([4, 4], [2, 1])
    maps = torch.rand(2, 8, 8, 3, device=device, requires_grad=True)
    uv = TexturesUV(maps, [torch.zeros(2, 3, dtype=torch.long, device=device),
                           torch.zeros(1, 3, dtype=torch.long, device=device)],
                    [torch.rand(1, 2, device=device)] * 2)
    mesh = Meshes(verts=verts, faces=faces, textures=uv)
    assert mesh[[1]].textures.faces_uvs_list()[0].shape == (1, 3)
    assert len(mesh.extend(3).textures) == 6
    scene = join_meshes_as_scene(mesh)
    tex = scene.textures
    assert tex.device.type == torch.device(device).type
    assert tex.faces_uvs_list()[0].tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
    tex.maps_list()[0].sum().backward()
    assert maps.grad is not None and torch.all(maps.grad > 0)
    assert mesh.to("cpu").textures.device == torch.device("cpu")
