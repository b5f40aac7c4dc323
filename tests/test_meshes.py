import math

import pytest
import torch

from r3d.errors import InputError
from r3d.structures import Meshes, join_meshes_as_batch, join_meshes_as_scene
from r3d.utils import ico_sphere


class FakeTextures:
    """Minimal object implementing the textures protocol Meshes relies on."""

    def __init__(self, feats):
        self.feats = list(feats)

    def __len__(self):
        return len(self.feats)

    def __getitem__(self, idx):
        assert isinstance(idx, list) and all(isinstance(i, int) for i in idx)
        return FakeTextures([self.feats[i] for i in idx])

    def clone(self):
        return FakeTextures([f.clone() for f in self.feats])

    def detach(self):
        return FakeTextures([f.detach() for f in self.feats])

    def to(self, device):
        return FakeTextures([f.to(device) for f in self.feats])

    def extend(self, n):
        return FakeTextures([f for f in self.feats for _ in range(n)])

    def join_batch(self, others):
        return FakeTextures(self.feats + [f for o in others for f in o.feats])

    def join_scene(self):
        return FakeTextures([torch.cat(self.feats)])

    def check_shapes(self, num_verts_per_mesh, num_faces_per_mesh):
        if [f.shape[0] for f in self.feats] != list(num_verts_per_mesh):
            raise InputError("FakeTextures: rows do not match the vertices")


TETRA_V = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
TETRA_F = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]  # outward


def tetra(dtype=torch.float32):
    return torch.tensor(TETRA_V, dtype=dtype), torch.tensor(TETRA_F)


def cube(dtype=torch.float32):
    v = torch.tensor(
        [[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)], dtype=dtype
    )  # vertex index = 4x + 2y + z
    f = torch.tensor(
        [
            [0, 1, 3], [0, 3, 2],  # x = 0
            [4, 6, 7], [4, 7, 5],  # x = 1
            [0, 4, 5], [0, 5, 1],  # y = 0
            [2, 3, 7], [2, 7, 6],  # y = 1
            [0, 2, 6], [0, 6, 4],  # z = 0
            [1, 5, 7], [1, 7, 3],  # z = 1
        ]
    )
    return v, f


def hetero_batch(dtype=torch.float32, seed=0):
    """tetra, empty mesh, 5 verts with no faces, random 7 verts / 6 faces."""
    g = torch.Generator().manual_seed(seed)
    tv, tf = tetra(dtype)
    verts = [
        tv,
        torch.zeros(0, 3, dtype=dtype),
        torch.randn(5, 3, generator=g, dtype=torch.float64).to(dtype),
        torch.randn(7, 3, generator=g, dtype=torch.float64).to(dtype),
    ]
    faces = [
        tf,
        torch.zeros(0, 3, dtype=torch.int64),
        torch.zeros(0, 3, dtype=torch.int64),
        torch.stack([torch.randperm(7, generator=g)[:3] for _ in range(6)]),
    ]
    return verts, faces


def loop_padded(items, size, pad):
    out = torch.full((len(items), size) + tuple(items[0].shape[1:]), pad, dtype=items[0].dtype)
    for i, t in enumerate(items):
        out[i, : t.shape[0]] = t
    return out


def check_index_tensors(m, nv, nf):
    n = len(nv)
    assert m.num_verts_per_mesh().tolist() == nv
    assert m.num_faces_per_mesh().tolist() == nf
    first_v, first_f, v2m, f2m, p2p = [], [], [], [], []
    sv = sf = 0
    vmax = m.verts_padded().shape[1]
    for i in range(n):
        first_v.append(sv)
        first_f.append(sf)
        v2m += [i] * nv[i]
        f2m += [i] * nf[i]
        p2p += [i * vmax + j for j in range(nv[i])]
        sv += nv[i]
        sf += nf[i]
    assert m.mesh_to_verts_packed_first_idx().tolist() == first_v
    assert m.mesh_to_faces_packed_first_idx().tolist() == first_f
    assert m.verts_packed_to_mesh_idx().tolist() == v2m
    assert m.faces_packed_to_mesh_idx().tolist() == f2m
    assert m.verts_padded_to_packed_idx().tolist() == p2p
    for t in (m.mesh_to_verts_packed_first_idx(), m.verts_packed_to_mesh_idx()):
        assert t.dtype == torch.int64
    torch.testing.assert_close(m.verts_padded().reshape(-1, 3)[p2p], m.verts_packed())


