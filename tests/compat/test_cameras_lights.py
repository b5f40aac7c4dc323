"""PyTorch3D code around cameras, lights, materials and shading that r3d used to refuse, written
as ported user code: joined and deprecated cameras, compute_projection_matrix, fisheye
cameras, the OpenCV conversions from ``utils``, the light methods and functions with
PyTorch3D's signatures, TensorProperties subclasses, C-channel shading and bins of size 0.
Expected values are worked out by hand or come from r3d objects built another way."""

from __future__ import annotations

import math

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import (
    AmbientLights,
    BlendParams,
    DirectionalLights,
    FoVOrthographicCameras,
    FoVPerspectiveCameras,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    OpenGLOrthographicCameras,
    OpenGLPerspectiveCameras,
    OrthographicCameras,
    PerspectiveCameras,
    PointLights,
    PointsRasterizationSettings,
    PointsRasterizer,
    RasterizationSettings,
    SfMOrthographicCameras,
    SfMPerspectiveCameras,
    SoftPhongShader,
    TexturesVertex,
    join_cameras_as_batch,
    look_at_view_transform,
)
from r3d.renderer.fisheyecameras import FishEyeCameras
from r3d.renderer.lighting import diffuse, specular
from r3d.renderer.utils import TensorProperties
from r3d.structures import Meshes, Pointclouds
from r3d.utils import cameras_from_opencv_projection, ico_sphere, opencv_from_cameras_projection

POINTS = torch.tensor([[0.1, 0.2, 3.0], [-0.5, 0.3, 5.0], [0.4, -0.6, 2.0]])


def _matrix(cameras) -> torch.Tensor:
    return cameras.get_projection_transform().get_matrix()


# ---- join_cameras_as_batch ---------------------------------------------------------------------


def test_join_cameras_as_batch_concatenates_the_parameters():
    R, T = look_at_view_transform(dist=3.0, elev=20.0, azim=30.0)
    one = FoVPerspectiveCameras(fov=30.0, R=R, T=T)
    two = FoVPerspectiveCameras(fov=torch.tensor([40.0, 50.0]), znear=0.5)
    joined = join_cameras_as_batch([one, two])
    assert type(joined) is FoVPerspectiveCameras and len(joined) == 3
    expected = FoVPerspectiveCameras(
        fov=torch.tensor([30.0, 40.0, 50.0]), znear=torch.tensor([1.0, 0.5, 0.5]),
        R=torch.cat([R, torch.eye(3).expand(2, 3, 3)]),
        T=torch.cat([T, torch.zeros(2, 3)]),
    )
    torch.testing.assert_close(joined.transform_points(POINTS), expected.transform_points(POINTS))


def test_join_screen_space_cameras_keeps_in_ndc_and_image_size():
    a = PerspectiveCameras(focal_length=40.0, principal_point=((16.0, 12.0),), in_ndc=False,
                           image_size=((24, 32),))
    b = PerspectiveCameras(focal_length=((50.0, 60.0),), principal_point=((15.0, 11.0),),
                           in_ndc=False, image_size=((24, 32),))
    joined = join_cameras_as_batch((a, b))
    assert not joined.in_ndc()
    torch.testing.assert_close(joined.image_size, torch.tensor([[24.0, 32.0]] * 2))
    torch.testing.assert_close(joined.transform_points_screen(POINTS)[1],
                               b.transform_points_screen(POINTS))


def test_join_cameras_as_batch_refuses_what_pytorch3d_refuses():
    cameras = FoVPerspectiveCameras()
    with pytest.raises(InputError, match="degrees"):
        join_cameras_as_batch([cameras, FoVPerspectiveCameras(degrees=False)])
    with pytest.raises(InputError, match="one class"):
        join_cameras_as_batch([cameras, FoVOrthographicCameras()])
    with pytest.raises(InputError, match="K is given for some"):
        join_cameras_as_batch([cameras, FoVPerspectiveCameras(K=torch.eye(4)[None])])
    with pytest.raises(ValueError, match="in_ndc"):  # InputError is a ValueError, as there
        join_cameras_as_batch([PerspectiveCameras(image_size=((8, 8),)),
                               PerspectiveCameras(in_ndc=False, image_size=((8, 8),))])


