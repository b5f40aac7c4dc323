"""Scene files of ``r3d render``: parsing into dataclasses, and every kind of bad input."""

import math
from pathlib import Path

import pytest

from r3d.errors import FileFormatError, InputError
from r3d.scene.scene import (
    CameraSpec,
    LightSpec,
    LookAt,
    MaterialSpec,
    Outputs,
    framing_distance,
    load_scene,
    scene_for_mesh,
    with_overrides,
)

TRI = "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with a scene's mesh in a subfolder."""
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "tri.obj").write_text(TRI)
    return tmp_path


def write(folder: Path, text: str, name: str = "scene.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


MINIMAL = "meshes: [meshes/tri.obj]\ncameras: {turntable: {views: 3}}\n"


def test_minimal_scene_gets_defaults(folder):
    scene = load_scene(write(folder, MINIMAL))
    (mesh,) = scene.meshes
    assert mesh.file == folder / "meshes" / "tri.obj"
    assert mesh.scale == (1, 1, 1) and mesh.translate == (0, 0, 0) and mesh.colour is None
    assert scene.cameras.num_views() == 3
    assert [v.azim for v in scene.cameras.view_list()] == [0.0, 120.0, 240.0]
    assert scene.lights == LightSpec() and scene.material == MaterialSpec()
    assert scene.shader == "hard_phong" and scene.image_size == (256, 256)
    assert scene.outputs == Outputs(dir=folder / "render_scene")
    assert scene.device == "cpu" and scene.antialias == 1


def test_full_scene_to_dataclasses(folder):
    scene = load_scene(write(folder, """
meshes:
  - file: meshes/tri.obj
    normalize: true
    transform: {scale: [1, 2, 3], rotate: {axis: [0, 0, 2], angle: 90}, translate: [1, 0, 0]}
    colour: "#ff8000"
  - {file: meshes/tri.obj, texture: false, transform: {rotate: [90, 0, 0], scale: 2}}
cameras:
  fov: 40
  znear: 0.5
  zfar: 20
  look_at: [{dist: 3, elev: 10, azim: 30, at: [0, 1, 0]}, {dist: 4, up: [0, 0, 1]}]
lights: {type: directional, direction: [0, 0, -1], diffuse: [1, 1, 1], follow_camera: true}
material: {specular: [0.1, 0.1, 0.1], shininess: 10}
shader: soft_phong
image_size: [48, 64]
antialias: 2
background: [0, 0, 0]
outputs: {dir: out, png: false, gif: anim/spin.gif, fps: 5, depth: true, normal: true,
          silhouette: true}
device: cuda
"""))
    first, second = scene.meshes
    assert first.normalize and first.scale == (1.0, 2.0, 3.0) and first.translate == (1, 0, 0)
    assert first.colour == pytest.approx((1.0, 128 / 255, 0.0))
    # 90 degrees about +Z maps +X to +Y (column vectors: p' = R p)
    assert [r[0] for r in first.rotate] == pytest.approx([0.0, 1.0, 0.0], abs=1e-12)
    assert not second.texture and second.scale == (2.0, 2.0, 2.0)
    assert [r[1] for r in second.rotate] == pytest.approx([0.0, 0.0, 1.0], abs=1e-12)
    assert scene.cameras == CameraSpec(
        fov=40.0, znear=0.5, zfar=20.0,
        look_at=(LookAt(dist=3, elev=10, azim=30, at=(0, 1, 0)), LookAt(dist=4, up=(0, 0, 1))),
    )
    assert scene.cameras.num_views() == 2
    assert scene.lights == LightSpec(type="directional", direction=(0, 0, -1),
                                     diffuse=(1, 1, 1), follow_camera=True)
    assert scene.material == MaterialSpec(specular=(0.1, 0.1, 0.1), shininess=10)
    assert (scene.shader, scene.image_size, scene.antialias) == ("soft_phong", (48, 64), 2)
    assert scene.background == (0, 0, 0) and scene.device == "cuda"
    out = scene.outputs
    assert out.dir == folder / "out" and not out.png and out.fps == 5
    assert out.gif_path() == folder / "out" / "anim" / "spin.gif"
    assert out.depth and out.normal and out.silhouette


def test_explicit_cameras_broadcast(folder):
    scene = load_scene(write(folder, """
meshes: [meshes/tri.obj]
cameras: {R: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], T: [[0, 0, 3], [0, 0, 4]]}
"""))
    assert scene.cameras.num_views() == 2
    assert scene.cameras.R[0] == scene.cameras.R[1] == ((1, 0, 0), (0, 1, 0), (0, 0, 1))
    assert scene.cameras.T == ((0, 0, 3), (0, 0, 4))


def test_single_look_at_mapping_and_gif_true(folder):
    scene = load_scene(write(folder, """
meshes: [{file: meshes/tri.obj}]
cameras: {look_at: {dist: 2, azim: 45}}
lights: {type: ambient, ambient: [0.2, 0.2, 0.2]}
outputs: {gif: true}
"""))
    assert scene.cameras.look_at == (LookAt(dist=2, azim=45),)
    assert scene.lights.type == "ambient" and scene.lights.ambient == (0.2, 0.2, 0.2)
    assert scene.outputs.gif_path() == folder / "render_scene" / "turntable.gif"


def test_relative_paths_resolve_against_the_scene_folder(folder, monkeypatch, tmp_path_factory):
    scene_path = write(folder, MINIMAL + "outputs: {dir: ../renders/x}\n")
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    scene = load_scene(scene_path)
    assert scene.meshes[0].file == folder / "meshes" / "tri.obj"
    assert scene.outputs.dir == (folder.parent / "renders" / "x").resolve()


def test_absolute_mesh_path(folder, tmp_path_factory):
    other = tmp_path_factory.mktemp("other") / "t.obj"
    other.write_text(TRI)
    scene = load_scene(write(folder, f"meshes: ['{other}']\ncameras: {{turntable: {{}}}}\n"))
    assert scene.meshes[0].file == other and scene.cameras.num_views() == 8


@pytest.mark.parametrize("text, message", [
    ("meshs: []", "unknown key 'meshs'; did you mean 'meshes'?"),
    ("cameras: {turntable: {viewz: 3}}",
     "unknown key 'viewz' in cameras.turntable; did you mean 'views'?"),
    ("meshes: [{file: meshes/tri.obj, trasform: {}}]",
     "unknown key 'trasform' in meshes[0]; did you mean 'transform'?"),
    ("outputs: {gfi: a.gif}", "unknown key 'gfi' in outputs; did you mean 'gif'?"),
    ("lights: {typ: point}", "unknown key 'typ' in lights; did you mean 'type'?"),
    ("zzz: 1", "unknown key 'zzz'; valid keys: meshes, pointclouds, volumes, cameras,"),
])
def test_unknown_key_names_it_and_suggests(folder, text, message):
    lines = [line for line in MINIMAL.splitlines() if line.split(":")[0] != text.split(":")[0]]
    path = write(folder, "\n".join([*lines, text]))
    with pytest.raises(InputError) as info:
        load_scene(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("cameras: {turntable: {views: x}}", "cameras.turntable.views must be a positive int, got 'x'"),
    ("cameras: {turntable: {views: 0}}", "cameras.turntable.views must be a positive int, got 0"),
    ("cameras: {turntable: {views: true}}", "cameras.turntable.views must be a positive int"),
    ("cameras: {turntable: {dist: -1}}", "cameras.turntable.dist must be a positive number"),
    ("cameras: {fov: 180, turntable: {}}", "cameras.fov must be a field of view in degrees"),
    ("cameras: {zfar: 0.01, turntable: {}}", "cameras.zfar must be greater than znear (0.1)"),
    ("cameras: {turntable: {at: [0, 0]}}", "cameras.turntable.at must be a list of 3 numbers"),
    ("cameras: {look_at: [{dist: 1}, 3]}", "cameras.look_at[1] must be a mapping"),
    ("cameras: {turntable: {}, look_at: {}}", "cameras must have exactly one of turntable"),
    ("cameras: {R: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}", "cameras must have exactly one of"),
    ("cameras: {R: [[1, 0], [0, 1]], T: [0, 0, 1]}", "cameras.R must be a 3x3 rotation matrix"),
    ("cameras: {}", "cameras must have exactly one of turntable, look_at, or R and T; got none"),
    ("cameras: 3", "cameras must be a mapping"),
    ("meshes: 3", "meshes must be a non-empty list, got 3"),
    ("meshes: []", "meshes must be a non-empty list"),
    ("meshes: [{normalize: true}]", "meshes[0].file is required"),
    ("meshes: [{file: meshes/tri.obj, normalize: 1}]", "meshes[0].normalize must be true or false"),
    ("meshes: [{file: meshes/tri.obj, colour: [1, 2, 3]}]", "meshes[0].colour must be an RGB"),
    ("meshes: [{file: meshes/tri.obj, colour: '#12'}]", "meshes[0].colour must be an RGB"),
    ("meshes: [{file: meshes/tri.obj, transform: {scale: 0}}]",
     "meshes[0].transform.scale must be a positive number or a list of 3"),
    ("meshes: [{file: meshes/tri.obj, transform: {rotate: {euler: [1, 2, 3], "
     "convention: XXY}}}]", "meshes[0].transform.rotate.convention must be 3 letters"),
    ("meshes: [{file: meshes/tri.obj, transform: {rotate: {axis: [0, 0, 0], angle: 9}}}]",
     "meshes[0].transform.rotate.axis must be a non-zero vector"),
    ("meshes: [{file: meshes/tri.obj, transform: {rotate: {angle: 9}}}]",
     "meshes[0].transform.rotate must give either euler"),
    ("meshes: [{file: scene.yaml}]", "meshes[0].file must be a mesh file"),
    ("shader: hard_phog", "shader must be one of hard_phong, soft_phong"),
    ("image_size: [1, 2, 3]", "image_size must be an int or [H, W] of ints > 0, got [1, 2, 3]"),
    ("image_size: -4", "image_size must be an int or [H, W]"),
    ("antialias: 1.5", "antialias must be a positive int, got 1.5"),
    ("background: white", "background must be an RGB colour"),
    ("lights: {type: spot}", "lights.type must be one of point, directional, ambient"),
    ("lights: {location: [0, 0]}", "lights.location must be a list of 3 numbers"),
    ("lights: {type: point, direction: [0, 0, 1]}",
     "lights.direction applies to directional lights, not to point lights"),
    ("lights: {type: ambient, location: [0, 0, 1]}",
     "lights.location applies to point lights, not to ambient lights"),
    ("material: {shininess: -1}", "material.shininess must be a positive number, got -1"),
    ("outputs: {gif: anim.png}", "outputs.gif must be true, false or a file name ending in .gif"),
    ("outputs: {png: yes please}", "outputs.png must be true or false"),
    ("outputs: []", "outputs must be a mapping"),
    ("device: 0", "device must be a non-empty string, got 0"),
])
def test_wrong_types_name_the_key_path(folder, text, message):
    lines = [line for line in MINIMAL.splitlines() if line.split(":")[0] != text.split(":")[0]]
    path = write(folder, "\n".join([*lines, text]))
    with pytest.raises(InputError, match=None) as info:
        load_scene(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_shader_near_miss_is_suggested(folder):
    with pytest.raises(InputError, match="did you mean 'hard_phong'"):
        load_scene(write(folder, MINIMAL + "shader: hard_phog\n"))


def test_missing_mesh_file_is_named(folder):
    path = write(folder, "meshes: [{file: meshes/nope.obj}]\ncameras: {turntable: {}}\n")
    with pytest.raises(FileNotFoundError) as info:
        load_scene(path)
    message = str(info.value)
    assert str(folder / "meshes" / "nope.obj") in message and "meshes[0].file" in message


def test_missing_scene_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.yaml: no such file"):
        load_scene(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text, message", [
    ("meshes: [a\n", "not valid YAML"),
    ("- a\n- b\n", "the document must be a mapping of keys at the top level"),
    ("", "the document must be a mapping"),
    ("a: !!python/object:os.system {}\n", "not valid YAML"),  # safe_load only
])
def test_bad_documents(folder, text, message):
    with pytest.raises((InputError, FileFormatError), match=message):
        load_scene(write(folder, text))


