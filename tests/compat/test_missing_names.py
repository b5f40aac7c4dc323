"""PyTorch3D's public names that r3d once lacked (issue 21, "Missing public names").

Each test is written the way a PyTorch3D user writes it, with ``pytorch3d`` replaced by
``r3d``, and asserts what the same call does in PyTorch3D 0.7.9: values worked out by hand or
properties every correct answer has (PyTorch3D itself is not imported: CI does not have it).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.autograd import gradcheck

from r3d.errors import InputError
from r3d.ops import (
    box3d_overlap,
    convert_pointclouds_to_tensor,
    corresponding_cameras_alignment,
    efficient_pnp,
    eyes,
    get_point_covariances,
    is_pointclouds,
    wmean,
)
from r3d.renderer import (
    BlendParams,
    FoVPerspectiveCameras,
    HardPhongShader,
    MeshRasterizer,
    MeshRenderer,
    PerspectiveCameras,
    PointLights,
    RasterizationSettings,
    SplatterBlender,
    SplatterPhongShader,
    TexturesVertex,
    convert_to_tensors_and_broadcast,
    ndc_grid_sample,
    ndc_to_grid_sample_coords,
    rotate_on_spot,
)
from r3d.structures import Meshes, Pointclouds
from r3d.transforms import (
    acos_linear_extrapolation,
    axis_angle_to_matrix,
    random_rotations,
    so3_exp_map,
    so3_exponential_map,
)
from r3d.utils import checkerboard, ico_sphere

F64 = torch.float64


def _rot_y(angle: float) -> torch.Tensor:
    return axis_angle_to_matrix(torch.tensor([0.0, angle, 0.0], dtype=F64))


# -- transforms: acos_linear_extrapolation, so3_exponential_map --------------------------------


def test_acos_linear_extrapolation_is_acos_inside_and_its_tangent_outside():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.25, 0.5, 1.5], dtype=F64)
    y = acos_linear_extrapolation(x, bounds=(-0.5, 0.5))
    slope = -1 / math.sqrt(0.75)  # d acos / dx at +-0.5
    expected = [
        2 * math.pi / 3 + slope * (-2.0 + 0.5),  # tangent at -0.5
        2 * math.pi / 3,
        math.pi / 2,
        math.acos(0.25),
        math.pi / 3,
        math.pi / 3 + slope * (1.5 - 0.5),  # tangent at 0.5
    ]
    assert torch.allclose(y, torch.tensor(expected, dtype=F64), atol=1e-12)
    # the default bounds are +-(1 - 1e-4): values past 1 stay finite
    assert torch.isfinite(acos_linear_extrapolation(torch.tensor([1.2, -3.0]))).all()


def test_acos_linear_extrapolation_gradients():
    x = torch.tensor([-1.7, -0.3, 0.1, 0.45, 2.0], dtype=F64, requires_grad=True)
    assert gradcheck(lambda t: acos_linear_extrapolation(t, (-0.6, 0.6)), (x,))
    (grad,) = torch.autograd.grad(acos_linear_extrapolation(x, (-0.6, 0.6)).sum(), x)
    assert torch.allclose(grad[[0, 4]], torch.full((2,), -1 / 0.8, dtype=F64))


@pytest.mark.parametrize("bounds", [(0.5, -0.5), (-1.0, 0.5), (-0.5, 1.0)])
def test_acos_linear_extrapolation_rejects_bad_bounds(bounds):
    with pytest.raises(InputError, match="bounds"):
        acos_linear_extrapolation(torch.zeros(3), bounds)


def test_so3_exponential_map_is_the_deprecated_so3_exp_map():
    log_rot = torch.tensor([[0.0, 0.0, math.pi / 2], [0.3, -0.2, 0.1]])
    with pytest.warns(PendingDeprecationWarning, match="so3_exp_map"):
        R = so3_exponential_map(log_rot)
    assert torch.equal(R, so3_exp_map(log_rot))
    quarter_turn_z = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert torch.allclose(R[0], quarter_turn_z, atol=1e-6)


# -- ops.utils ---------------------------------------------------------------------------------


def test_wmean_weighs_points_and_keeps_dims():
    x = torch.tensor([[[1.0, 0.0], [3.0, 4.0]]], dtype=F64)  # (1, 2, 2)
    w = torch.tensor([[1.0, 3.0]], dtype=F64)
    assert torch.equal(wmean(x, w), torch.tensor([[[2.5, 3.0]]], dtype=F64))
    assert torch.equal(wmean(x), torch.tensor([[[2.0, 2.0]]], dtype=F64))
    assert wmean(x, w, dim=(0, 1), keepdim=False).shape == (2,)
    # all-zero weights: the total is clamped to eps, so the mean is 0, not NaN
    assert torch.equal(wmean(x, torch.zeros(1, 2, dtype=F64)), torch.zeros(1, 1, 2, dtype=F64))
    x.requires_grad_(True)
    w.requires_grad_(True)
    assert gradcheck(lambda a, b: wmean(a, b), (x, w))


def test_wmean_rejects_weights_that_do_not_broadcast():
    with pytest.raises(InputError, match="weight"):
        wmean(torch.zeros(2, 5, 3), torch.ones(3, 5))


def test_eyes_is_a_writable_batch_of_identities():
    batch = eyes(3, 2, dtype=F64)
    assert batch.shape == (2, 3, 3) and batch.dtype == F64
    assert torch.equal(batch[1], torch.eye(3, dtype=F64))
    batch[0, 0, 1] = 5.0  # each matrix has its own memory
    assert batch[1, 0, 1] == 0


def test_pointclouds_and_tensors_convert_to_padded_points():
    clouds = Pointclouds([torch.rand(4, 3), torch.rand(2, 3)])
    assert is_pointclouds(clouds) and not is_pointclouds(torch.rand(2, 4, 3))
    points, lengths = convert_pointclouds_to_tensor(clouds)
    assert points.shape == (2, 4, 3) and lengths.tolist() == [4, 2]
    tensor = torch.rand(3, 5, 3)
    points, lengths = convert_pointclouds_to_tensor(tensor)
    assert points is tensor and lengths.tolist() == [5, 5, 5] and lengths.dtype == torch.int64
    with pytest.raises(InputError, match="Pointclouds or a tensor"):
        convert_pointclouds_to_tensor([[0.0, 0.0, 0.0]])


def test_point_covariances_of_a_line_of_points():
    points = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [10, 0, 0]]], dtype=F64)
    cov, knn = get_point_covariances(points, torch.tensor([4]), 2)
    assert cov.shape == (1, 4, 3, 3) and knn.shape == (1, 4, 2, 3)
    # point 0 and its neighbour 1: mean 0.5, variance along x ((0.5)^2 + (0.5)^2) / 2
    assert torch.allclose(cov[0, 0], torch.diag(torch.tensor([0.25, 0, 0], dtype=F64)))
    # point 3's nearest are itself and point 2: variance (4^2 + 4^2) / 2
    assert torch.equal(knn[0, 3], torch.tensor([[10.0, 0, 0], [2, 0, 0]], dtype=F64))
    assert cov[0, 3, 0, 0] == 16
    points = torch.rand(1, 6, 3, dtype=F64, requires_grad=True)
    assert gradcheck(lambda p: get_point_covariances(p, torch.tensor([6]), 3)[0], (points,))


# -- renderer.utils ----------------------------------------------------------------------------


def test_convert_to_tensors_and_broadcast_gives_one_batch_size():
    a, b, c = convert_to_tensors_and_broadcast(
        2.0, torch.tensor([[1.0, 2.0]]), torch.zeros(3, 2, 2), dtype=F64
    )
    assert a.shape == (3,) and a.dtype == F64 and a.tolist() == [2.0] * 3
    assert b.shape == (3, 2) and b.dtype == torch.float32
    assert c.shape == (3, 2, 2)
    with pytest.raises(InputError, match="batch sizes"):
        convert_to_tensors_and_broadcast(torch.zeros(2, 1), torch.zeros(3, 1))


def test_ndc_to_grid_sample_coords_flips_and_scales_the_longer_side():
    # a 2 x 4 image: NDC x spans [-2, 2] (+2 at the left edge), y spans [-1, 1] (+1 at the top)
    corners = torch.tensor([[2.0, 1.0], [-2.0, -1.0], [1.0, 0.5]])
    expected = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [-0.5, -0.5]])
    assert torch.equal(ndc_to_grid_sample_coords(corners, (2, 4)), expected)
    # a 4 x 2 image: the longer side is the height
    assert torch.equal(ndc_to_grid_sample_coords(torch.tensor([[1.0, 2.0]]), (4, 2)),
                       torch.tensor([[-1.0, -1.0]]))
    with pytest.raises(InputError, match="image_size_hw"):
        ndc_to_grid_sample_coords(corners, (2, 0))


def test_ndc_grid_sample_reads_pixel_centres():
    image = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # (1, 1, 2, 2)
    # pixel centres of a 2 x 2 image in NDC: +-0.5; +x is left, +y is up
    grid = torch.tensor([[[0.5, 0.5], [-0.5, 0.5], [0.5, -0.5], [-0.5, -0.5]]])  # (1, 4, 2)
    samples = ndc_grid_sample(image, grid)
    assert samples.shape == (1, 1, 4)
    assert torch.allclose(samples[0, 0], torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert ndc_grid_sample(image, grid.reshape(1, 2, 2, 2), mode="nearest").shape == (1, 1, 2, 2)
    with pytest.raises(InputError, match="batch size"):
        ndc_grid_sample(image, grid.expand(2, 4, 2))
    with pytest.raises(InputError, match=r"\(B, \.\.\., 2\)"):
        ndc_grid_sample(image, torch.zeros(1, 4, 3))


# -- renderer: rotate_on_spot ------------------------------------------------------------------


def test_rotate_on_spot_keeps_the_camera_centre_and_turns_the_view():
    R = torch.eye(3, dtype=F64)
    T = torch.tensor([0.0, 0.0, 5.0], dtype=F64)  # camera at (0, 0, -5) looking along +z
    turn = _rot_y(math.pi / 2)
    R2, T2 = rotate_on_spot(R, T, turn)
    assert R2.shape == (1, 3, 3) and T2.shape == (1, 3)
    centre = -T2[0] @ R2[0].T
    assert torch.allclose(centre, torch.tensor([0.0, 0.0, -5.0], dtype=F64))
    # the origin, straight ahead before, is now at view coordinates (0, 0, 5) turn^T
    view = torch.zeros(3, dtype=F64) @ R2[0] + T2[0]
    assert torch.allclose(view, torch.tensor([0.0, 0.0, 5.0], dtype=F64) @ turn.T)
    # view +x is left: the camera turned right, so what was ahead is now on its left
    assert torch.allclose(view, torch.tensor([5.0, 0.0, 0.0], dtype=F64), atol=1e-12)


def test_rotate_on_spot_broadcasts_batches():
    R = torch.eye(3).expand(4, 3, 3)
    T = torch.rand(4, 3)
    turns = axis_angle_to_matrix(torch.rand(1, 3))
    R2, T2 = rotate_on_spot(R, T, turns)
    assert R2.shape == (4, 3, 3) and T2.shape == (4, 3)
    with pytest.raises(InputError, match="batch sizes"):
        rotate_on_spot(R, T, axis_angle_to_matrix(torch.rand(3, 3)))


# -- utils: checkerboard -----------------------------------------------------------------------


def test_checkerboard_of_radius_one():
    mesh = checkerboard(1, color1=(0.0, 0.0, 0.0), color2=(1.0, 0.5, 0.25))
    verts = mesh.verts_packed()
    assert verts.shape == (9, 3)
    assert verts[0].tolist() == [-1.0, -1.0, 0.0] and verts[5].tolist() == [1.0, 0.0, 0.0]
    faces = mesh.faces_packed()
    assert faces[:4].tolist() == [[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4]]
    atlas = mesh.textures.atlas_padded()
    assert atlas.shape == (1, 8, 1, 1, 3)
    dark, light = [0.0, 0.0, 0.0], [1.0, 0.5, 0.25]
    assert atlas[0, :, 0, 0].tolist() == [dark] * 2 + [light] * 4 + [dark] * 2
    # every face is counter-clockwise seen from +z
    assert torch.allclose(mesh.faces_normals_packed(), torch.tensor([0.0, 0.0, 1.0]).expand(8, 3))


def test_checkerboard_sizes_and_errors():
    mesh = checkerboard(3)
    assert mesh.verts_packed().shape == (49, 3) and mesh.faces_packed().shape == (72, 3)
    with pytest.raises(InputError, match="radius"):
        checkerboard(0)
    with pytest.raises(InputError, match="same length"):
        checkerboard(2, (0.0, 0.0), (1.0, 1.0, 1.0))


# -- ops: corresponding_cameras_alignment ------------------------------------------------------


def _moved_cameras(R, T, R_A, T_A, s_A):
    """The cameras (R, T) after the world moves by the similarity (R_A, T_A, s_A)."""
    return R_A @ R, T_A @ R + s_A * T


@pytest.mark.parametrize("mode", ["centers", "extrinsics"])
def test_camera_alignment_recovers_a_similarity(mode):
    torch.manual_seed(0)
    R, T = random_rotations(5, dtype=F64), torch.randn(5, 3, dtype=F64)
    R_A = _rot_y(0.7) @ axis_angle_to_matrix(torch.tensor([0.3, 0.0, 0.0], dtype=F64))
    R2, T2 = _moved_cameras(R, T, R_A, torch.tensor([1.0, -2.0, 0.5], dtype=F64), 2.5)
    cameras_src = PerspectiveCameras(R=R, T=T, focal_length=2.0)
    cameras_tgt = PerspectiveCameras(R=R2, T=T2)
    aligned = corresponding_cameras_alignment(cameras_src, cameras_tgt, mode=mode)
    assert isinstance(aligned, PerspectiveCameras)
    assert torch.equal(aligned.focal_length, cameras_src.focal_length)
    assert torch.allclose(aligned.R, cameras_tgt.R, atol=1e-10)
    assert torch.allclose(aligned.T, cameras_tgt.T, atol=1e-10)
    # without the scale the rotation is still found, the translations are not
    rigid = corresponding_cameras_alignment(cameras_src, cameras_tgt, estimate_scale=False,
                                            mode=mode)
    assert torch.allclose(rigid.R, cameras_tgt.R, atol=1e-10)
    assert not torch.allclose(rigid.T, cameras_tgt.T, atol=1e-3)


def test_camera_alignment_of_rigidly_moved_cameras_without_scale():
    torch.manual_seed(1)
    R, T = random_rotations(4, dtype=F64), torch.randn(4, 3, dtype=F64)
    R2, T2 = _moved_cameras(R, T, _rot_y(-1.2), torch.tensor([0.0, 3.0, 1.0], dtype=F64), 1.0)
    for mode in ("centers", "extrinsics"):
        aligned = corresponding_cameras_alignment(
            PerspectiveCameras(R=R, T=T), PerspectiveCameras(R=R2, T=T2),
            estimate_scale=False, mode=mode,
        )
        assert torch.allclose(aligned.R, R2, atol=1e-10)
        assert torch.allclose(aligned.T, T2, atol=1e-10)


@pytest.mark.parametrize("mode", ["centers", "extrinsics"])
def test_camera_alignment_gradients(mode):
    torch.manual_seed(2)
    R, R2 = random_rotations(4, dtype=F64), random_rotations(4, dtype=F64)
    T = torch.randn(4, 3, dtype=F64, requires_grad=True)
    T2 = torch.randn(4, 3, dtype=F64, requires_grad=True)

    def aligned(a, b):
        cams = corresponding_cameras_alignment(
            PerspectiveCameras(R=R, T=a), PerspectiveCameras(R=R2, T=b), mode=mode
        )
        return cams.R, cams.T

    assert gradcheck(aligned, (T, T2))


def test_camera_alignment_never_reflects():
    # targets turned by pi about x, y and z: mean_i R_i R_i'^T = -I / 3 has a negative
    # determinant, and the nearest orthogonal matrix, -I, is a reflection
    turns = torch.stack([torch.diag(torch.tensor(d)) for d in
                         ([1.0, -1, -1], [-1.0, 1, -1], [-1.0, -1, 1])])
    T = torch.rand(3, 3)
    aligned = corresponding_cameras_alignment(
        PerspectiveCameras(R=torch.eye(3).expand(3, 3, 3), T=T), PerspectiveCameras(R=turns, T=T),
        estimate_scale=False,
    )
    assert torch.allclose(torch.linalg.det(aligned.R), torch.ones(3))


def test_camera_alignment_errors():
    one, two = PerspectiveCameras(), PerspectiveCameras(R=random_rotations(2), T=torch.rand(2, 3))
    with pytest.raises(InputError, match="same number of cameras"):
        corresponding_cameras_alignment(one, two)
    with pytest.raises(InputError, match="mode"):
        corresponding_cameras_alignment(two, two, mode="points")


# -- ops: box3d_overlap ------------------------------------------------------------------------

UNIT_BOX = torch.tensor(
    [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]],
    dtype=F64,
)


def _box(low, high, R=None):
    """Corners (8, 3) of the box [low, high], rotated about the origin by R (row vectors)."""
    low, high = torch.as_tensor(low, dtype=F64), torch.as_tensor(high, dtype=F64)
    corners = low + UNIT_BOX * (high - low)
    return corners if R is None else corners @ R


def test_box3d_overlap_of_axis_aligned_boxes():
    boxes1 = torch.stack([_box([0, 0, 0], [1, 1, 1]), _box([0, 0, 0], [2, 2, 2])])
    boxes2 = torch.stack([
        _box([0, 0, 0], [1, 1, 1]),  # identical to box 1,0
        _box([0.5, 0, 0], [2.5, 1, 1]),  # overlaps the unit box in [0.5, 1] x [0, 1]^2
        _box([0.25, 0.25, 0.25], [0.75, 0.75, 0.75]),  # inside both
        _box([3, 3, 3], [4, 4, 4]),  # apart
        _box([1, 0, 0], [2, 1, 1]),  # touches the unit box face to face
    ])
    vol, iou = box3d_overlap(boxes1, boxes2)
    assert vol.shape == iou.shape == (2, 5)
    expected_vol = torch.tensor([[1.0, 0.5, 0.125, 0.0, 0.0],
                                 [1.0, 1.5, 0.125, 0.0, 1.0]], dtype=F64)
    expected_iou = torch.tensor([[1.0, 0.5 / 2.5, 0.125, 0.0, 0.0],
                                 [1.0 / 8, 1.5 / 8.5, 0.125 / 8, 0.0, 1.0 / 8]], dtype=F64)
    assert torch.allclose(vol, expected_vol, atol=1e-12)
    assert torch.allclose(iou, expected_iou, atol=1e-12)


def test_box3d_overlap_of_rotated_boxes_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    R1 = axis_angle_to_matrix(torch.tensor([0.3, -0.5, 0.8], dtype=F64))
    R2 = axis_angle_to_matrix(torch.tensor([-0.7, 0.2, 0.4], dtype=F64))
    low1, high1 = torch.tensor([[-0.5, -0.4, -0.6], [0.6, 0.5, 0.4]], dtype=F64)
    low2, high2 = torch.tensor([[-0.2, -0.6, -0.3], [0.9, 0.3, 0.7]], dtype=F64)
    box1, box2 = _box(low1, high1, R1), _box(low2, high2, R2)
    vol, iou = box3d_overlap(box1[None], box2[None])
    # uniform samples of box 1, counted where box 2's local coordinates lie in [low2, high2]
    samples = (low1 + torch.rand(400_000, 3, generator=g, dtype=F64) * (high1 - low1)) @ R1
    local = samples @ R2.T
    inside = ((local >= low2) & (local <= high2)).all(1)
    vol1, vol2 = (high1 - low1).prod(), (high2 - low2).prod()
    estimate = inside.to(F64).mean() * vol1
    assert abs(float(vol) - float(estimate)) < 4e-3  # 5 standard errors of the estimate
    assert torch.allclose(iou, vol / (vol1 + vol2 - vol))
    # identical rotated boxes overlap entirely; the boxes overlap the same both ways
    assert torch.allclose(box3d_overlap(box2[None], box2[None])[1], torch.ones(1, 1, dtype=F64))
    assert torch.allclose(box3d_overlap(box2[None], box1[None])[0], vol)


def test_box3d_overlap_accepts_boxes_in_float32():
    boxes = torch.stack([_box([0, 0, 0], [1, 1, 1]), _box([0.5, 0.5, 0.5], [1.5, 1.5, 1.5])])
    vol, iou = box3d_overlap(boxes.float(), boxes.float())
    assert vol.dtype == torch.float32
    assert torch.allclose(vol, torch.tensor([[1.0, 0.125], [0.125, 1.0]]))


def test_box3d_overlap_gradients():
    torch.manual_seed(3)
    R = random_rotations(2, dtype=F64)
    boxes1 = _box([-0.5, -0.4, -0.3], [0.5, 0.4, 0.3], R[0])[None].requires_grad_(True)
    boxes2 = (_box([-0.3, -0.6, -0.4], [0.6, 0.5, 0.2], R[1]) + 0.1)[None].requires_grad_(True)
    assert gradcheck(box3d_overlap, (boxes1, boxes2))


def test_box3d_overlap_validates_boxes():
    box = _box([0, 0, 0], [1, 1, 1])
    with pytest.raises(InputError, match=r"must be of shape \(8, 3\)"):
        box3d_overlap(box[None, :7], box[None])
    bent = box.clone()
    bent[6, 2] = 1.5  # corner 6 leaves the planes of its faces
    with pytest.raises(InputError, match="not coplanar"):
        box3d_overlap(box[None], bent[None])
    flat = box.clone()
    flat[4:, 2] = 0.0  # the top face falls onto the bottom one: the side faces have no area
    with pytest.raises(InputError, match="zero areas"):
        box3d_overlap(flat[None], box[None])


# -- ops: efficient_pnp ------------------------------------------------------------------------


def _pnp_scene(batch: int, points: int, seed: int, noise: float = 0.0):
    """World points x (B, N, 3), a pose R (B, 3, 3), T (B, 3) placing them about 6 units in
    front of the camera, and their projections y (B, N, 2), optionally with noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, points, 3, generator=g, dtype=F64)
    R = random_rotations(batch, dtype=F64, generator=g)
    T = 0.3 * torch.randn(batch, 3, generator=g, dtype=F64) + torch.tensor([0.0, 0.0, 6.0],
                                                                            dtype=F64)
    cam = x @ R + T[:, None]
    y = cam[..., :2] / cam[..., 2:] + noise * torch.randn(batch, points, 2, generator=g,
                                                          dtype=F64)
    return x, y, R, T


