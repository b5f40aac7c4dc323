"""PyTorch3D idioms around the renderer, cameras, lights, transforms and chamfer, written as
ported user code, with PyTorch3D's behaviour (expected values worked out by hand, or from r3d
objects built with the parameters that the idiom passes at call time)."""

from __future__ import annotations

import math

import pytest
import torch

from r3d.errors import InputError
from r3d.loss import chamfer_distance
from r3d.renderer import (
    AlphaCompositor,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    NormWeightedCompositor,
    OrthographicCameras,
    PerspectiveCameras,
    PointLights,
    PointsRasterizationSettings,
    PointsRasterizer,
    PointsRenderer,
    RasterizationSettings,
    SoftPhongShader,
    TexturesVertex,
    look_at_view_transform,
)
from r3d.structures import Pointclouds
from r3d.transforms import Rotate, RotateAxisAngle, Scale, Transform3d, Translate
from r3d.utils import ico_sphere

# ---- call-time camera parameters ---------------------------------------------------------------


def _covered(fragments) -> int:
    return int((fragments.pix_to_face[..., 0] >= 0).sum())


def test_rasterizer_renders_from_R_and_T_given_at_call_time():
    # PyTorch3D's camera-position tutorial: one cameras object, the pose passed per call
    mesh = ico_sphere(2)
    cameras = FoVPerspectiveCameras(T=((0.0, 0.0, 3.0),))
    rasterizer = MeshRasterizer(cameras=cameras,
                                raster_settings=RasterizationSettings(image_size=64))
    near = _covered(rasterizer(mesh))
    R, T = look_at_view_transform(dist=20.0, elev=0.0, azim=0.0)
    far = _covered(rasterizer(mesh, R=R, T=T))
    # a unit sphere 20 away under a 60 degree fov: NDC radius tan(asin(1/20)) / tan(30 deg),
    # times 32 pixels per NDC unit: 2.78 pixels, about 24 pixels of area (the ico-sphere is a
    # little smaller than the sphere); 3 away: 19.6 pixels, about 1,200
    radius = math.tan(math.asin(1 / 20)) / math.tan(math.radians(30)) * 32
    assert 0.6 * math.pi * radius**2 < far <= math.pi * radius**2
    assert near > 40 * far
    # the same pixels as cameras built with that pose
    fixed = MeshRasterizer(cameras=FoVPerspectiveCameras(R=R, T=T),
                           raster_settings=RasterizationSettings(image_size=64))
    assert torch.equal(rasterizer(mesh, R=R, T=T).pix_to_face, fixed(mesh).pix_to_face)


def test_R_and_T_given_at_call_time_stay_on_the_cameras():
    # PyTorch3D's get_world_to_view_transform stores R and T on the cameras ("as these values
    # may be needed later on in the rendering pipeline e.g. for lighting calculations")
    cameras = FoVPerspectiveCameras()
    R, T = look_at_view_transform(dist=20.0, elev=0.0, azim=0.0)
    rasterizer = MeshRasterizer(cameras=cameras,
                                raster_settings=RasterizationSettings(image_size=16))
    rasterizer(ico_sphere(0), R=R, T=T)
    torch.testing.assert_close(cameras.R, R)
    torch.testing.assert_close(cameras.T, T)
    # azimuth 0, elevation 0, distance 20: the camera sits on +Z
    torch.testing.assert_close(cameras.get_camera_center(), torch.tensor([[0.0, 0.0, 20.0]]))
    # other parameters given at call time apply to that call only
    cameras.get_projection_transform(fov=30.0)
    assert float(cameras.fov) == 60.0


