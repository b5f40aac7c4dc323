"""The up axis of a rendered file (``up`` in scenes, ``r3d render --up``), and textures that
repeat (BoxTextured) rendered with their image's colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import InputError
from r3d.io import IO, save_ply, save_stl
from r3d.scene.geometry import load_meshes, load_pointclouds, place_points
from r3d.scene.scene import MeshSpec, PointcloudSpec, load_scene, scene_for_mesh, with_overrides
from r3d.scene.up import UP_AXES, check_up, resolve_up, up_rotation

DATA = Path(__file__).parent / "data"
CPU = torch.device("cpu")
runner = CliRunner()
AXES = {"+x": [1.0, 0, 0], "-x": [-1.0, 0, 0], "+y": [0, 1.0, 0], "-y": [0, -1.0, 0],
        "+z": [0, 0, 1.0], "-z": [0, 0, -1.0]}


@pytest.mark.parametrize("up", list(AXES))
def test_each_up_axis_turns_into_plus_y_by_a_rotation(up):
    rotation = torch.tensor(up_rotation(up))
    torch.testing.assert_close(rotation @ torch.tensor(AXES[up]), torch.tensor([0.0, 1, 0]))
    torch.testing.assert_close(rotation @ rotation.T, torch.eye(3))
    assert torch.det(rotation) == pytest.approx(1.0)  # faces keep their winding


def test_z_up_turns_the_usual_way():
    # (x, y, z) -> (x, z, -y): a Z-up file's front (-Y) faces +Z
    points = place_points(torch.tensor([[1.0, 2.0, 3.0]]), MeshSpec(file=Path("x"), up="+z"))
    torch.testing.assert_close(points, torch.tensor([[1.0, 3.0, -2.0]]))


def test_auto_is_plus_y_and_values_are_checked():
    assert resolve_up("auto") == "+y" and resolve_up("-z") == "-z"
    assert check_up(" +Z ") == "+z" and set(UP_AXES) == {"auto", *AXES}
    for bad in ("z", "up", "+w", None, 1):
        with pytest.raises(InputError, match="must be one of auto, \\+y"):
            check_up(bad)


def test_teapot_with_up_z_stands_on_plus_y():
    raw = IO().load_mesh(DATA / "teapot.stl").verts_packed()
    turned = load_meshes((MeshSpec(file=DATA / "teapot.stl", up="+z"),), CPU).verts_packed()
    extent = lambda v: v.amax(0) - v.amin(0)  # noqa: E731
    # its height (Z in the file) is now along Y, and its base (z = 0.87) is at the bottom
    assert extent(turned)[1] == pytest.approx(float(extent(raw)[2]))
    assert float(turned[:, 1].min()) == pytest.approx(float(raw[:, 2].min()))
    upside_down = load_meshes((MeshSpec(file=DATA / "teapot.stl", up="-z"),), CPU)
    assert float(upside_down.verts_packed()[:, 1].max()) == pytest.approx(-float(raw[:, 2].min()))


def test_point_clouds_and_their_normals_turn_too(tmp_path):
    path = tmp_path / "p.ply"
    save_ply(path, torch.tensor([[0.0, 0, 2], [1, 0, 0]]),
             verts_normals=torch.tensor([[0.0, 0, 1], [1, 0, 0]]))
    cloud = load_pointclouds((PointcloudSpec(file=path, up="+z"),), CPU, normals=True)
    torch.testing.assert_close(cloud.points_packed(), torch.tensor([[0.0, 2, 0], [1, 0, 0]]))
    torch.testing.assert_close(cloud.normals_packed(), torch.tensor([[0.0, 1, 0], [1, 0, 0]]))


def test_scene_key_up(tmp_path):
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    cameras = "cameras: {turntable: {views: 1}}\n"
    scene = tmp_path / "s.yaml"
    scene.write_text("meshes: [{file: tri.obj, up: -X}]\n" + cameras)
    assert load_scene(scene).meshes[0].up == "-x"
    scene.write_text("pointclouds: [{sample: tri.obj, points: 10, up: +z}]\n" + cameras)
    assert load_scene(scene).pointclouds[0].up == "+z"
    scene.write_text("meshes: [{file: tri.obj, up: z}]\n" + cameras)
    with pytest.raises(InputError, match="meshes\\[0\\].up must be one of auto"):
        load_scene(scene)


def test_up_override_replaces_every_entrys():
    scene = scene_for_mesh(DATA / "teapot.stl", "out")
    assert scene.meshes[0].up == "auto"
    assert with_overrides(scene, up="+Z").meshes[0].up == "+z"
    with pytest.raises(InputError, match="--up must be one of"):
        with_overrides(scene, up="sideways")


def _pyramid(path: Path) -> Path:
    """A Z-up square pyramid: base 1 x 1 at z = 0, apex at z = 2."""
    verts = torch.tensor([[-0.5, -0.5, 0], [0.5, -0.5, 0], [0.5, 0.5, 0], [-0.5, 0.5, 0],
                          [0, 0, 2.0]])
    faces = torch.tensor([[0, 2, 1], [0, 3, 2], [0, 1, 4], [1, 2, 4], [2, 3, 4], [3, 0, 4]])
    save_stl(path, verts, faces)
    return path


def _silhouette(png: Path) -> np.ndarray:
    """(H, W) bool: the pixels that are not the turntable's background grey."""
    image = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    return np.abs(image - round(0.96 * 255)).max(axis=-1) > 6


