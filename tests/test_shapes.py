import math
from collections import Counter

import pytest
import torch

from r3d.errors import InputError
from r3d.utils import ico_sphere, torus


def edge_face_counts(faces):
    """How many faces use each undirected edge, and each directed edge."""
    undirected, directed = Counter(), Counter()
    for a, b, c in faces.tolist():
        for u, v in ((a, b), (b, c), (c, a)):
            undirected[tuple(sorted((u, v)))] += 1
            directed[(u, v)] += 1
    return undirected, directed


def signed_volume(mesh):
    tris = mesh.verts_packed().double()[mesh.faces_packed()]
    return float(torch.linalg.det(tris).sum() / 6)


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_ico_sphere_counts_manifold_orientation(level):
    m = ico_sphere(level)
    v, f = m.verts_packed(), m.faces_packed()
    assert v.shape == (10 * 4**level + 2, 3) and f.shape == (20 * 4**level, 3)
    # PyTorch3D's level 0 has 4-decimal coordinates: |(0.5257, 0.8507)| = 1 + 2.55e-5
    atol = 3e-5 if level == 0 else 1e-6
    torch.testing.assert_close(v.norm(dim=1), torch.ones(len(v)), atol=atol, rtol=0)
    undirected, directed = edge_face_counts(f)
    assert set(undirected.values()) == {2}  # closed 2-manifold
    assert set(directed.values()) == {1}  # consistently oriented
    assert len(undirected) == m.edges_packed().shape[0] == 30 * 4**level
    assert len(v) - len(undirected) + len(f) == 2  # sphere
    # every face is counter-clockwise seen from outside: its normal points away from 0
    centroids = v[f].mean(1)
    assert bool(((m.faces_normals_packed() * centroids).sum(1) > 0).all())
    assert signed_volume(m) > 0


def test_ico_sphere_cache_and_device():
    a, b = ico_sphere(2), ico_sphere(2)
    assert a.verts_packed() is not b.verts_packed()
    a.offset_verts_(torch.ones(3))  # must not leak into the cache
    torch.testing.assert_close(ico_sphere(2).verts_packed(), b.verts_packed())
    assert ico_sphere(1, device="cpu").device == torch.device("cpu")
    assert ico_sphere(6).faces_packed().shape == (20 * 4**6, 3)
    with pytest.raises(InputError, match="level"):
        ico_sphere(-1)


def test_ico_sphere_volume_approaches_ball():
    vols = [signed_volume(ico_sphere(level)) for level in range(4)]
    assert all(a < b < 4 * math.pi / 3 for a, b in zip(vols, vols[1:]))


@pytest.mark.parametrize("sides, rings", [(3, 3), (8, 12), (5, 16)])
def test_torus(sides, rings):
    r, R = 0.5, 2.0
    m = torus(r, R, sides, rings)
    v, f = m.verts_packed(), m.faces_packed()
    assert v.shape == (sides * rings, 3) and f.shape == (2 * sides * rings, 3)
    undirected, directed = edge_face_counts(f)
    assert set(undirected.values()) == {2} and set(directed.values()) == {1}
    assert len(v) - len(undirected) + len(f) == 0  # Euler characteristic of a torus
    assert m.edges_packed().shape[0] == len(undirected)
    # distance to the tube's centre circle is r
    ring = torch.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)
    torch.testing.assert_close(torch.sqrt((ring - R) ** 2 + v[:, 2] ** 2), torch.full((len(v),), r))
    # outward: on a fine enough torus each face normal points away from the tube's centre
    # circle (the faces are consistently oriented, so the volume sign settles coarse ones)
    assert signed_volume(m) > 0
    if sides >= 5:
        c = v[f].mean(1)
        radial = torch.nn.functional.pad(c[:, :2], (0, 1))
        centre = radial * (R / c[:, :2].norm(dim=1, keepdim=True))
        assert bool(((m.faces_normals_packed() * (c - centre)).sum(1) > 0).all())


def test_torus_volume_and_bad_args():
    m = torus(0.3, 1.0, 48, 64)
    assert abs(signed_volume(m) - 2 * math.pi**2 * 1.0 * 0.3**2) < 0.01
    with pytest.raises(InputError, match="sides"):
        torus(0.3, 1.0, 2, 8)
    with pytest.raises(InputError, match="rings"):
        torus(0.3, 1.0, 8, 0)
