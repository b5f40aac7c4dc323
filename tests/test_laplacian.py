import pytest
import torch

from r3d.errors import InputError
from r3d.ops import cot_laplacian, laplacian, norm_laplacian, taubin_smoothing
from r3d.structures import Meshes
from r3d.utils import ico_sphere

# a triangle, a pendant vertex and an isolated vertex
EDGES = torch.tensor([[0, 1], [0, 2], [1, 2], [2, 3]])
VERTS = torch.tensor(
    [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 3.0], [5.0, 5.0, 5.0]],
    dtype=torch.float64,
)


def test_laplacian_matches_dense_by_hand(device):
    h, t = 1 / 2, 1 / 3
    expected = torch.tensor(
        [
            [-1, h, h, 0, 0],
            [h, -1, h, 0, 0],
            [t, t, -1, t, 0],
            [0, 0, 1, -1, 0],
            [0, 0, 0, 0, -1],
        ],
        dtype=torch.float64,
    )
    L = laplacian(VERTS.to(device), EDGES.to(device))
    assert L.is_sparse and L.dtype == torch.float64
    torch.testing.assert_close(L.to_dense().cpu(), expected)


def test_meshes_laplacian_packed_is_laplacian():
    mesh = ico_sphere(1)
    ref = laplacian(mesh.verts_packed(), mesh.edges_packed()).to_dense()
    torch.testing.assert_close(mesh.laplacian_packed().to_dense(), ref)


def test_norm_laplacian_matches_dense_by_hand(device):
    expected = torch.zeros(5, 5, dtype=torch.float64)
    for i, j in EDGES.tolist():
        expected[i, j] = expected[j, i] = 1 / ((VERTS[i] - VERTS[j]).norm() + 1e-12)
    L = norm_laplacian(VERTS.to(device), EDGES.to(device))
    torch.testing.assert_close(L.to_dense().cpu(), expected)


def test_cot_laplacian_of_a_right_triangle():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [3, 3, 3]], dtype=torch.float64)
    L, inv_areas = cot_laplacian(verts, torch.tensor([[0, 1, 2]]))
    # angles: 90 degrees at corner 0 (opposite edge 1-2), 45 at corners 1 and 2
    expected = torch.zeros(4, 4, dtype=torch.float64)
    expected[0, 1] = expected[1, 0] = expected[0, 2] = expected[2, 0] = 1.0
    torch.testing.assert_close(L.to_dense(), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(inv_areas[:, 0], torch.tensor([2.0, 2.0, 2.0, 0.0]).double())


def test_cot_laplacian_gives_the_mean_curvature_of_a_sphere(device):
    radius = 2.0
    mesh = ico_sphere(4).to(device)
    verts = mesh.verts_packed().double() * radius
    L, inv_areas = cot_laplacian(verts, mesh.faces_packed())
    # sum_j (cot a + cot b)(v_j - v_i) / (2 A_i) = -2 H n, A_i a third of the faces around i
    lap = L.mm(verts) - torch.sparse.sum(L, dim=1).to_dense()[:, None] * verts
    mean_curvature_normal = lap * (3 * inv_areas) / 2
    expected = -2 / radius * verts / radius
    err = (mean_curvature_normal - expected).norm(dim=1) / expected.norm(dim=1)
    # within 1% at the regular (valence 6) vertices; the 12 of valence 5 are off by ~15% as a
    # third of the faces' area is a poor estimate of their Voronoi area there
    assert float(err.median()) < 0.01 and int((err > 0.03).sum()) <= 12
    cos = torch.cosine_similarity(mean_curvature_normal, -verts, dim=1)
    assert float(cos.min()) > 0.9999


def test_laplacian_gradients_flow_to_verts():
    verts = VERTS.clone().requires_grad_(True)
    L = norm_laplacian(verts, EDGES)
    torch.sparse.sum(L).backward()
    assert torch.isfinite(verts.grad).all() and verts.grad.abs().sum() > 0
    assert torch.autograd.gradcheck(
        lambda v: torch.sparse.sum(cot_laplacian(v, torch.tensor([[0, 1, 2], [1, 3, 2]]))[0]),
        (verts,),
    )


def _volume(verts, faces):
    v0, v1, v2 = verts[faces].unbind(1)
    return float(torch.linalg.det(torch.stack([v0, v1, v2], 1)).sum() / 6)


def test_taubin_smoothing_reduces_noise_and_keeps_volume():
    sphere = ico_sphere(3)
    verts, faces = sphere.verts_packed().double(), sphere.faces_packed()
    g = torch.Generator().manual_seed(0)
    noisy = verts * (1 + 0.03 * torch.randn(verts.shape[0], 1, generator=g, dtype=torch.float64))
    # an isolated vertex in a second mesh, a mesh with no vertex at all
    meshes = Meshes([noisy, torch.tensor([[9.0, 9.0, 9.0]]).double(), noisy[:0]],
                    [faces, faces[:0], faces[:0]])
    smoothed = taubin_smoothing(meshes, num_iter=10)
    out = smoothed.verts_list()
    radial = out[0].norm(dim=1)
    assert float(radial.std()) < 0.4 * float(noisy.norm(dim=1).std())
    assert _volume(out[0], faces) == pytest.approx(_volume(noisy, faces), rel=0.05)
    torch.testing.assert_close(out[1], meshes.verts_list()[1])
    assert out[2].shape == (0, 3)
    torch.testing.assert_close(smoothed.faces_packed(), meshes.faces_packed())


def test_taubin_smoothing_is_differentiable():
    mesh = ico_sphere(1)
    verts = mesh.verts_packed().clone().requires_grad_(True)
    out = taubin_smoothing(Meshes([verts], mesh.faces_list()), num_iter=2)
    out.verts_packed().square().sum().backward()
    assert torch.isfinite(verts.grad).all()


def test_invalid_inputs_name_the_argument():
    with pytest.raises(InputError, match="edges"):
        laplacian(VERTS, torch.tensor([[0, 5]]))
    with pytest.raises(InputError, match="verts"):
        norm_laplacian(VERTS[:, :2], EDGES)
    with pytest.raises(InputError, match="faces"):
        cot_laplacian(VERTS, EDGES)
    with pytest.raises(InputError, match="meshes"):
        taubin_smoothing(VERTS)
    with pytest.raises(InputError, match="num_iter"):
        taubin_smoothing(ico_sphere(0), num_iter=-1)
