import math

import pytest
import torch

from r3d.bench.cases._inputs import grid_mesh
from r3d.errors import InputError
from r3d.loss import mesh_edge_loss, mesh_laplacian_smoothing, mesh_normal_consistency
from r3d.loss.mesh_edge_loss import mesh_edge_loss_torch
from r3d.loss.mesh_laplacian_smoothing import mesh_laplacian_smoothing_torch
from r3d.loss.mesh_normal_consistency import mesh_normal_consistency_torch
from r3d.structures import Meshes
from r3d.utils import ico_sphere

LOSSES = {
    "edge": (lambda m: mesh_edge_loss(m, 0.3), lambda m: mesh_edge_loss_torch(m, 0.3)),
    "uniform": (
        lambda m: mesh_laplacian_smoothing(m, "uniform"),
        lambda m: mesh_laplacian_smoothing_torch(m, "uniform"),
    ),
    "cot": (
        lambda m: mesh_laplacian_smoothing(m, "cot"),
        lambda m: mesh_laplacian_smoothing_torch(m, "cot"),
    ),
    "cotcurv": (
        lambda m: mesh_laplacian_smoothing(m, "cotcurv"),
        lambda m: mesh_laplacian_smoothing_torch(m, "cotcurv"),
    ),
    "normal": (mesh_normal_consistency, mesh_normal_consistency_torch),
}


def heterogeneous_lists(dtype=torch.float32, device="cpu", seed=0):
    """Verts and faces lists: a noisy sphere with isolated vertices, a mesh with no vertex, a
    random soup (edges shared by many faces), a mesh with vertices and no face, a bumpy grid."""
    g = torch.Generator().manual_seed(seed)
    sphere = ico_sphere(2)
    sv = sphere.verts_packed().double()
    sv = torch.cat([sv + 0.05 * torch.randn(sv.shape, generator=g, dtype=torch.float64),
                    torch.randn(3, 3, generator=g, dtype=torch.float64)])
    soup_v = torch.randn(12, 3, generator=g, dtype=torch.float64)
    soup_f = torch.rand(40, 12, generator=g).argsort(dim=1)[:, :3]
    gv, gf = grid_mesh(200, g)
    verts = [sv, sv[:0], soup_v, torch.randn(4, 3, generator=g, dtype=torch.float64),
             gv.double()]
    faces = [sphere.faces_packed(), soup_f[:0], soup_f, soup_f[:0], gf]
    return [v.to(dtype=dtype, device=device) for v in verts], [f.to(device) for f in faces]


@pytest.mark.parametrize("name", list(LOSSES))
def test_native_matches_torch_on_heterogeneous_batch(device, name):
    native, twin = LOSSES[name]
    verts, faces = heterogeneous_lists(device=device)
    values, grads = [], []
    for fn in (native, twin):
        vs = [v.clone().requires_grad_(True) for v in verts]
        value = fn(Meshes(vs, faces))
        values.append(value)
        grads.append(torch.autograd.grad(value, vs, allow_unused=True, materialize_grads=True))
    torch.testing.assert_close(values[0], values[1], rtol=1e-5, atol=1e-6)
    for got, ref in zip(*grads):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)
    assert values[0].shape == ()


# "cot" and "cotcurv" hold their weights constant (as PyTorch3D does), so their gradients are
# not those of the function of the vertices gradcheck differentiates numerically
@pytest.mark.parametrize("name", ["edge", "uniform", "normal"])
def test_gradcheck_float64(device, name):
    verts, faces = heterogeneous_lists(dtype=torch.float64, device=device, seed=1)
    verts, faces = [verts[2], verts[3]], [faces[2][:10], faces[3]]
    for fn in LOSSES[name]:
        assert torch.autograd.gradcheck(
            lambda a, b, f=fn: f(Meshes([a, b], faces)),
            tuple(v.clone().requires_grad_(True) for v in verts),
            fast_mode=True,
        )


@pytest.mark.parametrize("name", list(LOSSES))
def test_empty_batches_give_zero(name):
    for meshes in (
        Meshes([], []),
        Meshes([torch.randn(3, 3)], [torch.zeros(0, 3, dtype=torch.int64)]),
    ):
        for fn in LOSSES[name]:
            value = fn(meshes)
            assert value.shape == () and float(value.detach()) == 0.0 and value.requires_grad


