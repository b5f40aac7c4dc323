import pytest
import torch

from r3d.errors import InputError
from r3d.ops import estimate_pointcloud_local_coord_frames, estimate_pointcloud_normals
from r3d.structures import Pointclouds
from r3d.transforms import random_rotations


def _sphere(n, dtype=torch.float64, seed=0, centre=(0.3, -1.0, 2.0), radius=1.5):
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(n, 3, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    return (torch.tensor(centre, dtype=torch.float64) + radius * dirs).to(dtype), dirs.to(dtype)


def _plane(n, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    R = random_rotations(1, dtype=torch.float64, generator=g)[0]
    uv = torch.rand(n, 2, generator=g, dtype=torch.float64) * 4 - 2
    points = uv[:, 0:1] * R[0] + uv[:, 1:2] * R[1] + torch.tensor([1.0, 2.0, -0.5])
    return points.to(dtype), R[2].to(dtype)


def _reference_frames(points, k):
    """Eigenvalues and eigenvectors of the covariance of each point's k nearest neighbours."""
    d = ((points[:, None] - points[None]) ** 2).sum(-1)
    near = points[d.argsort(dim=1, stable=True)[:, :k]]
    spread = near - near.mean(1, keepdim=True)
    cov = torch.einsum("pki,pkj->pij", spread, spread) / k
    return torch.linalg.eigh(cov)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_plane_normals_match_up_to_sign(device, dtype):
    points, normal = _plane(300, dtype)
    normals = estimate_pointcloud_normals(points[None].to(device), 12, False)
    assert normals.shape == (1, 300, 3)
    cos = (normals[0].cpu() * normal).sum(-1).abs()
    torch.testing.assert_close(cos, torch.ones_like(cos), atol=1e-4, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sphere_normals_are_radial_and_consistently_oriented(device, dtype):
    points, outward = _sphere(2000, dtype)
    normals = estimate_pointcloud_normals(points[None].to(device), 20)[0].cpu()
    cos = (normals * outward).sum(-1)
    # Neighbours on a sphere lie inside the tangent plane: disambiguation turns normals inward.
    assert bool((cos < -0.99).all())
    loose = estimate_pointcloud_normals(points[None].to(device), 20, False)[0].cpu()
    torch.testing.assert_close((loose * outward).sum(-1).abs(), cos.abs(), atol=1e-5, rtol=0)


def test_matches_brute_force_covariance():
    points, _ = _sphere(150, seed=1)
    points = points + 0.05 * torch.randn(points.shape, generator=torch.Generator().manual_seed(2),
                                         dtype=points.dtype)
    curv, frames = estimate_pointcloud_local_coord_frames(points[None], 10, False)
    ref_vals, ref_vecs = _reference_frames(points, 10)
    torch.testing.assert_close(curv[0], ref_vals)
    cos = (frames[0] * ref_vecs).sum(1).abs()  # column-wise
    torch.testing.assert_close(cos, torch.ones_like(cos))


def test_disambiguated_frames_are_orthonormal_with_middle_n_cross_z():
    points, _ = _sphere(400, seed=3)
    curv, frames = estimate_pointcloud_local_coord_frames(points[None], 15)
    eye = torch.eye(3, dtype=points.dtype).expand(400, 3, 3)
    torch.testing.assert_close(frames[0].transpose(1, 2) @ frames[0], eye)
    n, y, z = frames[0].unbind(2)
    torch.testing.assert_close(y, torch.cross(n, z, dim=1))
    torch.testing.assert_close(torch.linalg.det(frames[0]), -torch.ones(400, dtype=points.dtype))
    assert bool((curv[0, :, :2] <= curv[0, :, 1:] + 1e-12).all())


def test_pointclouds_heterogeneous_with_empty_cloud():
    clouds = [_sphere(60, seed=4)[0], torch.zeros(0, 3, dtype=torch.float64),
              _plane(25, seed=5)[0], _sphere(40, seed=6)[0]]
    pcl = Pointclouds(clouds)
    curv, frames = estimate_pointcloud_local_coord_frames(pcl, 8)
    normals = estimate_pointcloud_normals(pcl, 8)
    assert frames.shape == (4, 60, 3, 3) and curv.shape == (4, 60, 3)
    torch.testing.assert_close(normals, frames[..., 0])
    for n, cloud in enumerate(clouds):
        size = cloud.shape[0]
        assert not frames[n, size:].any() and not curv[n, size:].any()
        if size:
            c_alone, f_alone = estimate_pointcloud_local_coord_frames(cloud[None], 8)
            torch.testing.assert_close(curv[n, :size], c_alone[0])
            torch.testing.assert_close(frames[n, :size], f_alone[0])


def test_symeig_workaround_flag_gives_same_result():
    points, _ = _sphere(100, seed=7)
    a = estimate_pointcloud_normals(points[None], 10, use_symeig_workaround=True)
    b = estimate_pointcloud_normals(points[None], 10, use_symeig_workaround=False)
    torch.testing.assert_close(a, b)


def test_invalid_arguments():
    points, _ = _sphere(20)
    points = points[None]
    with pytest.raises(InputError, match="neighborhood_size"):
        estimate_pointcloud_normals(points, 20)
    with pytest.raises(InputError, match="neighborhood_size"):
        estimate_pointcloud_normals(points, 0)
    with pytest.raises(InputError, match="neighborhood_size"):
        estimate_pointcloud_normals(points, 2.5)
    bad = points.clone()
    bad[0, 3, 1] = float("nan")
    with pytest.raises(InputError, match="pointclouds"):
        estimate_pointcloud_normals(bad, 5)
    with pytest.raises(InputError, match="pointclouds"):
        estimate_pointcloud_normals(points[..., :2], 5)
    with pytest.raises(InputError, match="pointclouds"):
        estimate_pointcloud_normals(points[0], 5)
    with pytest.raises(InputError, match="pointclouds"):
        estimate_pointcloud_local_coord_frames([points[0]], 5)
