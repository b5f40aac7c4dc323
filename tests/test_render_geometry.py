"""The geometry of a render: meshes placed, coloured and joined; view transforms of the cameras."""

import math
from pathlib import Path

import pytest
import torch

import r3d
from r3d.errors import InputError
from r3d.renderer import TexturesUV, TexturesVertex, get_world_to_view_transform
from r3d.scene.geometry import DEFAULT_COLOUR, load_meshes, view_transforms
from r3d.scene.run import build_lights
from r3d.scene.scene import CameraSpec, LightSpec, LookAt, MeshSpec, Outputs, Scene

DATA = Path(__file__).parent / "data"
COW = Path(r3d.__file__).parent / "assets" / "cow" / "cow.obj"
CPU = torch.device("cpu")


@pytest.fixture
def tri(tmp_path: Path) -> Path:
    path = tmp_path / "tri.obj"
    path.write_text("v 0 0 0\nv 2 0 0\nv 0 2 0\nf 1 2 3\n")
    return path


def test_transform_order_scale_rotate_translate(tri):
    quarter_z = ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))  # +X -> +Y
    spec = MeshSpec(file=tri, scale=(1.0, 3.0, 1.0), rotate=quarter_z, translate=(0.0, 0.0, 5.0))
    verts = load_meshes((spec,), CPU).verts_packed()
    want = torch.tensor([[0.0, 0.0, 5.0], [0.0, 2.0, 5.0], [-6.0, 0.0, 5.0]])
    torch.testing.assert_close(verts, want)


def test_normalize_centres_and_fits_the_unit_sphere(tri):
    verts = load_meshes((MeshSpec(file=tri, normalize=True),), CPU).verts_packed()
    lo, hi = verts.min(0).values, verts.max(0).values
    torch.testing.assert_close((lo + hi) / 2, torch.zeros(3))
    assert verts.norm(dim=1).max() == pytest.approx(1.0)


def test_plain_colours_and_default_grey(tri):
    mesh = load_meshes((MeshSpec(file=tri, colour=(1.0, 0.0, 0.5)), MeshSpec(file=tri)), CPU)
    assert len(mesh) == 1 and mesh.faces_packed().shape == (2, 3)
    assert isinstance(mesh.textures, TexturesVertex)
    colours = mesh.textures.verts_features_packed()
    torch.testing.assert_close(colours[:3], torch.tensor([[1.0, 0.0, 0.5]] * 3))
    torch.testing.assert_close(colours[3:], torch.tensor([DEFAULT_COLOUR] * 3))


def test_textured_cow_joins_plain_meshes_as_uv(tri):
    mesh = load_meshes((MeshSpec(file=COW), MeshSpec(file=tri, colour=(0.0, 1.0, 0.0))), CPU)
    assert isinstance(mesh.textures, TexturesUV)
    assert mesh.faces_packed().shape[0] == 5856 + 1


def test_texture_false_ignores_the_files_texture():
    mesh = load_meshes((MeshSpec(file=COW, texture=False),), CPU)
    assert isinstance(mesh.textures, TexturesVertex)


def test_textures_of_different_kinds_are_refused():
    specs = (MeshSpec(file=COW), MeshSpec(file=DATA / "cubevc.glb"))
    with pytest.raises(InputError, match="cow.obj, cubevc.glb have textures of different kinds"):
        load_meshes(specs, CPU)


def scene_with(cameras: CameraSpec, tri: Path) -> Scene:
    return Scene(meshes=(MeshSpec(file=tri),), cameras=cameras, outputs=Outputs(dir=Path(".")))


def test_turntable_views_circle_the_target(tri):
    cams = CameraSpec(turntable=LookAt(dist=2.0, elev=30.0, at=(0.0, 1.0, 0.0)), views=4)
    R, T = view_transforms(scene_with(cams, tri), CPU)
    assert R.shape == (4, 3, 3) and T.shape == (4, 3)
    centres = get_world_to_view_transform(R, T).inverse().transform_points(torch.zeros(4, 1, 3))
    centres = centres[:, 0]
    torch.testing.assert_close((centres - torch.tensor([0.0, 1.0, 0.0])).norm(dim=1),
                               torch.full((4,), 2.0))
    torch.testing.assert_close(centres[:, 1], torch.full((4,), 1.0 + 2.0 * math.sin(math.pi / 6)))
    assert len({tuple(c.round(decimals=4).tolist()) for c in centres}) == 4


def test_explicit_views_pass_through(tri):
    R = (((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),) * 2
    T = ((0.0, 0.0, 3.0), (1.0, 0.0, 3.0))
    got_R, got_T = view_transforms(scene_with(CameraSpec(R=R, T=T), tri), CPU)
    torch.testing.assert_close(got_R, torch.tensor(R))
    torch.testing.assert_close(got_T, torch.tensor(T))


def test_lights_following_the_camera(tri):
    cams = CameraSpec(turntable=LookAt(dist=2.0, elev=20.0), views=3)
    R, T = view_transforms(scene_with(cams, tri), CPU)
    centres = get_world_to_view_transform(R, T).inverse().transform_points(torch.zeros(3, 1, 3))
    head = build_lights(LightSpec(location=(0.0, 0.0, 0.0), follow_camera=True), R, T)
    torch.testing.assert_close(head.location, centres[:, 0])
    ahead = build_lights(LightSpec(type="directional", direction=(0.0, 0.0, 1.0),
                                   follow_camera=True), R, T)
    torch.testing.assert_close(ahead.direction, -centres[:, 0] / 2.0)  # towards the target
    fixed = build_lights(LightSpec(location=(1.0, 2.0, 3.0)), R, T)
    torch.testing.assert_close(fixed.location, torch.tensor([[1.0, 2.0, 3.0]] * 3))
