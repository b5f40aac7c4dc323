"""Cameras: projections of known points, NDC and screen conventions, unprojection round trips,
look-at transforms, batching, OpenCV conversions, gradients and input errors."""

import math

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import (
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    camera_position_from_spherical_angles,
    cameras_from_opencv_projection,
    get_world_to_view_transform,
    look_at_rotation,
    look_at_view_transform,
    opencv_from_cameras_projection,
)
from r3d.transforms import random_rotations

F64 = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def t64(*values):
    return torch.tensor(values, dtype=F64)


# ---- projections of known points ---------------------------------------------------------------


def test_fov_perspective_maps_axis_to_centre_and_fov_edges_to_ndc_one():
    fov, aspect, znear, zfar = 60.0, 1.5, 1.0, 10.0
    cam = FoVPerspectiveCameras(
        znear=znear, zfar=zfar, aspect_ratio=aspect, fov=fov, R=torch.eye(3, dtype=F64)
    )
    half = math.tan(math.radians(fov) / 2)
    z = 4.0
    pts = t64(
        [0.0, 0.0, z],
        [0.0, half * z, z],
        [0.0, -half * z, z],
        [half * aspect * z, 0.0, z],
        [-half * aspect * z, 0.0, z],
        [0.0, 0.0, znear],
        [0.0, 0.0, zfar],
    )
    ndc = cam.transform_points(pts)
    torch.testing.assert_close(
        ndc[:, :2], t64([0, 0], [0, 1], [0, -1], [1, 0], [-1, 0], [0, 0], [0, 0])
    )
    torch.testing.assert_close(ndc[5:, 2], t64(0.0, 1.0))  # znear -> 0, zfar -> 1
    radians = FoVPerspectiveCameras(
        znear, zfar, aspect, math.radians(fov), degrees=False, R=torch.eye(3, dtype=F64)
    )
    torch.testing.assert_close(radians.transform_points(pts), ndc)
    assert cam.is_perspective() and cam.in_ndc()
    torch.testing.assert_close(cam.get_znear(), t64(znear))


def test_fov_orthographic_maps_the_view_volume_bounds_to_ndc_box():
    cam = FoVOrthographicCameras(
        znear=2.0, zfar=6.0, max_y=3.0, min_y=-1.0, max_x=2.0, min_x=-4.0, R=torch.eye(3, dtype=F64)
    )
    ndc = cam.transform_points(t64([2.0, 3.0, 2.0], [-4.0, -1.0, 6.0], [-1.0, 1.0, 4.0]))
    torch.testing.assert_close(ndc, t64([1.0, 1.0, 0.0], [-1.0, -1.0, 1.0], [0.0, 0.0, 0.5]))
    scaled = FoVOrthographicCameras(
        znear=2.0, zfar=6.0, scale_xyz=((2.0, 0.5, 3.0),), R=torch.eye(3, dtype=F64)
    )
    out = scaled.transform_points(t64([0.25, 1.0, 6.0]))
    torch.testing.assert_close(
        out, t64([0.5, 0.5, 3 * 6 / 4 - 2 / 4])
    )  # sz z / (f - n) - n / (f - n)
    assert not cam.is_perspective()


def test_perspective_and_orthographic_ndc_projections():
    eye = torch.eye(3, dtype=F64)
    pts = t64([0.0, 0.0, 2.0], [1.0, -0.5, 4.0])
    persp = PerspectiveCameras(focal_length=((2.0, 3.0),), principal_point=((0.1, -0.2),), R=eye)
    expected = t64([0.1, -0.2, 0.5], [2.0 / 4 + 0.1, -1.5 / 4 - 0.2, 0.25])  # z -> 1 / Z
    torch.testing.assert_close(persp.transform_points(pts), expected)
    ortho = OrthographicCameras(focal_length=((2.0, 3.0),), principal_point=((0.1, -0.2),), R=eye)
    torch.testing.assert_close(ortho.transform_points(pts), t64([0.1, -0.2, 2.0], [2.1, -1.7, 4.0]))
    torch.testing.assert_close(persp.get_principal_point(), t64([0.1, -0.2]))
    torch.testing.assert_close(persp.focal_length, t64([2.0, 3.0]))


def test_custom_K_replaces_the_parameters():
    reference = FoVPerspectiveCameras(fov=40.0, znear=0.5, zfar=20.0, R=torch.eye(3, dtype=F64))
    K = reference.get_projection_transform().get_matrix().transpose(1, 2)
    cam = FoVPerspectiveCameras(K=K)
    pts = torch.randn(5, 3, generator=gen(), dtype=F64) + t64(0.0, 0.0, 5.0)
    torch.testing.assert_close(cam.transform_points(pts), reference.transform_points(pts))