def test_from_list_views_and_index_tensors():
    verts, faces = hetero_batch()
    m = Meshes(verts, faces)
    nv, nf = [4, 0, 5, 7], [4, 0, 0, 6]
    assert len(m) == 4 and not m.isempty() and not m.equisized
    assert m.valid.tolist() == [True, False, False, True]
    for a, b in zip(m.verts_list(), verts):
        assert torch.equal(a, b)
    torch.testing.assert_close(m.verts_packed(), torch.cat(verts))
    torch.testing.assert_close(m.verts_padded(), loop_padded(verts, 7, 0.0))
    assert torch.equal(m.faces_padded(), loop_padded(faces, 6, -1))
    offsets = [0, 4, 4, 9]
    assert torch.equal(m.faces_packed(), torch.cat([f + o for f, o in zip(faces, offsets)]))
    check_index_tensors(m, nv, nf)
    # the packed faces index the same points as the per-mesh faces
    vp = m.verts_packed()
    for i, (v, f) in enumerate(zip(verts, faces)):
        sel = m.faces_packed()[m.faces_packed_to_mesh_idx() == i]
        torch.testing.assert_close(vp[sel], v[f])


def test_from_padded_views():
    verts = torch.randn(3, 5, 3)
    faces = torch.tensor(
        [
            [[0, 1, 2], [1, 2, 3], [-1, -1, -1]],
            [[-1, -1, -1]] * 3,
            [[4, 3, 2], [0, 1, 4], [2, 0, 3]],
        ]
    )
    m = Meshes(verts, faces)
    assert m.num_verts_per_mesh().tolist() == [5, 5, 5]
    assert m.num_faces_per_mesh().tolist() == [2, 0, 3]
    assert m.valid.tolist() == [True, False, True]
    assert m.verts_padded() is verts
    assert [f.tolist() for f in m.faces_list()] == [faces[0, :2].tolist(), [],
                                                     faces[2].tolist()]
    torch.testing.assert_close(m.verts_packed(), verts.reshape(-1, 3))
    assert m.faces_packed().tolist() == [[0, 1, 2], [1, 2, 3], [14, 13, 12], [10, 11, 14],
                                         [12, 10, 13]]
    check_index_tensors(m, [5, 5, 5], [2, 0, 3])
    # a list-built copy agrees
    m2 = Meshes(m.verts_list(), m.faces_list())
    assert torch.equal(m2.faces_padded(), m.faces_padded())
    assert torch.equal(m2.faces_packed(), m.faces_packed())


def test_list_padding_rows_are_dropped_and_int32_accepted():
    v, f = tetra()
    f_pad = torch.cat([f, torch.full((2, 3), -1)]).to(torch.int32)
    m = Meshes([v], [f_pad])
    assert m.faces_list()[0].dtype == torch.int64 and torch.equal(m.faces_list()[0], f)


def test_empty_batches():
    m = Meshes([], [])
    assert len(m) == 0 and m.isempty()
    assert m.verts_packed().shape == (0, 3) and m.faces_packed().shape == (0, 3)
    assert m.verts_padded().shape == (0, 0, 3) and m.edges_packed().shape == (0, 2)
    m = Meshes([torch.zeros(0, 3)], [torch.zeros(0, 3, dtype=torch.int64)])
    assert m.isempty() and m.verts_normals_packed().shape == (0, 3)
    assert m.faces_areas_packed().shape == (0,)
    assert m.get_bounding_boxes().tolist() == [[[0.0, 0.0]] * 3]
    m = Meshes(torch.zeros(2, 0, 3), torch.zeros(2, 0, 3, dtype=torch.int64))
    assert m.isempty() and m.verts_list()[1].shape == (0, 3)