def test_scene_for_mesh_defaults(folder):
    scene = scene_for_mesh(folder / "meshes" / "tri.obj", out=folder / "o")
    assert scene.meshes[0].normalize and scene.cameras.num_views() == 8
    assert scene.cameras.turntable.elev == 15 and scene.cameras.turntable.azim == 180
    assert scene.outputs.png and scene.outputs.gif_path() == folder / "o" / "turntable.gif"
    # a unit sphere seen from this distance fills the view with a small margin
    half = math.degrees(math.asin(1 / scene.cameras.turntable.dist))
    assert 0.8 * 30 < half < 30


def test_scene_for_missing_mesh(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.obj: no such file"):
        scene_for_mesh(tmp_path / "nope.obj", out=tmp_path)


def test_overrides(folder, monkeypatch):
    scene = load_scene(write(folder, MINIMAL))
    monkeypatch.chdir(folder / "meshes")
    changed = with_overrides(scene, out="here", views=5, size=32, device="cuda")
    assert changed.outputs.dir == folder / "meshes" / "here"
    assert changed.cameras.num_views() == 5 and changed.image_size == (32, 32)
    assert changed.device == "cuda" and changed.meshes == scene.meshes
    assert with_overrides(scene) == scene


def test_views_override_needs_a_turntable(folder):
    scene = load_scene(write(folder, "meshes: [meshes/tri.obj]\ncameras: {look_at: {}}\n"))
    with pytest.raises(InputError, match="--views applies to turntable cameras"):
        with_overrides(scene, views=3)


def test_recipe_parses():
    recipe = Path(__file__).parents[1] / "recipes" / "render_turntable.yaml"
    scene = load_scene(recipe)
    assert scene.meshes[0].file.samefile(Path(__file__).parents[1] / "r3d/assets/cow/cow.obj")
    assert scene.cameras.num_views() == 12 and scene.image_size == (256, 256)
    assert scene.outputs.gif is not None and scene.outputs.png and scene.outputs.depth


def test_framing_distance():
    assert framing_distance(60.0, margin=1.0) == pytest.approx(2.0)