# ---- deprecated camera names -------------------------------------------------------------------


def test_opengl_cameras_are_the_fov_cameras_with_a_warning():
    with pytest.warns(PendingDeprecationWarning, match="FoVPerspectiveCameras"):
        cameras = OpenGLPerspectiveCameras(znear=0.5, zfar=50.0, aspect_ratio=1.5, fov=40.0)
    assert type(cameras) is FoVPerspectiveCameras
    expected = FoVPerspectiveCameras(znear=0.5, zfar=50.0, aspect_ratio=1.5, fov=40.0)
    torch.testing.assert_close(_matrix(cameras), _matrix(expected))
    # top, bottom, left and right are max_y, min_y, min_x and max_x
    with pytest.warns(PendingDeprecationWarning, match="FoVOrthographicCameras"):
        ortho = OpenGLOrthographicCameras(top=2.0, bottom=-1.0, left=-3.0, right=1.0)
    assert type(ortho) is FoVOrthographicCameras
    expected = FoVOrthographicCameras(max_y=2.0, min_y=-1.0, min_x=-3.0, max_x=1.0)
    torch.testing.assert_close(_matrix(ortho), _matrix(expected))


def test_sfm_cameras_are_the_ndc_cameras_with_a_warning():
    with pytest.warns(PendingDeprecationWarning, match="PerspectiveCameras"):
        cameras = SfMPerspectiveCameras(focal_length=2.0, principal_point=((0.1, -0.2),))
    assert type(cameras) is PerspectiveCameras and cameras.in_ndc()
    # x = f X / Z + px
    torch.testing.assert_close(cameras.transform_points(POINTS[:1])[0, :2],
                               torch.tensor([2 * 0.1 / 3 + 0.1, 2 * 0.2 / 3 - 0.2]))
    with pytest.warns(PendingDeprecationWarning, match="OrthographicCameras"):
        ortho = SfMOrthographicCameras(focal_length=((2.0, 3.0),))
    assert type(ortho) is OrthographicCameras
    torch.testing.assert_close(ortho.transform_points(POINTS[:1])[0, :2],
                               torch.tensor([0.2, 0.6]))


# ---- compute_projection_matrix -----------------------------------------------------------------


def test_compute_projection_matrix_by_hand():
    cameras = FoVPerspectiveCameras(znear=torch.tensor([1.0, 2.0]))
    # fov 90: tan(45 deg) = 1; n = 1, f = 3: f / (f - n) = 1.5, -f n / (f - n) = -1.5
    K = cameras.compute_projection_matrix(1.0, 3.0, 90.0, 2.0, True)
    expected = torch.tensor([[0.5, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 1.5, -1.5], [0.0, 0.0, 1.0, 0.0]])
    torch.testing.assert_close(K, expected.expand(2, 4, 4))
    torch.testing.assert_close(cameras.compute_projection_matrix(1.0, 3.0, math.pi / 2, 2.0,
                                                                 False), K)
    # the cameras' own parameters give their projection (column vectors)
    own = cameras.compute_projection_matrix(cameras.znear, cameras.zfar, cameras.fov,
                                            cameras.aspect_ratio, cameras.degrees)
    torch.testing.assert_close(own, _matrix(cameras).transpose(1, 2))
    ortho = FoVOrthographicCameras()
    # x in [-1, 3] -> 2 / 4 and -(3 - 1) / 4; y in [-2, 2]; z in [0, 10] scaled by 2
    K = ortho.compute_projection_matrix(0.0, 10.0, 3.0, -1.0, 2.0, -2.0,
                                        torch.tensor([[1.0, 1.0, 2.0]]))
    expected = torch.tensor([[0.5, 0.0, 0.0, -0.5], [0.0, 0.5, 0.0, 0.0],
                             [0.0, 0.0, 0.2, 0.0], [0.0, 0.0, 0.0, 1.0]])
    torch.testing.assert_close(K, expected[None])