@pytest.mark.parametrize("skip_quadratic_eq", [False, True])
def test_efficient_pnp_recovers_an_exact_pose(skip_quadratic_eq):
    x, y, R, T = _pnp_scene(4, 8, seed=0)
    solution = efficient_pnp(x, y, skip_quadratic_eq=skip_quadratic_eq)
    assert solution._fields == ("x_cam", "R", "T", "err_2d", "err_3d")
    assert solution.x_cam.shape == (4, 8, 3) and solution.err_2d.shape == (4,)
    assert torch.allclose(solution.R, R, atol=1e-9)
    assert torch.allclose(solution.T, T, atol=1e-8)
    assert torch.allclose(solution.x_cam, x @ R + T[:, None], atol=1e-8)
    assert float(solution.err_2d.max()) < 1e-10 and float(solution.err_3d.max()) < 1e-16


def test_efficient_pnp_of_coplanar_points():
    x, y, R, T = _pnp_scene(3, 6, seed=1)
    x[..., 2] = 0.5 * x[..., 0] - 0.2 * x[..., 1] + 0.3
    cam = x @ R + T[:, None]
    solution = efficient_pnp(x, cam[..., :2] / cam[..., 2:])
    assert torch.allclose(solution.R, R, atol=1e-8)
    assert torch.allclose(solution.T, T, atol=1e-7)


