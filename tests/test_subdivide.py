import pytest
import torch

from r3d.errors import InputError
from r3d.ops import SubdivideMeshes
from r3d.structures import Meshes

TETRA_V = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
TETRA_F = torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


def test_single_triangle_layout():
    verts = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 2, 0]])
    new = SubdivideMeshes()(Meshes([verts], [torch.tensor([[0, 1, 2]])]))
    v, f = new.verts_list()[0], new.faces_list()[0]
    assert v.shape == (6, 3) and f.shape == (4, 3)
    torch.testing.assert_close(v[:3], verts)
    # edges_packed order: (0, 1), (0, 2), (1, 2)
    torch.testing.assert_close(v[3:], torch.tensor([[1.0, 0, 0], [0, 1, 0], [1, 1, 0]]))
    # corner triangles of v0, v1, v2, then the middle one; all keep the winding (+z normals)
    assert f.tolist() == [[0, 3, 4], [1, 5, 3], [2, 4, 5], [5, 4, 3]]
    assert (new.faces_normals_packed()[:, 2] > 0).all()


def test_counts_midpoints_and_heterogeneous_batch():
    g = torch.Generator().manual_seed(0)
    quad_v = torch.rand(4, 3, generator=g)
    quad_f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    meshes = Meshes(
        [TETRA_V, torch.zeros(0, 3), quad_v, torch.rand(2, 3, generator=g)],
        [TETRA_F, torch.zeros(0, 3, dtype=torch.int64), quad_f,
         torch.zeros(0, 3, dtype=torch.int64)],
    )
    new = SubdivideMeshes()(meshes)
    V, E, F = (meshes.num_verts_per_mesh(), meshes.num_edges_per_mesh(),
               meshes.num_faces_per_mesh())
    assert new.num_verts_per_mesh().tolist() == (V + E).tolist() == [10, 0, 9, 2]
    assert new.num_faces_per_mesh().tolist() == (4 * F).tolist() == [16, 0, 8, 0]
    for i in range(4):
        v, old = new.verts_list()[i], meshes.verts_list()[i]
        torch.testing.assert_close(v[: len(old)], old)
        edges = meshes[i].edges_packed()
        torch.testing.assert_close(v[len(old):], old[edges].mean(1))
    # the total area is unchanged and the subdivided tetrahedron stays closed
    torch.testing.assert_close(new.faces_areas_packed().sum(), meshes.faces_areas_packed().sum())
    f = new.faces_list()[0]
    directed = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    assert (torch.unique(directed, dim=0, return_counts=True)[1] == 1).all()
    assert len(torch.unique(directed.sort(1).values, dim=0)) == 24


def test_features_and_gradients():
    verts = TETRA_V.clone().requires_grad_(True)
    feats = torch.arange(8.0).reshape(4, 2).requires_grad_(True)
    new, new_feats = SubdivideMeshes()(Meshes([verts], [TETRA_F]), feats=feats)
    edges = Meshes([TETRA_V], [TETRA_F]).edges_packed()
    torch.testing.assert_close(new_feats, torch.cat([feats, feats[edges].mean(1)]).detach())
    (new.verts_packed().sum() + new_feats.sum()).backward()
    degree = torch.bincount(edges.reshape(-1), minlength=4).float()
    # each vertex is copied once and is half of each midpoint of its edges
    torch.testing.assert_close(verts.grad, (1 + degree / 2)[:, None].expand(4, 3))
    torch.testing.assert_close(feats.grad, (1 + degree / 2)[:, None].expand(4, 2))


def test_precomputed_topology():
    meshes = Meshes([TETRA_V, TETRA_V * 2], [TETRA_F, TETRA_F])
    fixed = SubdivideMeshes(meshes[:1])
    got, feats = fixed(meshes, feats=meshes.verts_packed())
    ref = SubdivideMeshes()(meshes)
    for a, b in zip(got.verts_list() + got.faces_list(), ref.verts_list() + ref.faces_list()):
        torch.testing.assert_close(a, b)
    # as in PyTorch3D, the precomputed path gives padded (N, V + E, D) features
    torch.testing.assert_close(feats, ref.verts_padded())
    other = Meshes([TETRA_V], [TETRA_F[:, [0, 2, 1]]])
    with pytest.raises(InputError, match="topology"):
        fixed(other)


def test_invalid_inputs():
    meshes = Meshes([TETRA_V], [TETRA_F])
    with pytest.raises(InputError, match="meshes must be a Meshes"):
        SubdivideMeshes()(TETRA_V)
    with pytest.raises(InputError, match=r"feats must have shape \(4, D\)"):
        SubdivideMeshes()(meshes, feats=torch.zeros(3, 2))