@pytest.mark.parametrize("shader", [HardPhongShader, SoftPhongShader])
def test_mesh_renderer_shades_with_the_pose_given_at_call_time(shader):
    # the shaders' specular light depends on the camera centre: they must see the call's pose
    mesh = ico_sphere(2)
    mesh.textures = TexturesVertex(verts_features=[torch.full_like(mesh.verts_packed(), 0.7)])
    settings = RasterizationSettings(image_size=(24, 32), blur_radius=1e-4, faces_per_pixel=3)
    lights = PointLights(location=((2.0, 2.0, -2.0),))
    R, T = look_at_view_transform(dist=2.7, elev=30.0, azim=60.0)

    cameras = FoVPerspectiveCameras()
    renderer = MeshRenderer(rasterizer=MeshRasterizer(cameras=cameras, raster_settings=settings),
                            shader=shader(cameras=cameras, lights=lights))
    posed = FoVPerspectiveCameras(R=R, T=T)
    reference = MeshRenderer(rasterizer=MeshRasterizer(cameras=posed, raster_settings=settings),
                             shader=shader(cameras=posed, lights=lights))
    expected = reference(mesh)
    assert float(expected[..., 3].sum()) > 100
    torch.testing.assert_close(renderer(mesh, R=R, T=T), expected)
    # and lights / materials given at call time replace the shader's
    other = PointLights(location=((0.0, 3.0, 0.0),))
    shiny = Materials(shininess=10.0)
    torch.testing.assert_close(renderer(mesh, lights=other, materials=shiny),
                               reference(mesh, lights=other, materials=shiny))


def test_points_renderer_renders_from_parameters_given_at_call_time():
    sphere = ico_sphere(2).verts_packed()
    point_cloud = Pointclouds(points=[sphere], features=[torch.rand_like(sphere)])
    settings = PointsRasterizationSettings(image_size=(20, 28), radius=0.05)
    R, T = look_at_view_transform(dist=2.7, elev=10.0, azim=-30.0)

    renderer = PointsRenderer(
        rasterizer=PointsRasterizer(cameras=FoVPerspectiveCameras(), raster_settings=settings),
        compositor=AlphaCompositor(),
    )
    reference = PointsRenderer(
        rasterizer=PointsRasterizer(cameras=FoVPerspectiveCameras(R=R, T=T, fov=40.0),
                                    raster_settings=settings),
        compositor=AlphaCompositor(),
    )
    expected = reference(point_cloud)
    assert float(expected.sum()) > 0
    torch.testing.assert_close(renderer(point_cloud, R=R, T=T, fov=40.0), expected)


# every camera class, with parameters given at call time (kwargs) compared with a camera built
# with them
CAMERAS = {
    "fov_perspective": (
        lambda **kw: FoVPerspectiveCameras(**{"fov": 50.0, "znear": 0.5, **kw}),
        {"fov": 35.0, "znear": 1.0, "aspect_ratio": 1.5},
    ),
    "fov_orthographic": (
        lambda **kw: FoVOrthographicCameras(**{"max_y": 2.0, "min_y": -2.0, **kw}),
        {"max_x": 3.0, "min_x": -1.0, "scale_xyz": ((2.0, 1.0, 1.0),)},
    ),
    "perspective": (
        lambda **kw: PerspectiveCameras(**{"focal_length": 2.0, **kw}),
        {"focal_length": ((1.5, 2.5),), "principal_point": ((0.3, 0.0),)},
    ),
    "perspective_screen": (
        lambda **kw: PerspectiveCameras(**{
            "focal_length": 100.0, "principal_point": ((40.0, 30.0),), "in_ndc": False,
            "image_size": ((60, 80),), **kw}),
        {"focal_length": 120.0, "principal_point": ((30.0, 20.0),), "image_size": ((50, 70),)},
    ),
    "orthographic": (
        lambda **kw: OrthographicCameras(**{"focal_length": 0.5, **kw}),
        {"focal_length": 0.8, "principal_point": ((0.1, 0.1),)},
    ),
}