def test_efficient_pnp_with_noise_stays_close():
    x, y, R, T = _pnp_scene(4, 50, seed=2, noise=0.002)
    solution = efficient_pnp(x, y)
    assert float((solution.R - R).abs().max()) < 0.02
    assert float((solution.T - T).abs().max()) < 0.1
    # the mean reprojection error is about the noise (2-D Gaussian of sigma 0.002: mean 0.0025)
    assert 0.001 < float(solution.err_2d.mean()) < 0.004


def test_efficient_pnp_ignores_points_of_zero_weight():
    x, y, R, T = _pnp_scene(2, 10, seed=3)
    y[:, :2] += 0.5  # two outliers ...
    weights = torch.ones(2, 10, dtype=F64)
    weights[:, :2] = 0.0  # ... that do not count
    solution = efficient_pnp(x, y, weights)
    assert torch.allclose(solution.R, R, atol=1e-9)
    assert torch.allclose(solution.T, T, atol=1e-8)


@pytest.mark.parametrize("skip_quadratic_eq", [False, True])
def test_efficient_pnp_gradients(skip_quadratic_eq):
    x, y, _, _ = _pnp_scene(2, 8, seed=4, noise=0.01)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert gradcheck(lambda a, b: efficient_pnp(a, b, skip_quadratic_eq=skip_quadratic_eq)[1:3],
                     (x, y))