# ---- screen space ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image_size, expected",
    [((100, 100), (37.5, 43.75)), ((100, 200), (87.5, 43.75)), ((200, 100), (37.5, 93.75))],
)
def test_transform_points_screen_hand_computed(image_size, expected):
    # fov 90: NDC (X / Z, Y / Z) = (0.25, 0.125); pixels: (W / 2 - s x, H / 2 - s y), s = min / 2
    cam = FoVPerspectiveCameras(fov=90.0, R=torch.eye(3, dtype=F64))
    out = cam.transform_points_screen(t64([0.5, 0.25, 2.0]), image_size=image_size)
    torch.testing.assert_close(out[:, :2], t64(expected))
    assert out[0, 2] == cam.transform_points(t64([0.5, 0.25, 2.0]))[0, 2]
    h, w = image_size
    s = min(h, w) / 2
    unflipped = cam.transform_points_screen(
        t64([0.5, 0.25, 2.0]), with_xyflip=False, image_size=image_size
    )
    torch.testing.assert_close(unflipped[:, :2], t64([s * 0.25 - w / 2, s * 0.125 - h / 2]))


@pytest.mark.parametrize("cls", [PerspectiveCameras, OrthographicCameras])
def test_screen_space_cameras_land_on_hand_computed_pixels(cls):
    h, w, f, px, py = 60, 80, 50.0, 45.0, 28.0
    cam = cls(
        focal_length=f,
        principal_point=((px, py),),
        in_ndc=False,
        image_size=((h, w),),
        R=torch.eye(3, dtype=F64),
    )
    X, Y, Z = -0.3, 0.2, 2.0
    pixels = cam.transform_points_screen(t64([X, Y, Z]))[0, :2]
    if cls is PerspectiveCameras:
        expected = t64(px - f * X / Z, py - f * Y / Z)
    else:
        expected = t64(px - f * X, py - f * Y)
    torch.testing.assert_close(pixels, expected)
    # the same camera in NDC units projects to the same NDC points
    s = min(h, w) / 2
    ndc_cam = cls(
        focal_length=f / s,
        principal_point=((-(px - w / 2) / s, -(py - h / 2) / s),),
        R=torch.eye(3, dtype=F64),
    )
    pts = t64([X, Y, Z], [0.1, 0.4, 3.0])
    torch.testing.assert_close(cam.transform_points_ndc(pts), ndc_cam.transform_points_ndc(pts))
    assert not cam.in_ndc()


def test_screen_and_fov_cameras_need_an_image_size():
    with pytest.raises(InputError, match="image_size"):
        PerspectiveCameras(in_ndc=False)
    with pytest.raises(InputError, match="image_size"):
        FoVPerspectiveCameras().transform_points_screen(torch.zeros(1, 3))
    with pytest.raises(InputError, match="image_size"):
        PerspectiveCameras(image_size=((0, 10),))


# ---- unprojection ------------------------------------------------------------------------------


def _camera_factories():
    R, T = look_at_view_transform(dist=t64(3.0, 4.0), elev=t64(20.0, -35.0), azim=t64(10.0, 140.0))
    size = ((48, 64),)
    return {
        "fov_perspective": lambda: FoVPerspectiveCameras(
            fov=t64(50.0, 70.0), aspect_ratio=1.3, R=R, T=T
        ),
        "fov_orthographic": lambda: FoVOrthographicCameras(
            max_y=2.0, min_y=-1.5, max_x=1.5, min_x=-2.0, scale_xyz=((1.2, 0.8, 1.5),), R=R, T=T
        ),
        "perspective": lambda: PerspectiveCameras(
            focal_length=t64(1.5, 2.5), principal_point=((0.1, -0.05),), R=R, T=T
        ),
        "orthographic": lambda: OrthographicCameras(
            focal_length=((0.7, 0.9),), principal_point=((0.2, 0.1),), R=R, T=T
        ),
        "perspective_screen": lambda: PerspectiveCameras(
            focal_length=((60.0, 55.0),),
            principal_point=((30.0, 26.0),),
            R=R,
            T=T,
            in_ndc=False,
            image_size=size,
        ),
        "orthographic_screen": lambda: OrthographicCameras(
            focal_length=20.0,
            principal_point=((33.0, 22.0),),
            R=R,
            T=T,
            in_ndc=False,
            image_size=size,
        ),
    }