@pytest.mark.parametrize("name", CAMERAS)
@pytest.mark.parametrize("with_pose", [False, True])
def test_camera_methods_take_parameters_as_keywords(name, with_pose):
    make, kwargs = CAMERAS[name]
    if with_pose:
        R, T = look_at_view_transform(dist=torch.tensor([3.0, 4.0]), elev=10.0, azim=20.0)
        kwargs = {**kwargs, "R": R, "T": T}
    points = torch.randn(2, 7, 3, generator=torch.Generator().manual_seed(0))
    expected = make(**kwargs)
    screen = {"image_size": kwargs.get("image_size", ((60, 80),))}
    transforms = ["get_world_to_view_transform", "get_projection_transform",
                  "get_full_projection_transform", "get_ndc_camera_transform"]
    for method in transforms:
        got = getattr(make(), method)(**kwargs).get_matrix()
        # (the projection ignores R and T, so its batch may be 1 where the pose's is 2)
        torch.testing.assert_close(*torch.broadcast_tensors(
            got, getattr(expected, method)().get_matrix()))
    for method in ["transform_points", "transform_points_ndc"]:
        got = getattr(make(), method)(points, **kwargs)
        torch.testing.assert_close(got, getattr(expected, method)(points))
    others = {k: v for k, v in kwargs.items() if k != "image_size"}
    torch.testing.assert_close(make().transform_points_screen(points, **others, **screen),
                               expected.transform_points_screen(points, **screen))
    torch.testing.assert_close(make().get_camera_center(**kwargs),
                               expected.get_camera_center().expand(2, 3) if with_pose
                               else expected.get_camera_center())
    # unproject_points with the same keywords inverts transform_points
    depth = expected.get_world_to_view_transform().transform_points(points)[..., 2:]
    xy_depth = torch.cat([expected.transform_points(points)[..., :2], depth], dim=-1)
    torch.testing.assert_close(make().unproject_points(xy_depth, **kwargs), points,
                               atol=1e-4, rtol=1e-4)


def test_projection_with_a_call_time_fov_by_hand():
    # fov 90: x_ndc = X / Z, y_ndc = Y / Z; depth f / (f - n) - f n / ((f - n) Z), n=1, f=100
    cameras = FoVPerspectiveCameras()
    got = cameras.transform_points(torch.tensor([[1.0, 2.0, 4.0]]), fov=90.0)
    expected = torch.tensor([[0.25, 0.5, 100 / 99 - 100 / (99 * 4)]])
    torch.testing.assert_close(got, expected)
    # the focal length of PerspectiveCameras likewise: x = f X / Z
    got = PerspectiveCameras().transform_points(torch.tensor([[1.0, 2.0, 4.0]]),
                                                focal_length=2.0)
    torch.testing.assert_close(got[..., :2], torch.tensor([[0.5, 1.0]]))


def test_a_misspelt_camera_keyword_is_an_error():
    # r3d raises where PyTorch3D ignores the keyword (see docs/differences-from-pytorch3d.md)
    with pytest.raises(InputError, match="focl_length"):
        PerspectiveCameras().get_projection_transform(focl_length=2.0)


# ---- lights and materials ----------------------------------------------------------------------


def test_writing_one_light_of_a_batch_writes_through():
    lights = PointLights(location=torch.zeros(3, 3))
    lights[1].ambient_color = torch.tensor([[0.9, 0.8, 0.7]])
    expected = torch.tensor([[0.5, 0.5, 0.5], [0.9, 0.8, 0.7], [0.5, 0.5, 0.5]])
    torch.testing.assert_close(lights.ambient_color, expected)
    # reading gives the item without the batch dim; a slice gives rows; both are views
    assert lights[1].ambient_color.shape == (3,)
    lights[0:2].location = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    torch.testing.assert_close(lights[0:2].location,
                               torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    lights[2].location[:] = 7.0
    torch.testing.assert_close(lights.location[2], torch.full((3,), 7.0))
    materials = Materials(shininess=torch.tensor([1.0, 2.0, 3.0]))
    materials[1].shininess = 10.0
    torch.testing.assert_close(materials.shininess, torch.tensor([1.0, 10.0, 3.0]))


def test_lights_index_is_an_int_or_a_slice():
    lights = PointLights()
    with pytest.raises(InputError, match="int or a slice"):
        lights[[0]]
    with pytest.raises(AttributeError, match="colour"):
        _ = lights[0].colour
    with pytest.raises(InputError, match=r"shape \(3,\)"):
        lights[0].location = torch.zeros(4)


# ---- transforms --------------------------------------------------------------------------------


def test_indexing_a_transform_keeps_its_class():
    t = Translate(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]]))
    assert type(t[1]) is Translate and len(t[1]) == 1
    assert type(t[0:2]) is Translate and len(t[0:2]) == 2
    torch.testing.assert_close(t[1].transform_points(torch.zeros(1, 3)),
                               torch.tensor([[0.0, 2.0, 0.0]]))
    torch.testing.assert_close(t[2].inverse().transform_points(torch.zeros(1, 3)),
                               torch.tensor([[0.0, 0.0, -3.0]]))
    assert type(Scale(torch.tensor([1.0, 2.0]))[0]) is Scale
    assert type(Rotate(torch.eye(3).expand(2, 3, 3))[1]) is Rotate
    assert type(RotateAxisAngle(torch.tensor([30.0, 60.0]), "Z")[1]) is RotateAxisAngle
    assert type(t.compose(Scale(2.0))[0]) is Transform3d