def test_efficient_pnp_errors():
    x, y, _, _ = _pnp_scene(1, 6, seed=5)
    with pytest.raises(InputError, match=r"y must be a tensor of shape \(1, 6, 2\)"):
        efficient_pnp(x, y[:, :5])
    with pytest.raises(InputError, match="at least 4"):
        efficient_pnp(x[:, :3], y[:, :3])
    with pytest.raises(InputError, match="non-negative"):
        efficient_pnp(x, y, -torch.ones(1, 6, dtype=F64))


# -- renderer: SplatterBlender, SplatterPhongShader --------------------------------------------


class _ScreenCameras:
    """A stand-in for cameras whose "world" points are already screen points (x right, y down
    in pixels, z the depth), so that a test can place fragments exactly."""

    def transform_points_screen(self, points, image_size=None):
        return points


def _one_fragment(shift=(0.0, 0.0), dtype=F64):
    """A 3 x 3 image, K = 1, whose only fragment sits at the centre pixel's centre (+ shift):
    colours (1, 3, 3, 1, 3), screen points (1, 3, 3, 1, 3), background mask (1, 3, 3, 1)."""
    ys, xs = torch.meshgrid(torch.arange(3, dtype=dtype), torch.arange(3, dtype=dtype),
                            indexing="ij")
    points = torch.stack([xs + 0.5, ys + 0.5, torch.full_like(xs, 0.5)], -1)[None, :, :, None]
    points[0, 1, 1, 0, :2] += torch.tensor(shift, dtype=dtype)
    colors = torch.zeros(1, 3, 3, 1, 3, dtype=dtype)
    colors[0, 1, 1, 0] = torch.tensor([1.0, 0.0, 0.0])
    empty = torch.ones(1, 3, 3, 1, dtype=torch.bool)
    empty[0, 1, 1, 0] = False
    return colors, points, empty