@pytest.mark.parametrize("name", list(_camera_factories()))
def test_unproject_inverts_the_projection(name):
    cam = _camera_factories()[name]()
    pts = torch.rand(2, 7, 3, generator=gen(1), dtype=F64) - 0.5
    view = cam.get_world_to_view_transform().transform_points(pts)
    projected = cam.transform_points(pts)
    ndc = cam.transform_points_ndc(pts)
    depth = view[..., 2:]
    xy_depth = torch.cat([projected[..., :2], depth], -1)
    torch.testing.assert_close(cam.unproject_points(xy_depth), pts)
    torch.testing.assert_close(cam.unproject_points(xy_depth, world_coordinates=False), view)
    torch.testing.assert_close(cam.unproject_points(projected, scaled_depth_input=True), pts)
    torch.testing.assert_close(
        cam.unproject_points(torch.cat([ndc[..., :2], depth], -1), from_ndc=True), pts
    )
    # one camera and (P, 3) points in, (P, 3) points out
    one = cam[1]
    xy_depth_one = xy_depth[1]
    assert one.unproject_points(xy_depth_one).shape == (7, 3)
    torch.testing.assert_close(one.unproject_points(xy_depth_one), pts[1])
    # (P, 3) points with N cameras: every camera unprojects them
    torch.testing.assert_close(cam.unproject_points(xy_depth[0])[0], pts[0])


# ---- look at -----------------------------------------------------------------------------------


def test_look_at_view_transform_looks_at_the_origin_with_up_up():
    dist, elev, azim = (
        t64(2.0, 3.5, 1.0, 5.0),
        t64(0.0, 30.0, -60.0, 80.0),
        t64(0.0, 45.0, 200.0, -30.0),
    )
    R, T = look_at_view_transform(dist, elev, azim)
    assert R.dtype == F64 and R.shape == (4, 3, 3) and T.shape == (4, 3)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3, dtype=F64).expand(4, 3, 3))
    torch.testing.assert_close(torch.linalg.det(R), torch.ones(4, dtype=F64))
    w2v = get_world_to_view_transform(R, T)
    origin = w2v.transform_points(torch.zeros(4, 1, 3, dtype=F64))[:, 0]
    torch.testing.assert_close(
        origin, torch.stack([torch.zeros(4, dtype=F64), torch.zeros(4, dtype=F64), dist], 1)
    )
    up_in_view = (t64([0.0, 1.0, 0.0]) @ R)[:, 0]  # directions rotate without the translation
    torch.testing.assert_close(up_in_view[:, 0], torch.zeros(4, dtype=F64))
    assert (up_in_view[:, 1] > 0).all()
    eye = camera_position_from_spherical_angles(dist, elev, azim)
    torch.testing.assert_close(PerspectiveCameras(R=R, T=T).get_camera_center(), eye)
    # elev 0, azim 0: the camera sits on +Z and looks down -Z, so view x and z flip
    R0, T0 = look_at_view_transform(2.0, 0.0, 0.0)
    torch.testing.assert_close(R0[0], torch.diag(torch.tensor([-1.0, 1.0, -1.0])))
    torch.testing.assert_close(T0[0], torch.tensor([0.0, 0.0, 2.0]))


def test_look_at_from_an_eye_and_at_a_point():
    eye, at = t64([1.0, 2.0, -3.0], [0.5, -1.0, 2.0]), t64([0.2, 0.3, 0.1])
    R, T = look_at_view_transform(eye=eye, at=at)
    torch.testing.assert_close(R, look_at_rotation(eye, at))
    view_of_at = (at @ R)[:, 0] + T
    torch.testing.assert_close(view_of_at[:, :2], torch.zeros(2, 2, dtype=F64))
    torch.testing.assert_close(view_of_at[:, 2], (eye - at).norm(dim=1))
    torch.testing.assert_close(FoVPerspectiveCameras(R=R, T=T).get_camera_center(), eye)


@pytest.mark.parametrize("elev", [90.0, -90.0])
def test_look_at_straight_down_or_up_is_a_rotation_continuing_azimuth_zero(elev):
    R, T = look_at_view_transform(2.0, t64(elev), 0.0)
    torch.testing.assert_close(R @ R.transpose(1, 2), torch.eye(3, dtype=F64)[None])
    torch.testing.assert_close(T, t64([0.0, 0.0, 2.0]))
    near, _ = look_at_view_transform(2.0, t64(elev - math.copysign(1e-3, elev)), 0.0)
    torch.testing.assert_close(R, near, atol=1e-4, rtol=0)


# ---- batching ----------------------------------------------------------------------------------