# ---- look_at_view_transform straight above -----------------------------------------------------


@pytest.mark.parametrize("azim", [0.0, 45.0, 180.0])
@pytest.mark.parametrize("elev", [90.0, -90.0])
def test_look_at_from_a_pole_follows_the_azimuth(elev, azim):
    # in float32 cos(90 deg) is -4.4e-8, so the camera sits just past the pole: at azimuth a
    # the view's x axis is (cos a, 0, -sin a) (PyTorch3D's result), its z axis points at the
    # target and y = z x x
    assert float(torch.cos(torch.deg2rad(torch.tensor(90.0)))) < 0
    R, T = look_at_view_transform(dist=2.7, elev=elev, azim=azim)
    a = math.radians(azim)
    x = torch.tensor([math.cos(a), 0.0, -math.sin(a)])
    z = torch.tensor([0.0, -math.copysign(1.0, elev), 0.0])
    torch.testing.assert_close(R[0], torch.stack([x, torch.linalg.cross(z, x), z], dim=1),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(T, torch.tensor([[0.0, 0.0, 2.7]]), atol=1e-6, rtol=0)


def test_look_at_with_the_eye_exactly_above():
    # up x z is exactly 0: x is +X, as at elevation +-90 and azimuth 0 above
    R, T = look_at_view_transform(eye=((1.0, 5.0, 2.0),), at=((1.0, 0.0, 2.0),))
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    torch.testing.assert_close(R[0], expected)
    # the target maps to (0, 0, 5) in view space
    torch.testing.assert_close(torch.tensor([[1.0, 0.0, 2.0]]) @ R[0] + T,
                               torch.tensor([[0.0, 0.0, 5.0]]))


# ---- chamfer -----------------------------------------------------------------------------------


@pytest.mark.parametrize("point_reduction", ["mean", "sum", None])
def test_chamfer_with_zero_weights_gives_zero_tensors(point_reduction):
    x, y = torch.rand(2, 5, 3), torch.rand(2, 6, 3)
    batch_reduction = None if point_reduction is None else "mean"
    loss, loss_normals = chamfer_distance(x, y, weights=torch.zeros(2),
                                          batch_reduction=batch_reduction,
                                          point_reduction=point_reduction)
    parts = (loss, loss_normals) if point_reduction else (*loss, *loss_normals)
    for t in parts:
        assert isinstance(t, torch.Tensor) and not bool(t.any())
    # "max" gives no normals term, as PyTorch3D
    _, none = chamfer_distance(x, y, weights=torch.zeros(2), point_reduction="max")
    assert none is None


# ---- point renders: splat radius, distances and compositing, by hand ----------------------------


def _pixel_centres(H: int, W: int) -> tuple[torch.Tensor, torch.Tensor]:
    """NDC x, y of the pixel centres: +X left, +Y up, the shorter side spanning [-1, 1]."""
    s = min(H, W)
    x = (W - 1 - 2 * torch.arange(W, dtype=torch.float32)) / s
    y = (H - 1 - 2 * torch.arange(H, dtype=torch.float32)) / s
    return x[None, :].expand(H, W), y[:, None].expand(H, W)


@pytest.mark.parametrize("image_size", [(32, 32), (24, 40), (40, 24)])
def test_one_splat_by_hand(image_size):
    # an orthographic camera at the origin maps (X, Y) to NDC (X, Y); the point's disc has
    # NDC radius r and the weight 1 - d^2 / r^2 at squared distance d^2 < r^2
    H, W = image_size
    r, colour = 0.3, 0.8
    point_cloud = Pointclouds(points=[torch.tensor([[0.1, -0.05, 5.0]])],
                              features=[torch.tensor([[colour]])])
    settings = PointsRasterizationSettings(image_size=image_size, radius=r, points_per_pixel=2)
    rasterizer = PointsRasterizer(cameras=FoVOrthographicCameras(), raster_settings=settings)
    x, y = _pixel_centres(H, W)
    d2 = (x - 0.1) ** 2 + (y + 0.05) ** 2
    inside = d2 < r * r
    fragments = rasterizer(point_cloud)
    torch.testing.assert_close(fragments.dists[0, ..., 0], torch.where(inside, d2, -1.0))
    torch.testing.assert_close(fragments.zbuf[0, ..., 0], torch.where(inside, 5.0, -1.0))
    expected = torch.where(inside, (1 - d2 / r**2) * colour, 0.0)
    image = PointsRenderer(rasterizer=rasterizer, compositor=AlphaCompositor())(point_cloud)
    torch.testing.assert_close(image[0, ..., 0], expected)
    image = PointsRenderer(rasterizer=rasterizer,
                           compositor=NormWeightedCompositor())(point_cloud)
    torch.testing.assert_close(image[0, ..., 0], torch.where(inside, colour, 0.0))


def test_two_splats_composite_front_to_back_by_hand():
    # the pixel at the centre of a 2 x 2 image's top-left quarter: NDC (0.5, 0.5)
    near, far = torch.tensor([0.5, 0.5, 2.0]), torch.tensor([0.6, 0.5, 4.0])
    point_cloud = Pointclouds(points=[torch.stack([far, near])],
                              features=[torch.tensor([[0.2], [0.9]])])
    r = 0.5
    settings = PointsRasterizationSettings(image_size=2, radius=r, points_per_pixel=2)
    rasterizer = PointsRasterizer(cameras=FoVOrthographicCameras(), raster_settings=settings)
    w_near, w_far = 1.0, 1 - 0.1**2 / r**2
    alpha = PointsRenderer(rasterizer=rasterizer, compositor=AlphaCompositor())(point_cloud)
    # front to back: c_near w_near + (1 - w_near) w_far c_far
    assert float(alpha[0, 0, 0, 0]) == pytest.approx(0.9 * w_near + (1 - w_near) * w_far * 0.2)
    norm = PointsRenderer(rasterizer=rasterizer,
                          compositor=NormWeightedCompositor())(point_cloud)
    assert float(norm[0, 0, 0, 0]) == pytest.approx((0.9 * w_near + 0.2 * w_far)
                                                    / (w_near + w_far))


def test_ico_sphere_is_pytorch3ds():
    # the classic icosphere: 4-decimal coordinates 0.5257 = 1 / |(1, phi)| and
    # 0.8507 = phi / |(1, phi)|, vertex 0 at (-a, b, 0), first face (0, 11, 5); each level
    # appends the normalised midpoints of the edges in edges_packed order
    level0 = ico_sphere(0)
    torch.testing.assert_close(level0.verts_packed()[:2],
                               torch.tensor([[-0.5257, 0.8507, 0.0], [0.5257, 0.8507, 0.0]]))
    assert level0.faces_packed()[0].tolist() == [0, 11, 5]
    level1 = ico_sphere(1)
    v0 = level0.verts_packed()
    torch.testing.assert_close(level1.verts_packed()[:12], v0 / v0.norm(dim=1, keepdim=True))
    mid = v0[level0.edges_packed()[0]].mean(0)
    torch.testing.assert_close(level1.verts_packed()[12], mid / mid.norm())