def test_splatter_blender_spreads_one_fragment_by_hand():
    colors, points, empty = _one_fragment()
    params = BlendParams(sigma=0.5, background_color=(0.0, 0.0, 1.0))
    image = SplatterBlender((1, 3, 3, 1), "cpu")(colors, points, _ScreenCameras(), empty, params)
    assert image.shape == (1, 3, 3, 4)
    # kernel exp(-d^2 / (2 sigma^2)) = exp(-2 d^2): 1 at the centre, e^-2 beside, e^-4 across
    total = 1 + 4 * math.exp(-2) + 4 * math.exp(-4)
    for (h, w), d2 in (((1, 1), 0), ((1, 0), 1), ((0, 1), 1), ((2, 2), 2)):
        weight = 1.05 / total * math.exp(-2 * d2)  # kernel normalised to 1.05, weights below 1
        expected = torch.tensor([weight, 0.0, 1 - weight, weight], dtype=F64)
        assert torch.allclose(image[0, h, w], expected, atol=1e-12), (h, w)


def test_splatter_blender_gradient_follows_the_fragment():
    colors, points, empty = _one_fragment()
    points.requires_grad_(True)
    image = SplatterBlender((1, 3, 3, 1), "cpu")(
        colors, points, _ScreenCameras(), empty, BlendParams(sigma=0.5)
    )
    (grad,) = torch.autograd.grad(image[0, 1, 2, 3] - image[0, 1, 0, 3], points)
    # moving the fragment right (+x) brightens the pixel on its right and dims the left one
    assert grad[0, 1, 1, 0, 0] > 0 and grad[0, 1, 1, 0, 1].abs() < 1e-12