def test_parameters_broadcast_to_the_batch():
    cam = FoVPerspectiveCameras(fov=[30.0, 60.0, 90.0], znear=0.5)
    assert len(cam) == 3 and cam.znear.shape == (3,) and cam.R.shape == (3, 3, 3)
    assert cam.dtype == torch.float32
    assert PerspectiveCameras(focal_length=2.0).focal_length.shape == (1, 2)
    assert PerspectiveCameras(focal_length=[1.0, 2.0]).focal_length.tolist() == [
        [1.0, 1.0],
        [2.0, 2.0],
    ]
    assert PerspectiveCameras(focal_length=[[1.0], [2.0]]).focal_length.shape == (2, 2)
    assert PerspectiveCameras(T=torch.zeros(4, 3, dtype=F64)).dtype == F64
    with pytest.raises(InputError, match="batch sizes"):
        FoVPerspectiveCameras(fov=[30.0, 60.0, 90.0], znear=[0.5, 1.0])
    pts = torch.randn(5, 3, generator=gen(), dtype=torch.float32) + torch.tensor([0.0, 0.0, 4.0])
    assert cam.transform_points(pts).shape == (3, 5, 3)
    assert cam[0].transform_points(pts).shape == (5, 3)
    assert cam[0].transform_points(pts[None].expand(3, 5, 3)).shape == (3, 5, 3)


@pytest.mark.parametrize(
    "index", [1, -1, [2, 0], slice(1, 3), torch.tensor([True, False, True]), torch.tensor([2, 1])]
)
def test_getitem_selects_cameras(index):
    R, T = look_at_view_transform(dist=[2.0, 3.0, 4.0], azim=[0.0, 30.0, 60.0])
    cam = PerspectiveCameras(
        focal_length=[1.0, 2.0, 3.0], R=R, T=T, in_ndc=False, image_size=((30, 40),)
    )
    pts = torch.randn(1, 5, 3, generator=gen()) * 0.3
    sub = cam[index]
    rows = [index] if isinstance(index, int) else index
    assert type(sub) is PerspectiveCameras and not sub.in_ndc()
    expected = cam.transform_points_screen(pts.expand(3, 5, 3))[rows]
    torch.testing.assert_close(sub.transform_points_screen(pts.expand(len(sub), 5, 3)), expected)


def test_getitem_errors_clone_and_to():
    cam = FoVPerspectiveCameras(fov=[30.0, 60.0], degrees=True)
    with pytest.raises(IndexError):
        cam[2]
    with pytest.raises(InputError, match="index"):
        cam["0"]
    copy = cam.clone()
    copy.fov[0] = 10.0
    assert cam.fov[0] == 30.0 and copy.degrees
    assert cam.to("cpu") is cam and cam.cpu() is cam


# ---- OpenCV ------------------------------------------------------------------------------------


def _opencv_setup(n=3, seed=0):
    g = gen(seed)
    R = random_rotations(n, dtype=F64, generator=g)
    tvec = torch.cat(
        [torch.randn(n, 2, generator=g, dtype=F64) * 0.3, torch.full((n, 1), 8.0, dtype=F64)], 1
    )
    image_size = torch.tensor([[480, 640], [600, 400], [256, 256]])[:n]
    K = torch.zeros(n, 3, 3, dtype=F64)
    K[:, 0, 0] = torch.tensor([700.0, 520.0, 300.0], dtype=F64)[:n]
    K[:, 1, 1] = torch.tensor([690.0, 540.0, 310.0], dtype=F64)[:n]
    K[:, :2, 2] = image_size.flip(1).to(F64) / 2 + torch.randn(n, 2, generator=g, dtype=F64) * 10
    K[:, 2, 2] = 1.0
    return R, tvec, K, image_size


def test_opencv_projection_matches_transform_points_screen():
    R, tvec, K, image_size = _opencv_setup()
    pts = torch.rand(40, 3, generator=gen(2), dtype=F64) * 2 - 1
    x_cam = pts @ R.transpose(1, 2) + tvec[:, None]
    uvw = x_cam @ K.transpose(1, 2)
    uv = uvw[..., :2] / uvw[..., 2:]
    cams = cameras_from_opencv_projection(R, tvec, K, image_size)
    assert cams.in_ndc() and len(cams) == 3
    torch.testing.assert_close(cams.transform_points_screen(pts)[..., :2], uv)
    R2, tvec2, K2 = opencv_from_cameras_projection(cams, image_size)
    torch.testing.assert_close(R2, R)
    torch.testing.assert_close(tvec2, tvec)
    torch.testing.assert_close(K2, K)


