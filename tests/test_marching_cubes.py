import math

import pytest
import torch

from r3d.errors import InputError
from r3d.ops import marching_cubes
from r3d.ops.marching_cubes import marching_cubes_torch

IMPLS = [marching_cubes, marching_cubes_torch]


def sphere_sdf(n, r=0.6, centre=(0.0, 0.0, 0.0), dtype=torch.float32, device="cpu"):
    """(1, n, n, n) signed distance to a sphere on a grid spanning [-1, 1] (axes d, h, w = z,
    y, x), negative inside."""
    g = torch.linspace(-1, 1, n, dtype=torch.float64)
    z, y, x = torch.meshgrid(g, g, g, indexing="ij")
    cx, cy, cz = centre
    d = ((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2).sqrt() - r
    return d[None].to(dtype=dtype, device=device)


def edge_counts(faces):
    """Counts of each undirected and of each directed edge."""
    directed = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = directed.sort(1).values
    return (torch.unique(undirected, dim=0, return_counts=True)[1],
            torch.unique(directed, dim=0, return_counts=True)[1])


def area_volume(verts, faces):
    a, b, c = verts[faces].double().unbind(1)
    area = torch.cross(b - a, c - a, dim=1).norm(dim=1).sum() / 2
    volume = (a * torch.cross(b, c, dim=1)).sum() / 6
    return float(area), float(volume)


@pytest.mark.parametrize("impl", IMPLS)
def test_sphere_is_closed_outward_and_accurate(device, impl):
    r = 0.6
    verts, faces = impl(sphere_sdf(64, r, device=device), 0.0)
    v, f = verts[0], faces[0]
    assert v.dtype == torch.float32 and f.dtype == torch.int64 and v.device.type == device
    undirected, directed = edge_counts(f.cpu())
    assert (undirected == 2).all()  # watertight: every edge in exactly two faces
    assert (directed == 1).all()  # consistently wound
    assert len(v) - len(undirected) + len(f) == 2  # a sphere's Euler characteristic
    area, volume = area_volume(v.cpu(), f.cpu())
    assert area == pytest.approx(4 * math.pi * r * r, rel=0.01)
    assert volume == pytest.approx(4 / 3 * math.pi * r**3, rel=0.01)  # > 0: normals point out
    radii = v.norm(dim=1)
    assert (radii - r).abs().max() < 0.01


def test_native_matches_torch(device):
    g = torch.Generator().manual_seed(0)
    vols = torch.cat([
        sphere_sdf(20, 0.5, (0.2, -0.1, 0.05)),
        torch.randn(1, 20, 20, 20, generator=g),  # every case, ambiguous ones included
    ]).to(device)
    for iso in (0.0, 0.3, None):
        for local in (True, False):
            got = marching_cubes(vols, iso, local)
            ref = marching_cubes_torch(vols, iso, local)
            for gv, gf, rv, rf in zip(*got, *ref):
                assert len(gf) > 0
                torch.testing.assert_close(gf, rf, rtol=0, atol=0)
                torch.testing.assert_close(gv, rv)
    undirected, directed = edge_counts(marching_cubes(vols, 0.0)[1][1].cpu())
    assert (undirected <= 2).all() and (directed == 1).all()  # closed except at the border


@pytest.mark.parametrize("impl", IMPLS)
def test_coordinates_follow_pytorch3d(impl):
    vol = torch.ones(1, 4, 5, 6)  # D, H, W
    vol[0, 2, 3, 4] = -1.0  # one inside point at (x, y, z) = (4, 3, 2)
    verts, faces = impl(vol, 0.0, return_local_coords=False)
    v = verts[0]
    assert len(v) == 6 and len(faces[0]) == 8  # an octahedron
    torch.testing.assert_close(v.mean(0), torch.tensor([4.0, 3.0, 2.0]))
    assert (v - torch.tensor([4.0, 3.0, 2.0])).abs().max() == 0.5
    local = impl(vol, 0.0)[0][0]
    torch.testing.assert_close(local, v * torch.tensor([2 / 5, 2 / 4, 2 / 3]) - 1)


@pytest.mark.parametrize("impl", IMPLS)
def test_empty_and_full_volumes(device, impl):
    vols = torch.stack([torch.ones(5, 6, 7), -torch.ones(5, 6, 7)]).to(device)
    verts, faces = impl(vols, 0.0)
    for v, f in zip(verts, faces):
        assert v.shape == (0, 3) and f.shape == (0, 3) and f.dtype == torch.int64
    verts, faces = impl(torch.zeros(2, 1, 4, 4, device=device))  # no cells at all
    assert [v.shape for v in verts] == [(0, 3), (0, 3)]
    assert impl(torch.zeros(0, 3, 3, 3, device=device)) == ([], [])


@pytest.mark.parametrize("impl", IMPLS)
def test_batch_and_default_isolevel(impl):
    vols = torch.cat([sphere_sdf(24, 0.3), sphere_sdf(24, 0.7) + 5.0, sphere_sdf(24, 0.5)])
    verts, faces = impl(vols)  # isolevel None: (max + min) / 2 per volume
    assert len(verts) == len(faces) == 3
    for v, f, vol in zip(verts, faces, vols):
        single_v, single_f = impl(vol[None], float((vol.max() + vol.min()) / 2))
        torch.testing.assert_close(v, single_v[0])
        torch.testing.assert_close(f, single_f[0])
        assert int(f.max()) == len(v) - 1


def test_isolevel_on_grid_values_stays_closed():
    vol = torch.randint(-1, 2, (1, 9, 9, 9)).float()  # many values exactly at the isolevel
    verts, faces = marching_cubes(vol, 0.0)
    undirected, directed = edge_counts(faces[0])
    assert (undirected <= 2).all() and (directed == 1).all()


@pytest.mark.parametrize("impl", IMPLS)
def test_invalid_inputs(impl):
    with pytest.raises(InputError, match="vol_batch must be a float tensor"):
        impl(torch.zeros(3, 3, 3))
    with pytest.raises(InputError, match="vol_batch must be a float tensor"):
        impl(torch.zeros(1, 3, 3, 3, dtype=torch.int64))
    nan = torch.zeros(1, 3, 3, 3)
    nan[0, 1, 1, 1] = float("nan")
    with pytest.raises(InputError, match="NaN"):
        impl(nan)
    with pytest.raises(InputError, match="isolevel"):
        impl(torch.zeros(1, 3, 3, 3), float("inf"))