def test_splatter_blender_gradients():
    g = torch.Generator().manual_seed(0)
    colors = torch.rand(1, 4, 4, 2, 3, generator=g, dtype=F64, requires_grad=True)
    ys, xs = torch.meshgrid(torch.arange(4, dtype=F64), torch.arange(4, dtype=F64),
                            indexing="ij")
    depth = torch.stack([torch.full_like(xs, 0.3), torch.full_like(xs, 0.7)], -1)
    depth = depth + 0.05 * torch.rand(4, 4, 2, generator=g, dtype=F64)
    points = torch.stack([xs[..., None].expand(4, 4, 2) + 0.5, ys[..., None].expand(4, 4, 2) + 0.5,
                          depth], -1)[None]
    points = (points + 0.1 * torch.rand(points.shape, generator=g, dtype=F64)).requires_grad_(True)
    empty = torch.rand(1, 4, 4, 2, generator=g) < 0.3
    blender = SplatterBlender((1, 4, 4, 2), "cpu")
    params = BlendParams(sigma=0.5, background_color=(0.1, 0.2, 0.3))
    assert gradcheck(lambda c, p: blender(c, p, _ScreenCameras(), empty, params), (colors, points))


def _splatter_renderer(shader, size=32, faces_per_pixel=4):
    cameras = FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    settings = RasterizationSettings(image_size=size, faces_per_pixel=faces_per_pixel)
    return MeshRenderer(MeshRasterizer(cameras=cameras, raster_settings=settings), shader(
        cameras=cameras, lights=PointLights(location=[[0.0, 1.0, 3.0]]),
        blend_params=BlendParams(sigma=0.5, background_color=(0.2, 0.3, 0.4)),
    ))