def _render(tmp_path: Path, source: Path, *args: str) -> Path:
    out = tmp_path / f"r{len(list(tmp_path.iterdir()))}"
    result = runner.invoke(app, ["render", str(source), "--out", str(out), "--views", "1",
                                 "--size", "64", *args])
    assert result.exit_code == 0, result.output
    return out / "view_000.png"


def test_render_up_z_stands_a_z_up_file_upright(tmp_path):
    pyramid = _pyramid(tmp_path / "pyramid.stl")
    shapes = {}
    for up in ("+z", "-z", "auto"):
        mask = _silhouette(_render(tmp_path, pyramid, "--up", up))
        rows, cols = np.nonzero(mask)
        widths = mask.sum(axis=1)[rows.min(): rows.max() + 1]
        shapes[up] = (np.ptp(rows) + 1, np.ptp(cols) + 1, widths[: len(widths) // 4].mean(),
                      widths[-len(widths) // 4:].mean())
    height, width, top, bottom = shapes["+z"]
    assert height > 1.4 * width and top < 0.5 * bottom  # tall, apex up
    height, width, top, bottom = shapes["-z"]
    assert height > 1.4 * width and bottom < 0.5 * top  # tall, apex down
    height, width, _, _ = shapes["auto"]
    assert height < 1.2 * width  # lying on its side: the apex points at the camera


@pytest.mark.parametrize("value", ["z", "up", "+q"])
def test_render_bad_up_exits_2_with_one_line(tmp_path, value):
    result = runner.invoke(app, ["render", str(_pyramid(tmp_path / "p.stl")), "--up", value,
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--up must be one of auto, +y" in lines[0], result.output


def test_box_textured_renders_its_image_not_flat_grey(tmp_path):
    """BoxTextured's UVs run 0..6 with REPEAT: clamped, every face would show the image's
    grey edge; repeated, each face shows the blue and green logo."""
    png = _render(tmp_path, DATA / "BoxTextured.glb")
    image = np.asarray(Image.open(png).convert("RGB")) / 255.0
    box = image[_silhouette(png)]
    texture = IO().load_mesh(DATA / "BoxTextured.glb").textures.maps_list()[0].reshape(-1, 3)
    texture = texture.numpy()

    def shares(rgb: np.ndarray) -> tuple[float, float]:
        blue = (rgb[:, 2] > rgb[:, 0] + 0.15).mean()
        green = (rgb[:, 1] > rgb[:, 2] + 0.1).mean()
        return blue, green

    blue, green = shares(box)
    want_blue, want_green = shares(texture)
    assert abs(blue - want_blue) < 0.12 and abs(green - want_green) < 0.12, (blue, green)
    assert blue > 0.15 and green > 0.1
