import math

import pytest
import torch
from conftest import random_packed_mesh_batch

from r3d.errors import InputError
from r3d.ops import mesh_face_areas_normals
from r3d.structures.mesh_face_areas_normals import mesh_face_areas_normals_torch

# heterogeneous: a normal mesh, an empty mesh, a zero-face mesh, a tiny and a larger one
BATCH_VERTS = [30, 0, 7, 3, 200]
BATCH_FACES = [50, 0, 0, 1, 400]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_matches_torch_on_heterogeneous_batch(device, dtype):
    verts, faces = random_packed_mesh_batch(BATCH_VERTS, BATCH_FACES, dtype, device, seed=1)
    verts.requires_grad_(True)
    areas, normals = mesh_face_areas_normals(verts, faces)
    (areas * torch.linspace(0, 1, areas.shape[0], device=device, dtype=dtype)).sum().backward()
    grad_native = verts.grad.clone()
    verts.grad = None
    ref_areas, ref_normals = mesh_face_areas_normals_torch(verts, faces)
    loss = (ref_areas * torch.linspace(0, 1, areas.shape[0], device=device, dtype=dtype)).sum()
    loss.backward()
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(areas, ref_areas, **tol)
    torch.testing.assert_close(normals, ref_normals, **tol)
    torch.testing.assert_close(grad_native, verts.grad, **tol)
    assert areas.shape == (sum(BATCH_FACES),) and normals.shape == (sum(BATCH_FACES), 3)


def test_normal_gradients_match_torch(device):
    verts, faces = random_packed_mesh_batch([40, 10], [60, 12], torch.float64, device, seed=2)
    weights = torch.randn(72, 3, dtype=torch.float64, device=device)
    verts.requires_grad_(True)
    (mesh_face_areas_normals(verts, faces)[1] * weights).sum().backward()
    grad_native = verts.grad.clone()
    verts.grad = None
    (mesh_face_areas_normals_torch(verts, faces)[1] * weights).sum().backward()
    torch.testing.assert_close(grad_native, verts.grad)


def test_known_triangle():
    verts = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 1]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 1], [0, 1, 3]])
    areas, normals = mesh_face_areas_normals(verts, faces)
    torch.testing.assert_close(areas, torch.tensor([3.0, 3.0, 1.0]))
    torch.testing.assert_close(normals, torch.tensor([[0.0, 0, 1], [0, 0, -1], [0, -1, 0]]))


def test_degenerate_faces_give_zero_normals_and_finite_gradients():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]], dtype=torch.float64,
                         requires_grad=True)
    faces = torch.tensor([[0, 1, 2], [1, 1, 1]])
    areas, normals = mesh_face_areas_normals(verts, faces)
    assert torch.all(areas == 0) and torch.all(normals == 0)
    (areas.sum() + normals.sum()).backward()
    assert torch.isfinite(verts.grad).all()


def test_gradcheck_float64(device):
    verts, faces = random_packed_mesh_batch([6, 0, 5], [8, 0, 4], torch.float64, device, seed=3)
    verts.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda v: mesh_face_areas_normals(v, faces), (verts,))


def test_sphere_area():
    # a fine UV sphere's faces sum to about 4 pi
    n = 64
    theta = torch.linspace(0, math.pi, n, dtype=torch.float64)
    phi = torch.linspace(0, 2 * math.pi, n, dtype=torch.float64)
    t, p = torch.meshgrid(theta, phi, indexing="ij")
    verts = torch.stack([t.sin() * p.cos(), t.sin() * p.sin(), t.cos()], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(n - 1), torch.arange(n - 1), indexing="ij")
    a = (i * n + j).reshape(-1)
    faces = torch.cat(
        [torch.stack([a, a + n, a + 1], 1), torch.stack([a + 1, a + n, a + n + 1], 1)]
    )
    areas, _ = mesh_face_areas_normals(verts, faces)
    assert abs(areas.sum().item() - 4 * math.pi) < 0.02


def test_noncontiguous_inputs_are_handled():
    verts, faces = random_packed_mesh_batch([20], [30], torch.float32, seed=4)
    verts_t = verts.t().contiguous().t()  # same values, column-major
    faces_t = faces.t().contiguous().t()
    assert not verts_t.is_contiguous() and not faces_t.is_contiguous()
    for got, want in zip(mesh_face_areas_normals(verts_t, faces_t),
                         mesh_face_areas_normals(verts, faces)):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize(
    "verts, faces, match",
    [
        (torch.zeros(4, 3, dtype=torch.int64), torch.zeros(1, 3, dtype=torch.int64),
         "floating-point"),
        (torch.zeros(4, 2), torch.zeros(1, 3, dtype=torch.int64), r"verts must have shape"),
        (torch.zeros(2, 4, 3), torch.zeros(1, 3, dtype=torch.int64), r"verts must have shape"),
        (torch.zeros(4, 3), torch.zeros(1, 3, dtype=torch.int32), "faces must be an int64"),
        (torch.zeros(4, 3), torch.zeros(1, 4, dtype=torch.int64), "faces must be an int64"),
        (torch.zeros(4, 3), torch.tensor([[0, 1, 4]]), r"faces has values in \[0, 4\]"),
        (torch.zeros(4, 3), torch.tensor([[0, -1, 2]]), r"faces has values in \[-1, 2\]"),
        (torch.tensor([[0.0, 0, 0], [1, 0, float("nan")], [0, 1, 0]]), torch.tensor([[0, 1, 2]]),
         "NaN or infinite"),
        (torch.tensor([[0.0, 0, 0], [1, 0, float("inf")], [0, 1, 0]]), torch.tensor([[0, 1, 2]]),
         "NaN or infinite"),
        ([[0.0, 0, 0]], torch.tensor([[0, 0, 0]]), "must be a torch.Tensor"),
    ],
)
def test_invalid_inputs_raise(verts, faces, match):
    with pytest.raises(InputError, match=match):
        mesh_face_areas_normals(verts, faces)


def test_float16_uses_torch_path():
    # float16 has no native kernel: the public op still answers, through PyTorch
    verts, faces = random_packed_mesh_batch([10], [10], torch.float32, seed=5)
    areas, _ = mesh_face_areas_normals(verts.to(torch.float16), faces)
    assert areas.dtype == torch.float16