def test_a_subclass_overriding_compute_projection_matrix_projects_with_it():
    class ZoomedCameras(FoVPerspectiveCameras):
        def compute_projection_matrix(self, znear, zfar, fov, aspect_ratio, degrees):
            K = super().compute_projection_matrix(znear, zfar, fov, aspect_ratio, degrees)
            K[:, :2] *= 2
            return K

    zoomed = ZoomedCameras().transform_points(POINTS)[:, :2]
    torch.testing.assert_close(zoomed, 2 * FoVPerspectiveCameras().transform_points(POINTS)[:, :2])


# ---- fisheye cameras ---------------------------------------------------------------------------


def test_fisheye_projection_by_hand():
    # (1, 0, 1): a = 1, r = 1, theta = pi / 4; the default model maps it to (theta, 0)
    point = torch.tensor([[1.0, 0.0, 1.0]])
    quarter = math.pi / 4
    torch.testing.assert_close(FishEyeCameras().transform_points(point),
                               torch.tensor([[quarter, 0.0, 1.0]]))
    # focal length and principal point: f uv + c
    cameras = FishEyeCameras(focal_length=torch.tensor([[2.0]]),
                             principal_point=torch.tensor([[0.1, -0.2]]))
    torch.testing.assert_close(cameras.transform_points(point),
                               torch.tensor([[2 * quarter + 0.1, -0.2, 1.0]]))
    # radial: theta (1 + k1 theta^2); tangential: u += (2 x^2 + rd2) p1 = 3 x^2 p1, v += 0;
    # thin prism: u += s1 rd2
    radial = torch.tensor([[0.1, 0.0, 0.0, 0.0, 0.0, 0.0]])
    x = quarter * (1 + 0.1 * quarter**2)
    cameras = FishEyeCameras(radial_params=radial, tangential_params=torch.tensor([[0.01, 0.0]]),
                             thin_prism_params=torch.tensor([[0.1, 0.0, 0.0, 0.0]]))
    expected = x + 3 * x * x * 0.01 + 0.1 * x * x
    torch.testing.assert_close(cameras.transform_points(point),
                               torch.tensor([[expected, 0.0, 1.0]]))
    # with use_radial=False the pinhole (a, b) is kept; the other terms are still those of x_r
    cameras = FishEyeCameras(radial_params=radial, use_radial=False,
                             thin_prism_params=torch.tensor([[0.1, 0.0, 0.0, 0.0]]))
    torch.testing.assert_close(cameras.transform_points(point),
                               torch.tensor([[1.0 + 0.1 * x * x, 0.0, 1.0]]))


def test_fisheye_unprojection_inverts_the_projection():
    cameras = FishEyeCameras(
        focal_length=torch.tensor([[2.0], [3.0]]), principal_point=torch.tensor([[0.1, -0.2]]),
        radial_params=torch.tensor([[0.02, -0.01, 0.003, 0.0, 0.001, 0.0]]),
        tangential_params=torch.tensor([[0.01, -0.02]]),
        thin_prism_params=torch.tensor([[0.003, 0.002, -0.001, 0.004]]),
    )
    projected = cameras.transform_points(POINTS)
    assert projected.shape == (2, 3, 3)
    # the point at depth 1 on the same ray, for each camera
    rays = cameras.unproject_points(projected)
    torch.testing.assert_close(rays, (POINTS / POINTS[:, 2:]).expand(2, 3, 3))
    # the principal point unprojects to the optical axis
    axis = FishEyeCameras().unproject_points(torch.tensor([[0.0, 0.0, 1.0]]))
    torch.testing.assert_close(axis, torch.tensor([[0.0, 0.0, 1.0]]))