def tetrahedron(edge: float) -> tuple[torch.Tensor, torch.Tensor]:
    verts = torch.tensor([[1.0, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) * edge / 8**0.5
    faces = torch.tensor([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    return verts, faces


def test_edge_loss_of_regular_meshes():
    (v1, f1), (v2, f2) = tetrahedron(1.0), tetrahedron(2.0)
    meshes = Meshes([v1, v2], [f1, f2])
    for fn in (mesh_edge_loss, mesh_edge_loss_torch):
        assert float(fn(meshes)) == pytest.approx((1.0 + 4.0) / 2)
        assert float(fn(meshes, 1.0)) == pytest.approx((0.0 + 1.0) / 2)
        assert float(fn(Meshes([v2], [f2]), 2.0)) == pytest.approx(0.0, abs=1e-10)
    square = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]])
    two = Meshes([square], [torch.tensor([[0, 1, 2], [0, 2, 3]])])
    assert float(mesh_edge_loss(two)) == pytest.approx((4 * 1 + 2) / 5)


def test_normal_consistency_closed_forms():
    verts, faces = grid_mesh(100, torch.Generator().manual_seed(0))
    flat = verts.clone()
    flat[:, 2] = 0
    e = torch.tensor([[0.0, 0, 0], [1, 0, 0]])
    a, b, c = [0.5, 1.0, 0.0], [0.5, 0.0, 1.0], [0.5, -1.0, 0.0]
    folded = torch.cat([e, torch.tensor([a, b])])  # faces at 90 degrees: 1 - cos = 1
    three = torch.cat([e, torch.tensor([a, b, c])])  # pairs (a, b): 1, (a, c): 0, (b, c): 1
    for fn in (mesh_normal_consistency, mesh_normal_consistency_torch):
        assert float(fn(Meshes([flat], [faces]))) == pytest.approx(0.0, abs=1e-6)
        pair = Meshes([folded], [torch.tensor([[0, 1, 2], [1, 0, 3]])])
        assert float(fn(pair)) == pytest.approx(1.0)
        fan = Meshes([three], [torch.tensor([[0, 1, 2], [0, 1, 3], [1, 0, 4]])])
        assert float(fn(fan)) == pytest.approx(2 / 3)
        # a mesh without shared edges counts as 0 in the batch mean
        single = Meshes([folded, e.new_tensor([[0, 0, 0], [1, 0, 0], [0, 1, 0]])],
                        [torch.tensor([[0, 1, 2], [1, 0, 3]]), torch.tensor([[0, 1, 2]])])
        assert float(fn(single)) == pytest.approx(0.5)


def test_laplacian_smoothing_closed_forms():
    sphere = ico_sphere(4)
    verts = sphere.verts_packed().double() * 3.0
    meshes = Meshes([verts], sphere.faces_list())
    # cotcurv: |(L v)_i| = |sum_j w_ij (v_j - v_i)| / (4 * 3 A_i) ~ 2 H / 3 / 4 * 2 = H / 3
    value = mesh_laplacian_smoothing(meshes, "cotcurv")
    assert float(value) == pytest.approx(1 / 3 / 3.0, rel=0.02)
    # uniform on a regular planar grid: interior vertices are their neighbours' mean
    gv, gf = grid_mesh(50, torch.Generator().manual_seed(0))
    gv[:, 2] = 0
    lap = mesh_laplacian_smoothing(Meshes([gv.double()], [gf]), "uniform")
    assert 0 < float(lap) < 0.1
    assert not math.isnan(float(mesh_laplacian_smoothing(meshes, "cot")))


def test_invalid_inputs_name_the_argument():
    mesh = ico_sphere(0)
    with pytest.raises(InputError, match="method"):
        mesh_laplacian_smoothing(mesh, "cotan")
    with pytest.raises(InputError, match="meshes"):
        mesh_edge_loss(torch.zeros(3, 3))
    with pytest.raises(InputError, match="meshes"):
        mesh_normal_consistency([mesh])
    with pytest.raises(InputError, match="target_length"):
        mesh_edge_loss(mesh, "1.0")


def test_native_face_pairs_match_torch():
    from r3d.loss.mesh_normal_consistency import face_pairs, face_pairs_torch

    verts, faces = heterogeneous_lists()
    meshes = Meshes(verts, faces)
    for got, ref in zip(face_pairs(meshes), face_pairs_torch(meshes)):
        torch.testing.assert_close(got, ref, rtol=0, atol=0)