def _sphere(offset=(0.0, 0.0, 0.0)):
    mesh = ico_sphere(2)
    verts = mesh.verts_packed() + torch.as_tensor(offset)
    return Meshes([verts], [mesh.faces_packed()],
                  textures=TexturesVertex([torch.full_like(verts, 0.7)]))


def test_splatter_phong_shader_blurs_the_hard_image_only_slightly():
    splat = _splatter_renderer(SplatterPhongShader)(_sphere())[0]
    hard = _splatter_renderer(HardPhongShader)(_sphere())[0]
    inside = hard[..., 3] == 1
    interior = inside.clone()
    for dy, dx in itertools.product((-1, 0, 1), repeat=2):  # pixels whose 3 x 3 is all sphere
        interior &= torch.roll(inside, (dy, dx), (0, 1))
    # inside, the normalised splats give full alpha and a local average of the hard colours
    assert torch.all(splat[interior, 3] == 1)
    assert float((splat[interior, :3] - hard[interior, :3]).abs().max()) < 0.05
    # far from the sphere: the background, transparent; along the silhouette: partial alpha
    assert torch.allclose(splat[0, 0], torch.tensor([0.2, 0.3, 0.4, 0.0]))
    edge = inside & ~interior
    assert 0 < float(splat[edge, 3].min()) < 1