def test_fisheye_world_coordinates_and_indexing():
    R, T = look_at_view_transform(dist=2.0, elev=10.0, azim=20.0)
    world = FishEyeCameras(R=R, T=T, world_coordinates=True)
    view = world.get_world_to_view_transform().transform_points(POINTS)
    torch.testing.assert_close(world.transform_points(POINTS),
                               FishEyeCameras().transform_points(view))
    pair = FishEyeCameras(focal_length=torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(pair[1].transform_points(POINTS),
                               FishEyeCameras(focal_length=2.0).transform_points(POINTS))
    torch.testing.assert_close(pair.focal, torch.tensor([[1.0], [2.0]]))


def test_fisheye_cameras_do_not_rasterize():
    rasterizer = MeshRasterizer(cameras=FishEyeCameras(),
                                raster_settings=RasterizationSettings(image_size=8))
    with pytest.raises(InputError, match="not a matrix"):
        rasterizer(ico_sphere(0))
    with pytest.raises(InputError, match="radial_params"):
        FishEyeCameras(radial_params=torch.zeros(1, 4))


# ---- OpenCV conversions from utils -------------------------------------------------------------


def test_opencv_conversions_from_utils_round_trip():
    R = torch.eye(3)[None]
    tvec = torch.tensor([[0.1, -0.2, 4.0]])
    K = torch.tensor([[[100.0, 0.0, 30.0], [0.0, 110.0, 20.0], [0.0, 0.0, 1.0]]])
    size = torch.tensor([[48, 64]])
    cameras = cameras_from_opencv_projection(R, tvec, K, size)
    # the OpenCV pixel of the world origin: K (R 0 + tvec) / z
    pixel = cameras.transform_points_screen(torch.zeros(1, 3))[0, :2]
    torch.testing.assert_close(pixel, torch.tensor([100 * 0.1 / 4 + 30, -110 * 0.2 / 4 + 20]))
    R2, tvec2, K2 = opencv_from_cameras_projection(cameras, size)
    torch.testing.assert_close((R2, tvec2, K2), (R, tvec, K))


# ---- light methods and functions ---------------------------------------------------------------


def _fragment_like(value, shape=(2, 4, 5, 1)) -> torch.Tensor:
    return torch.tensor(value).expand(*shape, 3)


def test_directional_light_diffuse_needs_no_points():
    normals = _fragment_like([0.0, 0.0, 1.0])
    lights = DirectionalLights(direction=[[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    out = lights.diffuse(normals)
    # light 1 is 45 degrees off the normal: 0.3 cos(45 deg)
    torch.testing.assert_close(out[0], torch.full((4, 5, 1, 3), 0.3))
    torch.testing.assert_close(out[1], torch.full((4, 5, 1, 3), 0.3 * math.cos(math.pi / 4)))
    torch.testing.assert_close(lights.diffuse(normals, points=torch.zeros(2, 4, 5, 1, 3)), out)


@pytest.mark.parametrize("shininess", [10.0, torch.tensor(10.0), torch.tensor([10.0])])
def test_specular_takes_a_number_or_0d_shininess(shininess):
    # light at 45 degrees, normal +z, viewer straight above: cos(45 deg) ** 10
    normals = _fragment_like([0.0, 0.0, 1.0])
    points = torch.zeros(2, 4, 5, 1, 3)
    lights = DirectionalLights(direction=[[1.0, 0.0, 1.0]])
    out = lights.specular(normals, points, torch.tensor([[0.0, 0.0, 5.0]]), shininess)
    torch.testing.assert_close(out, torch.full((2, 4, 5, 1, 3), 0.2 * math.cos(math.pi / 4) ** 10))


def test_point_lights_reshape_location():
    lights = PointLights(location=[[0.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    assert lights.reshape_location(torch.zeros(2, 4, 5, 1, 3)).shape == (2, 1, 1, 1, 3)
    assert lights.reshape_location(torch.zeros(2, 3)).shape == (2, 3)  # packed, after gather


def test_lighting_functions_in_pytorch3d_argument_order():
    # PyTorch3D's call: colours and directions (N, 3) against (N, H, W, K, 3) normals
    normals = _fragment_like([0.0, 0.0, 1.0])
    color = torch.tensor([[1.0, 0.5, 0.25], [0.1, 0.2, 0.3]])
    out = diffuse(normals=normals, color=color, direction=torch.tensor([[0.0, 0.0, 1.0]]))
    torch.testing.assert_close(out[1, 3, 4, 0], color[1])
    # specular(points, normals, direction, color, camera_position, shininess), positionally:
    # the viewer on the reflection of the light sees the light's colour
    out = specular(torch.zeros(2, 4, 5, 1, 3), normals, torch.tensor([[1.0, 0.0, 1.0]]), color,
                   torch.tensor([[-1.0, 0.0, 1.0]]), torch.tensor([10.0]))
    torch.testing.assert_close(out[0, 0, 0, 0], color[0])
    torch.testing.assert_close(out[1, 2, 3, 0], color[1])
    with pytest.raises(InputError, match="batch sizes"):
        diffuse(normals, torch.ones(3, 3), torch.ones(1, 3))


def test_lights_gathered_per_packed_vertex_as_in_gouraud_shading():
    # PyTorch3D's gouraud_shading pattern: lights.clone().gather_props(verts_packed_to_mesh_idx)
    meshes = Meshes(verts=[torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
                           torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                         [1.0, 1.0, 0.0]])],
                    faces=[torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 2], [1, 3, 2]])])
    lights = PointLights(diffuse_color=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                         location=[[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    gathered = lights.clone().gather_props(meshes.verts_packed_to_mesh_idx())
    assert gathered.location.shape == (7, 3) and len(gathered) == 2
    assert lights.location.shape == (2, 3)  # the clone was gathered, not the lights
    normals = torch.tensor([0.0, 0.0, 1.0]).expand(7, 3)
    out = gathered.diffuse(normals, meshes.verts_packed())
    # vertex 0 of each mesh sits right under its light
    torch.testing.assert_close(out[0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(out[3], torch.tensor([0.0, 1.0, 0.0]))
    # vertex (1, 0, 0) under the light at height 1: cos = 1 / sqrt(2)
    torch.testing.assert_close(out[1], torch.tensor([1 / math.sqrt(2), 0.0, 0.0]))
    cameras = FoVPerspectiveCameras(T=torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 2.0]]))
    assert cameras.clone().gather_props(meshes.verts_packed_to_mesh_idx()) \
        .get_camera_center().shape == (7, 3)


# ---- TensorProperties --------------------------------------------------------------------------


class Tint(TensorProperties):
    """A user's class, written as PyTorch3D's docs suggest."""

    def __init__(self, scale=1.0, offset=((0.0, 0.0, 0.0),), mode="add", device="cpu"):
        super().__init__(device=device, scale=scale, offset=offset, mode=mode)

    def clone(self):
        other = Tint(device=self.device)
        return super().clone(other)


def test_a_tensor_properties_subclass_broadcasts_its_arguments():
    tint = Tint(scale=torch.tensor([1.0, 2.0, 3.0]))
    assert len(tint) == 3 and not tint.isempty() and tint.mode == "add"
    assert tint.scale.shape == (3,) and tint.offset.shape == (3, 3)
    torch.testing.assert_close(tint.offset, torch.zeros(3, 3))
    assert Tint().scale.shape == (1,)  # a number is a batch of one
    assert TensorProperties().isempty()
    with pytest.raises(InputError, match="batch sizes"):
        Tint(scale=torch.ones(2), offset=torch.zeros(3, 3))


def test_tensor_properties_clone_index_gather_and_move():
    tint = Tint(scale=torch.tensor([1.0, 2.0]))
    copy = tint.clone()
    assert type(copy) is Tint and copy.mode == "add"
    copy.scale[0] = 5.0
    assert float(tint.scale[0]) == 1.0  # tensors are cloned
    tint[1].offset = [1.0, 2.0, 3.0]
    torch.testing.assert_close(tint.offset, torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]))
    assert float(tint[1].scale) == 2.0
    tint.gather_props(torch.tensor([1, 1, 0]))
    torch.testing.assert_close(tint.scale, torch.tensor([2.0, 2.0, 1.0]))
    assert tint.offset.shape == (3, 3)
    assert tint.to("cpu") is tint and tint.cpu() is tint  # in place, as in PyTorch3D
    assert tint.device == torch.device("cpu")


def test_lights_and_materials_are_tensor_properties():
    for props in (PointLights(), DirectionalLights(), AmbientLights(), Materials()):
        assert isinstance(props, TensorProperties) and not props.isempty()
        assert props.clone().ambient_color is not props.ambient_color
    # PyTorch3D's AmbientLights(ambient_color=None) is white
    torch.testing.assert_close(AmbientLights(ambient_color=None).ambient_color, torch.ones(1, 3))


# ---- C-channel materials and shading -----------------------------------------------------------

FEATURES = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5])


