"""sample_points_from_meshes: points on the faces, area-proportional, normals, textures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import random_packed_mesh_batch

from r3d.errors import InputError
from r3d.io import IO
from r3d.ops import sample_points_from_meshes
from r3d.renderer import TexturesAtlas, TexturesUV, TexturesVertex
from r3d.structures import Meshes

COW = Path(__file__).parent / "data" / "cow" / "cow.obj"
NO_FACES = torch.zeros((0, 3), dtype=torch.int64)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def two_triangles(dtype=torch.float64) -> Meshes:
    """One mesh of two triangles with areas 1 and 3: the first at z = 0 (normal +z), the second
    at z = 1 (normal -z)."""
    verts = torch.tensor(
        [[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 1], [0, 3, 1], [2, 0, 1]], dtype=dtype
    )
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    return Meshes([verts], [faces])


def test_area_proportions_and_normals():
    points, normals = sample_points_from_meshes(two_triangles(), 40_000, return_normals=True,
                                                generator=seeded())
    z = points[0, :, 2]
    on_first = z == 0
    assert torch.all(on_first | ((z - 1).abs() < 1e-12))
    assert abs(float(on_first.double().mean()) - 0.25) < 0.01
    expected = torch.where(on_first[:, None], torch.tensor([0.0, 0, 1], dtype=torch.float64),
                           torch.tensor([0.0, 0, -1], dtype=torch.float64))
    torch.testing.assert_close(normals[0], expected)


def test_uniform_within_a_triangle():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2]])])
    p = sample_points_from_meshes(mesh, 40_000, generator=seeded(1))[0]
    x, y = p[:, 0], p[:, 1]
    assert torch.all((x >= 0) & (y >= 0) & (x + y <= 1 + 1e-6)) and torch.all(p[:, 2] == 0)
    # the four triangles cut by the edge midpoints have equal areas
    corner = (x + y < 0.5).double().mean()
    middle = ((x < 0.5) & (y < 0.5) & (x + y >= 0.5)).double().mean()
    assert abs(float(corner) - 0.25) < 0.01 and abs(float(middle) - 0.25) < 0.01


def _barycentric_residual(points: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """(S, F) distance from each point to the nearest point of each face's plane that has
    non-negative barycentric weights within 1e-6 (inf when outside the triangle)."""
    v0, e1, e2 = tri[:, 0], tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    basis = torch.stack([e1, e2], dim=-1)  # (F, 3, 2)
    rhs = (points[:, None, :] - v0[None]).unsqueeze(-1)  # (S, F, 3, 1)
    st = torch.linalg.lstsq(basis.expand(points.shape[0], -1, -1, -1), rhs).solution[..., 0]
    resid = (basis @ st.unsqueeze(-1))[..., 0] - rhs[..., 0]
    inside = (st >= -1e-6).all(-1) & (st.sum(-1) <= 1 + 1e-6)
    return torch.where(inside, resid.norm(dim=-1), torch.full_like(st[..., 0], float("inf")))


def test_samples_lie_on_their_mesh_and_empty_meshes_give_zeros():
    nv, nf = [10, 0, 6, 8], [12, 0, 0, 5]
    verts, faces = random_packed_mesh_batch(nv, nf, torch.float64, seed=2)
    vl = list(verts.split(nv))
    offsets = torch.tensor([0] + nv[:-1]).cumsum(0).tolist()
    fl = [f - o for f, o in zip(faces.split(nf), offsets)]
    mesh = Meshes(vl, fl)
    points, normals = sample_points_from_meshes(mesh, 500, return_normals=True,
                                                generator=seeded(2))
    assert points.shape == normals.shape == (4, 500, 3)
    for i in (0, 3):
        tri = vl[i][fl[i]]
        residual = _barycentric_residual(points[i], tri)
        assert torch.all(residual.min(1).values < 1e-9)
        # each normal is the unit normal of a face the point lies on
        face_normals = torch.nn.functional.normalize(
            torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1), dim=1)
        on = residual < 1e-9
        match = ((normals[i][:, None, :] - face_normals[None]).norm(dim=-1) < 1e-9) & on
        assert torch.all(match.any(1))
    for i in (1, 2):
        assert torch.all(points[i] == 0) and torch.all(normals[i] == 0)


def test_all_empty_batch_gives_zeros():
    mesh = Meshes([torch.zeros(0, 3), torch.rand(4, 3)], [NO_FACES, NO_FACES])
    points, normals = sample_points_from_meshes(mesh, 7, return_normals=True)
    assert points.shape == (2, 7, 3) and torch.all(points == 0) and torch.all(normals == 0)


def test_gradient_flows_to_vertices():
    mesh = two_triangles()
    verts = mesh.verts_packed().detach().requires_grad_(True)
    mesh = Meshes([verts], mesh.faces_list())
    S = 1000
    points, normals = sample_points_from_meshes(mesh, S, return_normals=True,
                                                generator=seeded(3))
    assert normals.requires_grad and mesh.faces_areas_packed().requires_grad
    points.sum().backward()
    # barycentric weights sum to 1: every sample adds 1 to the summed gradient per axis
    torch.testing.assert_close(verts.grad.sum(0), torch.full((3,), float(S), dtype=torch.float64))
    assert torch.all(verts.grad[:, 0] > 0)


def test_generator_makes_samples_reproducible():
    mesh = two_triangles()
    a = sample_points_from_meshes(mesh, 100, generator=seeded(5))
    b = sample_points_from_meshes(mesh, 100, generator=seeded(5))
    c = sample_points_from_meshes(mesh, 100, generator=seeded(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_zero_area_mesh_samples_its_faces_uniformly():
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]])
    mesh = Meshes([verts], [torch.tensor([[0, 1, 2], [0, 2, 1]])])
    points = sample_points_from_meshes(mesh, 50, generator=seeded())
    assert torch.all(points[0, :, 1:] == 0) and torch.all((points[0, :, 0] >= 0)
                                                          & (points[0, :, 0] <= 2))


def test_vertex_textures_are_interpolated():
    mesh = two_triangles()
    colors = mesh.verts_packed() * 0.25 + 0.1  # a linear function of position
    mesh = Meshes(mesh.verts_list(), mesh.faces_list(), textures=TexturesVertex([colors]))
    points, normals, textures = sample_points_from_meshes(
        mesh, 300, return_normals=True, return_textures=True, generator=seeded(7))
    torch.testing.assert_close(textures, points * 0.25 + 0.1)
    points_only, textures_only = sample_points_from_meshes(
        mesh, 300, return_textures=True, generator=seeded(7))
    torch.testing.assert_close(points_only, points)
    torch.testing.assert_close(textures_only, textures)


def test_uv_textures_are_looked_up_at_interpolated_uvs():
    H, W = 5, 9
    # texel (row i, column j) holds its own (u, v): u = j / (W - 1), v = 1 - i / (H - 1)
    u = torch.linspace(0, 1, W)[None, :].expand(H, W)
    v = torch.linspace(1, 0, H)[:, None].expand(H, W)
    image = torch.stack([u, v, u * 0 + 0.5], dim=-1)
    verts = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [1, 3, 2]])
    uvs = verts[:, :2].clone()
    textures = TexturesUV([image, image], [faces, NO_FACES], [uvs, uvs])
    mesh = Meshes([verts, verts], [faces, NO_FACES], textures=textures)
    points, colors = sample_points_from_meshes(mesh, 400, return_textures=True,
                                               generator=seeded(8))
    # bilinear lookup of a linear image is exact: the colour is the point's own (x, y)
    torch.testing.assert_close(colors[0, :, :2], points[0, :, :2], atol=1e-5, rtol=0)
    torch.testing.assert_close(colors[0, :, 2], torch.full((400,), 0.5))
    assert torch.all(colors[1] == 0)


def test_cow_textures():
    mesh = IO().load_mesh(COW)
    points, colors = sample_points_from_meshes(mesh, 2000, return_textures=True,
                                               generator=seeded())
    assert points.shape == (1, 2000, 3) and colors.shape == (1, 2000, 3)
    assert torch.all((colors >= 0) & (colors <= 1)) and colors.std() > 0.05


def test_texture_errors():
    with pytest.raises(InputError, match="return_textures"):
        sample_points_from_meshes(two_triangles(), 10, return_textures=True)


def test_atlas_textures_give_each_face_its_texels():
    mesh = two_triangles()
    colours = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    atlas = TexturesAtlas([colours[:, None, None, :].expand(2, 2, 2, 3)])  # one colour per face
    mesh = Meshes(mesh.verts_list(), mesh.faces_list(), textures=atlas)
    gen = torch.Generator().manual_seed(3)
    points, textures = sample_points_from_meshes(mesh, 200, return_textures=True, generator=gen)
    on_second = points[0, :, 2] > 0.5  # the second face lies at z = 1
    assert 0 < int(on_second.sum()) < 200
    torch.testing.assert_close(textures[0], colours[on_second.long()])


@pytest.mark.parametrize(
    "args,name",
    [
        (("not meshes",), "meshes"),
        ((None, 0), "num_samples"),
        ((None, 2.5), "num_samples"),
        ((None, True), "num_samples"),
    ],
)
def test_bad_arguments(args, name):
    args = tuple(two_triangles() if a is None else a for a in args)
    with pytest.raises(InputError, match=rf"sample_points_from_meshes: {name}"):
        sample_points_from_meshes(*args)


def test_bad_generator():
    with pytest.raises(InputError, match="generator"):
        sample_points_from_meshes(two_triangles(), 10, generator=0)