def test_edges_tetrahedron():
    m = Meshes(*[[t] for t in tetra()])
    assert m.edges_packed().tolist() == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    # face (v0, v1, v2) -> edges (v1, v2), (v2, v0), (v0, v1)
    assert m.faces_packed_to_edges_packed().tolist() == [
        [3, 0, 1],  # (0, 2, 1): (1, 2), (0, 1), (0, 2)
        [4, 2, 0],  # (0, 1, 3): (1, 3), (0, 3), (0, 1)
        [5, 1, 2],  # (0, 3, 2): (2, 3), (0, 2), (0, 3)
        [5, 4, 3],  # (1, 2, 3): (2, 3), (1, 3), (1, 2)
    ]
    assert m.num_edges_per_mesh().tolist() == [6]


def test_edges_batch_cube_and_tetrahedron():
    (cv, cf), (tv, tf) = cube(), tetra()
    m = Meshes([tv, torch.zeros(0, 3), cv], [tf, torch.zeros(0, 3, dtype=torch.int64), cf])
    cube_edges = sorted(
        {(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 3), (2, 6), (3, 7), (4, 5), (4, 6),
         (5, 7), (6, 7),  # the 12 sides
         (0, 3), (4, 7), (0, 5), (2, 7), (0, 6), (1, 7)}  # one diagonal per square
    )
    want = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    want += [[a + 4, b + 4] for a, b in cube_edges]
    assert m.edges_packed().tolist() == want
    assert m.num_edges_per_mesh().tolist() == [6, 0, 18]
    assert m.mesh_to_edges_packed_first_idx().tolist() == [0, 6, 6]
    assert m.edges_packed_to_mesh_idx().tolist() == [0] * 6 + [2] * 18
    # faces_packed_to_edges_packed against a loop
    edges = m.edges_packed().tolist()
    for face, fe in zip(m.faces_packed().tolist(), m.faces_packed_to_edges_packed().tolist()):
        for k in range(3):
            a, b = face[(k + 1) % 3], face[(k + 2) % 3]
            assert edges[fe[k]] == sorted([a, b])


def test_laplacian_packed():
    m = Meshes(*[[t] for t in tetra()])
    lap = m.laplacian_packed().to_dense()
    want = torch.full((4, 4), 1 / 3) - torch.eye(4) * (1 + 1 / 3)
    torch.testing.assert_close(lap, want)


def test_normals_and_areas_of_ico_sphere():
    m = ico_sphere(3)
    v = m.verts_packed()
    torch.testing.assert_close(m.verts_normals_packed(), v, atol=0.02, rtol=0)
    torch.testing.assert_close(m.verts_normals_packed().norm(dim=1), torch.ones(len(v)))
    centroids = v[m.faces_packed()].mean(1)
    cos = (m.faces_normals_packed() * centroids).sum(1) / centroids.norm(dim=1)
    assert bool((cos > 0.99).all())
    sums = [ico_sphere(level).faces_areas_packed().sum().item() for level in range(5)]
    assert all(a < b < 4 * math.pi for a, b in zip(sums, sums[1:]))
    assert abs(sums[-1] - 4 * math.pi) < 0.01 * 4 * math.pi