def _five_channel_render(shader_type, **shader_kwargs):
    mesh = ico_sphere(1)
    mesh.textures = TexturesVertex(
        verts_features=FEATURES.expand(1, mesh.verts_packed().shape[0], 5)
    )
    R, T = look_at_view_transform(dist=3.0)
    cameras = FoVPerspectiveCameras(R=R, T=T)
    rasterizer = MeshRasterizer(cameras=cameras,
                                raster_settings=RasterizationSettings(image_size=16))
    shader = shader_type(cameras=cameras, **shader_kwargs)
    return MeshRenderer(rasterizer, shader)(mesh)


@pytest.mark.parametrize("shader_type", [HardPhongShader, HardGouraudShader, HardFlatShader])
def test_five_channel_textures_under_five_channel_ambient_light(shader_type):
    materials = Materials(ambient_color=((0.5,) * 5,), diffuse_color=((0.2,) * 5,),
                          specular_color=((0.3,) * 5,))
    lights = AmbientLights(ambient_color=((0.8,) * 5,))
    image = _five_channel_render(shader_type, lights=lights, materials=materials,
                                 blend_params=BlendParams(background_color=(0.0,) * 5))
    assert image.shape == (1, 16, 16, 6)
    covered = image[..., 5] > 0
    assert 50 < int(covered.sum()) < 256
    # ambient light only: material ambient * light ambient * texel
    expected = (0.4 * FEATURES).expand(int(covered.sum()), 5)
    torch.testing.assert_close(image[covered][:, :5], expected)
    assert image[~covered][:, :5].abs().max() == 0