def test_splatter_phong_shader_moves_the_silhouette_with_the_vertices():
    renderer = _splatter_renderer(SplatterPhongShader)
    columns = torch.arange(32, dtype=torch.float32)

    def centre_column(offset):
        alpha = renderer(_sphere(offset))[0, ..., 3]
        return (alpha.sum(0) * columns).sum() / alpha.sum()

    tx = torch.zeros(3, requires_grad=True)
    centre = centre_column(tx)
    (grad,) = torch.autograd.grad(centre, tx)
    # the hard rasteriser alone gives no gradient here; the splats do, and it agrees with how
    # far the silhouette's centre moves when the sphere moves by 0.1 (about 1.5 pixels)
    moved = centre_column(torch.tensor([0.1, 0.0, 0.0])) - centre_column(torch.zeros(3))
    assert float(grad[0]) != 0 and torch.sign(grad[0]) == torch.sign(moved)
    assert 0.8 < float(grad[0] * 0.1 / moved) < 1.25


def test_splatter_phong_shader_warns_about_sigma():
    cameras = FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 3.0]]))
    settings = RasterizationSettings(image_size=8, faces_per_pixel=2)
    mesh = _sphere()
    fragments = MeshRasterizer(cameras=cameras, raster_settings=settings)(mesh)
    shader = SplatterPhongShader(cameras=cameras, blend_params=BlendParams(sigma=0.3))
    with pytest.warns(UserWarning, match="sigma"):  # as PyTorch3D does for sigma != 0.5
        assert shader(fragments, mesh).shape == (1, 8, 8, 4)


def test_splatter_blender_errors():
    colors, points, empty = _one_fragment()
    blender = SplatterBlender((1, 3, 3, 1), "cpu")
    with pytest.raises(InputError, match="sigma"):
        blender(colors, points, _ScreenCameras(), empty, BlendParams(sigma=0.0))
    with pytest.raises(InputError, match="background_mask"):
        blender(colors, points, _ScreenCameras(), empty[..., 0], BlendParams(sigma=0.5))