@pytest.mark.parametrize("in_ndc", [True, False])
def test_cameras_to_opencv_and_back_project_the_same(in_ndc):
    R, T = look_at_view_transform(dist=t64(3.0, 5.0), elev=t64(10.0, 40.0), azim=t64(-20.0, 95.0))
    size = torch.tensor([[90, 120], [100, 50]])
    if in_ndc:
        cams = PerspectiveCameras(
            focal_length=t64(1.7, 2.2), principal_point=t64([0.1, -0.1], [0.0, 0.2]), R=R, T=T
        )
    else:
        cams = PerspectiveCameras(
            focal_length=t64([80.0, 90.0], [60.0, 65.0]),
            principal_point=t64([55.0, 47.0], [24.0, 52.0]),
            R=R,
            T=T,
            in_ndc=False,
            image_size=size,
        )
    back = cameras_from_opencv_projection(*opencv_from_cameras_projection(cams, size), size)
    pts = torch.rand(2, 30, 3, generator=gen(3), dtype=F64) - 0.5
    torch.testing.assert_close(
        back.transform_points_screen(pts, image_size=size),
        cams.transform_points_screen(pts, image_size=size),
    )


def test_opencv_conversion_errors():
    R, tvec, K, image_size = _opencv_setup()
    skewed = K.clone()
    skewed[1, 0, 1] = 3.0
    with pytest.raises(InputError, match="camera_matrix"):
        cameras_from_opencv_projection(R, tvec, skewed, image_size)
    with pytest.raises(InputError, match="tvec"):
        cameras_from_opencv_projection(R, tvec[:, :2], K, image_size)
    with pytest.raises(InputError, match="PerspectiveCameras"):
        opencv_from_cameras_projection(FoVPerspectiveCameras(), image_size)
    with pytest.raises(InputError, match="image_size"):
        opencv_from_cameras_projection(PerspectiveCameras())


# ---- gradients ---------------------------------------------------------------------------------


def test_gradients_reach_R_T_and_focal_length():
    R = random_rotations(2, dtype=F64, generator=gen(4)).requires_grad_()
    T = t64([0.1, -0.2, 4.0], [0.0, 0.3, 5.0]).requires_grad_()
    focal = t64([1.5, 1.2], [2.0, 1.8]).requires_grad_()
    pts = torch.rand(2, 4, 3, generator=gen(5), dtype=F64) - 0.5

    def project(R, T, focal):
        cams = PerspectiveCameras(focal_length=focal, principal_point=((0.1, 0.0),), R=R, T=T)
        return cams.transform_points_screen(pts, image_size=((30, 40),))

    assert torch.autograd.gradcheck(project, (R, T, focal))
    fov = t64(50.0, 70.0).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda fov, T: FoVPerspectiveCameras(fov=fov, R=R.detach(), T=T).transform_points(pts),
        (fov, T),
    )
    angles = t64(2.5, 30.0, 45.0).requires_grad_()
    assert torch.autograd.gradcheck(lambda a: look_at_view_transform(a[0], a[1], a[2]), (angles,))


# ---- input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: FoVPerspectiveCameras(R=torch.eye(2)), "R"),
        (lambda: FoVPerspectiveCameras(T=torch.zeros(2, 4)), "T"),
        (lambda: FoVPerspectiveCameras(K=torch.eye(3)), "K"),
        (lambda: FoVPerspectiveCameras(fov="wide"), "fov"),
        (lambda: FoVPerspectiveCameras(degrees=1), "degrees"),
        (lambda: FoVOrthographicCameras(scale_xyz=(1.0, 2.0)), "scale_xyz"),
        (lambda: PerspectiveCameras(focal_length=torch.ones(2, 3)), "focal_length"),
        (lambda: PerspectiveCameras(principal_point=(0.0, 0.0, 0.0)), "principal_point"),
        (lambda: OrthographicCameras(in_ndc="no"), "in_ndc"),
        (lambda: PerspectiveCameras().transform_points(torch.zeros(4, 2)), "points"),
        (lambda: PerspectiveCameras().transform_points_ndc(torch.zeros(4, 3, dtype=F64)), "points"),
        (lambda: PerspectiveCameras().unproject_points(torch.zeros(3)), "xy_depth"),
        (lambda: look_at_view_transform(eye=(0.0, 0.0, 0.0)), "eye"),
        (lambda: look_at_view_transform(dist=0.0), "dist"),
        (lambda: look_at_rotation((1.0, 2.0, 3.0), up=(0.0, 0.0, 0.0)), "up"),
        (lambda: look_at_rotation(torch.ones(2, 2)), "camera_position"),
        (
            lambda: camera_position_from_spherical_angles(1.0, [1.0, 2.0], [1.0, 2.0, 3.0]),
            "batch sizes",
        ),
    ],
)
def test_invalid_arguments_raise_input_errors_naming_them(make, name):
    with pytest.raises(InputError, match=name):
        make()