def test_normals_areas_known_values_and_layouts():
    square_v = torch.tensor([[0.0, 0, 0], [2, 0, 0], [2, 2, 0], [0, 2, 0]])
    square_f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    verts, faces = hetero_batch()
    m = Meshes([square_v] + verts, [square_f] + faces)
    torch.testing.assert_close(m.faces_areas_packed()[:2], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(m.verts_normals_list()[0], torch.tensor([[0.0, 0, 1]] * 4))
    torch.testing.assert_close(m.faces_normals_list()[0], torch.tensor([[0.0, 0, 1]] * 2))
    # tetra face (1, 2, 3) has area sqrt(3) / 2 and normal (1, 1, 1) / sqrt(3)
    torch.testing.assert_close(m.faces_areas_packed()[5], torch.tensor(math.sqrt(3) / 2))
    torch.testing.assert_close(m.faces_normals_packed()[5], torch.full((3,), 3 ** -0.5))
    # vertices in no face get zero normals
    assert torch.equal(m.verts_normals_list()[3], torch.zeros(5, 3))
    fn = m.faces_normals_list()
    torch.testing.assert_close(m.faces_normals_padded(), loop_padded(fn, 6, 0.0))
    vn = m.verts_normals_list()
    torch.testing.assert_close(m.verts_normals_padded(), loop_padded(vn, 7, 0.0))
    torch.testing.assert_close(m.verts_normals_packed(), torch.cat(vn))
    assert m.has_verts_normals()


def test_given_verts_normals_are_kept():
    verts, faces = hetero_batch()
    normals = [torch.randn_like(v) for v in verts]
    m = Meshes(verts, faces, verts_normals=normals)
    torch.testing.assert_close(m.verts_normals_packed(), torch.cat(normals))
    sub = m[[3, 0]]
    torch.testing.assert_close(sub.verts_normals_list()[0], normals[3])
    m2 = m.scale_verts(2.0)  # a uniform scale keeps them
    torch.testing.assert_close(m2.verts_normals_packed(), torch.cat(normals))
    m3 = m.offset_verts(torch.zeros(16, 3))  # per-vertex offsets recompute them
    assert not torch.allclose(m3.verts_normals_list()[0], normals[0])
    padded = Meshes(verts, faces, verts_normals=m.verts_normals_padded())
    torch.testing.assert_close(padded.verts_normals_packed(), torch.cat(normals))


@pytest.mark.parametrize(
    "index, items",
    [
        (1, [1]),
        (-1, [3]),
        (slice(1, None, 2), [1, 3]),
        ([3, 0, 0], [3, 0, 0]),
        (torch.tensor([True, False, False, True]), [0, 3]),
        (torch.tensor([2, 0]), [2, 0]),
    ],
)
def test_getitem(index, items):
    verts, faces = hetero_batch()
    tex = FakeTextures([torch.rand(len(v), 3) for v in verts])
    m = Meshes(verts, faces, textures=tex)
    sub = m[index]
    assert len(sub) == len(items)
    for j, i in enumerate(items):
        assert torch.equal(sub.verts_list()[j], verts[i])
        assert torch.equal(sub.faces_list()[j], faces[i])
        assert torch.equal(sub.textures.feats[j], tex.feats[i])


def test_getitem_bad_index():
    verts, faces = hetero_batch()
    m = Meshes(verts, faces)
    for bad in (4, -5, [0, 7], 1.5, torch.tensor([True, False]), torch.tensor([0.0])):
        with pytest.raises(IndexError):
            m[bad]


def test_get_mesh_verts_faces():
    verts, faces = hetero_batch()
    v, f = Meshes(verts, faces).get_mesh_verts_faces(3)
    assert torch.equal(v, verts[3]) and torch.equal(f, faces[3])


def test_extend_split_join_batch():
    verts, faces = hetero_batch()
    tex = FakeTextures([torch.rand(len(v), 2) for v in verts])
    m = Meshes(verts, faces, textures=tex)
    ext = m.extend(2)
    assert len(ext) == 8 and len(ext.textures) == 8
    for i in range(8):
        assert torch.equal(ext.verts_list()[i], verts[i // 2])
        assert torch.equal(ext.faces_list()[i], faces[i // 2])
    parts = m.split([1, 0, 3])
    assert [len(p) for p in parts] == [1, 0, 3]
    assert torch.equal(parts[2].faces_list()[2], faces[3])
    assert torch.equal(parts[2].textures.feats[0], tex.feats[1])
    joined = join_meshes_as_batch(parts)
    assert len(joined) == 4
    assert torch.equal(joined.faces_packed(), m.faces_packed())
    assert torch.equal(joined.verts_packed(), m.verts_packed())
    assert len(joined.textures) == 4
    assert join_meshes_as_batch(parts, include_textures=False).textures is None
    with pytest.raises(InputError, match="textures"):
        join_meshes_as_batch([m, Meshes(verts, faces)])
    with pytest.raises(InputError, match="add up"):
        m.split([1, 1])
    with pytest.raises(InputError, match="positive"):
        m.extend(0)


def test_join_as_scene_offsets_faces():
    (cv, cf), (tv, tf) = cube(), tetra()
    a = Meshes([tv], [tf], textures=FakeTextures([torch.rand(4, 3)]))
    b = Meshes([cv, tv], [cf, tf], textures=FakeTextures([torch.rand(8, 3), torch.rand(4, 3)]))
    scene = join_meshes_as_scene([a, b])
    assert len(scene) == 1
    assert scene.verts_packed().shape == (16, 3) and scene.faces_packed().shape == (20, 3)
    assert torch.equal(scene.faces_packed(), torch.cat([tf, cf + 4, tf + 12]))
    assert scene.textures.feats[0].shape == (16, 3)
    assert join_meshes_as_scene(a) is a
    s2 = join_meshes_as_scene(b, include_textures=False)
    assert s2.textures is None and s2.faces_list()[0].shape == (16, 3)


def test_offset_and_scale():
    verts, faces = hetero_batch(torch.float64)
    verts = [v.requires_grad_() for v in verts]
    m = Meshes(verts, faces)
    _ = m.faces_areas_packed()  # cached, must be invalidated
    off = torch.randn(16, 3, dtype=torch.float64)
    moved = m.offset_verts(off)
    torch.testing.assert_close(moved.verts_packed(), torch.cat(verts) + off)
    assert torch.equal(m.verts_packed(), torch.cat(verts))  # out of place
    shift = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    moved = m.offset_verts(shift)
    torch.testing.assert_close(moved.verts_list()[3], verts[3] + shift)
    nonempty = [0, 2, 3]  # an empty mesh's box stays zero
    torch.testing.assert_close(
        moved.get_bounding_boxes()[nonempty], m.get_bounding_boxes()[nonempty] + shift[:, None]
    )
    scale = torch.tensor([2.0, 3.0, 4.0, 0.5], dtype=torch.float64)
    scaled = m.scale_verts(scale)
    for i in range(4):
        torch.testing.assert_close(scaled.verts_list()[i], verts[i] * scale[i])
    torch.testing.assert_close(scaled.faces_areas_packed()[:4], m.faces_areas_packed()[:4] * 4)
    torch.testing.assert_close(m.scale_verts(2.0).verts_padded(), m.verts_padded() * 2)
    # in place: caches are refreshed
    areas = m.faces_areas_packed().clone()
    m.scale_verts_(3.0)
    torch.testing.assert_close(m.faces_areas_packed(), areas * 9)
    torch.testing.assert_close(m.verts_padded(), loop_padded([v * 3 for v in verts], 7, 0.0))
    m.offset_verts_(shift)
    torch.testing.assert_close(m.verts_list()[0], verts[0] * 3 + shift)
    # gradients reach the original vertices
    m.verts_packed().sum().backward()
    torch.testing.assert_close(verts[0].grad, torch.full((4, 3), 3.0, dtype=torch.float64))
    with pytest.raises(InputError, match=r"vert_offsets_packed must have shape \(3,\)"):
        m.offset_verts(torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(InputError, match="scale"):
        m.scale_verts(torch.ones(3, dtype=torch.float64))


def test_gradients_flow_through_views():
    verts, faces = hetero_batch(torch.float64)
    verts = [v.requires_grad_() for v in verts]
    m = Meshes(verts, faces, textures=FakeTextures([torch.rand(len(v), 1) for v in verts]))
    outs = [
        m.verts_padded(), m.verts_normals_padded(), m.faces_areas_packed(),
        m[[3]].verts_packed(), join_meshes_as_scene(m).verts_packed(),
        m.scale_verts(2.0).verts_list()[3], m.extend(2).verts_packed(),
        m.get_bounding_boxes(),
    ]
    for out in outs:
        g = torch.autograd.grad(out.sum(), verts[3], allow_unused=True, retain_graph=True)[0]
        assert g is not None and bool(g.abs().sum() > 0)


def test_gradcheck_views():
    verts, faces = hetero_batch(torch.float64, seed=1)
    verts = [v.requires_grad_() for v in verts]

    def fn(*vs):
        m = Meshes(list(vs), faces)
        return (
            m.verts_padded(),
            m.verts_normals_packed(),
            m.faces_normals_padded(),
            m.faces_areas_packed(),
            m.offset_verts(torch.ones(3, dtype=torch.float64)).verts_packed(),
        )

    assert torch.autograd.gradcheck(fn, tuple(verts))

    padded_faces = Meshes(verts, faces).faces_padded()[[0, 3]]
    padded_verts = torch.randn(2, 7, 3, dtype=torch.float64, requires_grad=True)

    def fn_padded(v):
        m = Meshes(v, padded_faces)
        return m.verts_packed(), m.verts_normals_padded(), m.faces_areas_packed()

    assert torch.autograd.gradcheck(fn_padded, (padded_verts,))


def test_bounding_boxes():
    verts, faces = hetero_batch()
    boxes = Meshes(verts, faces).get_bounding_boxes()
    assert boxes.shape == (4, 3, 2)
    for i, v in enumerate(verts):
        if len(v):
            torch.testing.assert_close(boxes[i, :, 0], v.min(0).values)
            torch.testing.assert_close(boxes[i, :, 1], v.max(0).values)
        else:
            assert torch.equal(boxes[i], torch.zeros(3, 2))


def test_update_padded():
    verts, faces = hetero_batch()
    tex = FakeTextures([torch.rand(len(v), 2) for v in verts])
    m = Meshes(verts, faces, textures=tex)
    _ = m.edges_packed()
    new_padded = torch.randn(4, 7, 3, requires_grad=True)
    new = m.update_padded(new_padded)
    assert new.textures is tex
    assert new.num_verts_per_mesh().tolist() == [4, 0, 5, 7]
    assert torch.equal(new.faces_packed(), m.faces_packed())
    assert torch.equal(new.edges_packed(), m.edges_packed())
    torch.testing.assert_close(new.verts_list()[2], new_padded[2, :5])
    torch.testing.assert_close(new.verts_packed(), new_padded.reshape(-1, 3)[
        m.verts_padded_to_packed_idx()])
    new.verts_normals_packed().sum().backward()
    assert new_padded.grad is not None
    torch.testing.assert_close(m.verts_packed(), torch.cat(verts))  # original untouched
    with pytest.raises(InputError, match=r"\(4, 7, 3\)"):
        m.update_padded(torch.zeros(4, 6, 3))


def test_clone_detach_to():
    verts, faces = hetero_batch()
    verts[0].requires_grad_()
    tex = FakeTextures([torch.rand(len(v), 2) for v in verts])
    m = Meshes(verts, faces, textures=tex)
    _ = m.verts_normals_packed(), m.edges_packed()
    c = m.clone()
    assert c.verts_packed() is not m.verts_packed() and c.textures is not tex
    torch.testing.assert_close(c.verts_normals_packed(), m.verts_normals_packed())
    assert c.verts_packed().requires_grad
    c.offset_verts_(torch.ones(3))
    torch.testing.assert_close(m.verts_list()[0], verts[0])  # clone is independent
    d = m.detach()
    assert not d.verts_packed().requires_grad and not d.verts_normals_packed().requires_grad
    assert torch.equal(d.edges_packed(), m.edges_packed())
    assert m.to("cpu") is m and m.to("cpu", copy=True) is not m
    assert m.cpu().device == torch.device("cpu")


def test_textures_checked_and_carried():
    verts, faces = hetero_batch()
    with pytest.raises(InputError, match="batch size 4"):
        Meshes(verts, faces, textures=FakeTextures([torch.rand(4, 3)]))
    with pytest.raises(InputError, match="rows"):
        Meshes(verts, faces, textures=FakeTextures([torch.rand(1, 3)] * 4))


def test_real_textures_vertex():
    textures = pytest.importorskip("r3d.structures.textures")
    verts, faces = hetero_batch()
    tex = textures.TexturesVertex(verts_features=[torch.rand(len(v), 3) for v in verts])
    m = Meshes(verts, faces, textures=tex)
    sub = m[[3, 0]]
    assert len(sub.textures) == 2
    assert len(join_meshes_as_batch([m, sub]).textures) == 6
    assert len(join_meshes_as_scene(m).textures) == 1
    assert len(m.extend(2).textures) == 8 and len(m.clone().textures) == 4


def test_submeshes():
    cv, cf = cube()
    m = Meshes([cv], [cf])
    sub = m.submeshes([[torch.tensor([0, 1]), torch.tensor([2])]])
    assert len(sub) == 2
    assert sub.num_verts_per_mesh().tolist() == [4, 3]
    torch.testing.assert_close(sub.verts_list()[0][sub.faces_list()[0]], cv[cf[:2]])
    torch.testing.assert_close(sub.verts_list()[1][sub.faces_list()[1]], cv[cf[2:3]])


@pytest.mark.parametrize(
    "verts, faces, match",
    [
        ([torch.zeros(3, 3)], torch.zeros(1, 1, 3, dtype=torch.int64), "both be lists"),
        ([torch.zeros(3, 2)], [torch.zeros(1, 3, dtype=torch.int64)], r"verts\[0\].*\(K, 3\)"),
        ([torch.zeros(3, 3, dtype=torch.int64)], [torch.zeros(1, 3, dtype=torch.int64)],
         "floating-point"),
        ([torch.zeros(3, 3)], [torch.ones(1, 3, dtype=torch.bool)], r"faces\[0\] must be an int"),
        ([torch.zeros(3, 3)], [torch.tensor([[0.0, 1.5, 2.0]])], r"faces\[0\] row 0.*whole"),
        ([torch.zeros(3, 3)], [], "list of 1 tensors"),
        ([torch.zeros(3, 3), torch.zeros(3, 3, dtype=torch.float64)],
         [torch.zeros(1, 3, dtype=torch.int64)] * 2, "dtype"),
        ([torch.zeros(3, 3)], [torch.tensor([[0, 1, 3]])], r"faces\[0\] row 0.*\[0, 2\]"),
        ([torch.zeros(3, 3)], [torch.tensor([[0, -1, 2]])], "-1"),
        (torch.zeros(2, 3, 3), torch.zeros(3, 1, 3, dtype=torch.int64), "batch size 2"),
        (torch.zeros(2, 3), torch.zeros(2, 1, 3, dtype=torch.int64), r"\(N, V, 3\)"),
        (torch.zeros(1, 3, 3), torch.zeros(1, 1, 3, dtype=torch.bool), r"\(N, F, 3\)"),
        (torch.zeros(1, 3, 3), torch.tensor([[[0.0, 1.0, float("nan")]]]), r"faces\[0, 0\].*whole"),
        (torch.zeros(1, 3, 3), torch.tensor([[[0, 1, 5]]]), r"faces\[0, 0\]"),
        (torch.zeros(1, 3, 3), torch.tensor([[[-1, -1, -1], [0, 1, 2]]]), "after"),
        ([torch.zeros(3, 3), torch.zeros(3, 3, device="meta")],
         [torch.zeros(1, 3, dtype=torch.int64)] * 2, r"verts\[1\] must be on cpu"),
        ([torch.zeros(3, 3)], [torch.zeros(1, 3, dtype=torch.int64, device="meta")],
         r"faces\[0\] must be on cpu"),
    ],
)
def test_bad_inputs(verts, faces, match):
    with pytest.raises(InputError, match=match):
        Meshes(verts, faces)


def test_bad_verts_normals():
    verts, faces = hetero_batch()
    with pytest.raises(InputError, match="verts_normals"):
        Meshes(verts, faces, verts_normals=[torch.zeros(4, 3)])
    with pytest.raises(InputError, match=r"\(4, 7, 3\)"):
        Meshes(verts, faces, verts_normals=torch.zeros(4, 6, 3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_to_cuda():
    verts, faces = hetero_batch()
    m = Meshes(verts, faces, textures=FakeTextures([torch.rand(len(v), 2) for v in verts]))
    _ = m.edges_packed()
    g = m.to("cuda")
    assert g.device.type == "cuda" and g.verts_packed().is_cuda and g.edges_packed().is_cuda
    assert g.textures.feats[0].is_cuda
    torch.testing.assert_close(g.verts_normals_packed().cpu(), m.verts_normals_packed())
    torch.testing.assert_close(g.verts_padded().cpu(), m.verts_padded())
    assert torch.equal(g.faces_packed_to_edges_packed().cpu(), m.faces_packed_to_edges_packed())


def test_offset_and_scaled_batches_share_the_topology_computed_once():
    m = Meshes([torch.rand(4, 3), torch.rand(5, 3)],
               [torch.tensor([[0, 1, 2], [1, 2, 3]]), torch.tensor([[0, 1, 4]])])
    offsets = torch.rand(9, 3)
    moved = m.offset_verts(offsets)
    scaled = moved.scale_verts(2.0)
    assert scaled.edges_packed() is m.edges_packed()  # computed once, for all three
    assert torch.equal(moved.verts_packed(), m.verts_packed() + offsets)
    assert torch.allclose(scaled.verts_packed(), 2 * moved.verts_packed())