def test_c_channel_colours_need_matching_parts():
    materials = Materials(ambient_color=((0.5,) * 5,), diffuse_color=((0.2,) * 5,),
                          specular_color=((0.3,) * 5,))
    with pytest.raises(InputError, match="channel counts"):
        _five_channel_render(HardPhongShader, lights=PointLights(), materials=materials,
                             blend_params=BlendParams(background_color=(0.0,) * 5))
    with pytest.raises(InputError, match="channel counts"):
        _five_channel_render(HardPhongShader, lights=PointLights())
    with pytest.raises(InputError, match="same number of channels"):
        Materials(ambient_color=((0.5,) * 5,))


def test_one_channel_materials_broadcast_over_rgb():
    mesh = ico_sphere(1)
    mesh.textures = TexturesVertex(verts_features=torch.full((1, 42, 3), 0.7))
    R, T = look_at_view_transform(dist=3.0)
    cameras = FoVPerspectiveCameras(R=R, T=T)
    rasterizer = MeshRasterizer(cameras=cameras,
                                raster_settings=RasterizationSettings(image_size=16))

    def render(materials):
        return MeshRenderer(rasterizer, SoftPhongShader(cameras=cameras, materials=materials))(mesh)

    grey = Materials(ambient_color=((0.5,),), diffuse_color=((0.6,),), specular_color=((0.2,),))
    rgb = Materials(ambient_color=((0.5,) * 3,), diffuse_color=((0.6,) * 3,),
                    specular_color=((0.2,) * 3,))
    torch.testing.assert_close(render(grey), render(rgb))


# ---- bins of size 0 ----------------------------------------------------------------------------


def test_zero_faces_or_points_per_bin_is_accepted():
    mesh = ico_sphere(1)
    R, T = look_at_view_transform(dist=3.0)
    cameras = FoVPerspectiveCameras(R=R, T=T)

    def faces(**kw):
        settings = RasterizationSettings(image_size=32, **kw)
        return MeshRasterizer(cameras=cameras, raster_settings=settings)(mesh).pix_to_face

    torch.testing.assert_close(faces(max_faces_per_bin=0), faces())
    torch.testing.assert_close(faces(max_faces_per_bin=0, bin_size=8), faces())
    clouds = Pointclouds(points=[mesh.verts_packed()])

    def points(**kw):
        settings = PointsRasterizationSettings(image_size=32, radius=0.05, **kw)
        return PointsRasterizer(cameras=cameras, raster_settings=settings)(clouds).idx

    torch.testing.assert_close(points(max_points_per_bin=0), points())
    torch.testing.assert_close(points(max_points_per_bin=0, bin_size=8), points())
