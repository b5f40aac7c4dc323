"""``r3d render`` of point clouds: scene keys, clouds read, sampled, placed and joined, splat
renders with their colours, background and maps, the CLI on a cloud file, and the recipe."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import r3d
from r3d.cli.main import app
from r3d.errors import FileFormatError, InputError
from r3d.io import IO
from r3d.runs.outdir import MARKER
from r3d.scene.geometry import DEFAULT_COLOUR, load_pointclouds, place_points
from r3d.scene.run import render_scene
from r3d.scene.scene import (
    CameraSpec,
    LookAt,
    Outputs,
    PointcloudSpec,
    PointsSpec,
    Scene,
    load_scene,
    scene_for_file,
    scene_for_pointcloud,
)
from r3d.structures import Pointclouds

ROOT = Path(__file__).parents[1]
RECIPE = ROOT / "recipes" / "render_pointcloud.yaml"
COW = Path(r3d.__file__).parent / "assets" / "cow" / "cow.obj"
DATA = Path(__file__).parent / "data"
CPU = torch.device("cpu")
RED = (230 / 255, 51 / 255, 26 / 255)  # exact in 8-bit images
BACKGROUND = (0.0, 0.2, 0.4)
runner = CliRunner()


def grid(n: int = 20) -> torch.Tensor:
    """n * n points on the square [-0.5, 0.5]^2 of the plane z = 0."""
    t = torch.linspace(-0.5, 0.5, n)
    x, y = torch.meshgrid(t, t, indexing="ij")
    return torch.stack([x.flatten(), y.flatten(), torch.zeros(n * n)], dim=1)


def save_cloud(path: Path, points: torch.Tensor, colour=None, normals: bool = False) -> Path:
    rgb = None if colour is None else [torch.tensor(colour).expand(points.shape[0], 3)]
    nrm = [torch.tensor([0.0, 0.0, 1.0]).expand(points.shape[0], 3)] if normals else None
    IO().save_pointcloud(Pointclouds([points], normals=nrm, features=rgb), path)
    return path


@pytest.fixture
def cloud(tmp_path: Path) -> Path:
    """400 red points in a square facing +Z, with normals (0, 0, 1), in a PLY without faces."""
    return save_cloud(tmp_path / "square.ply", grid(), RED, normals=True)


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def write(folder: Path, text: str, name: str = "scene.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


# ---- scene files -------------------------------------------------------------------------------


def test_pointcloud_scene_to_dataclasses(cloud):
    scene = load_scene(write(cloud.parent, """
pointclouds:
  - square.ply
  - {file: square.ply, normalize: true, colour: "#00ff00",
     transform: {scale: 2, rotate: {axis: [0, 1, 0], angle: 90}, translate: [1, 0, 0]}}
  - {sample: cow.obj, points: 1000, seed: 3}
points: {radius: 0.02, points_per_pixel: 4, compositor: norm_weighted}
cameras: {turntable: {views: 2}}
""".replace("cow.obj", str(COW))))
    bare, placed, sampled = scene.pointclouds
    assert scene.meshes == () and scene.points == PointsSpec(0.02, 4, "norm_weighted")
    assert bare == PointcloudSpec(file=cloud)
    assert placed.normalize and placed.colour == (0.0, 1.0, 0.0) and placed.scale == (2, 2, 2)
    assert placed.translate == (1, 0, 0)
    assert placed.rotate[0] == pytest.approx((0.0, 0.0, 1.0), abs=1e-12)  # +Z -> +X
    assert sampled.sample and sampled.file == COW and (sampled.points, sampled.seed) == (1000, 3)


def test_points_defaults(cloud):
    scene = load_scene(write(cloud.parent, "pointclouds: [square.ply]\n"
                                           "cameras: {turntable: {}}\n"))
    assert scene.points == PointsSpec() and scene.points.compositor == "alpha"
    assert scene.pointclouds[0].sample is False


CLOUD_SCENE = "pointclouds: [square.ply]\ncameras: {turntable: {views: 1}}\n"


@pytest.mark.parametrize("text, message", [
    ("meshes: [square.ply]", "a scene must have one of meshes, pointclouds or volumes (a list "
                             "of them), got meshes and pointclouds"),
    ("pointclouds: null", "a scene must have one of meshes, pointclouds or volumes (a list of "
                          "them), got none"),
    ("pointclouds: []", "pointclouds must be a non-empty list"),
    ("pointclouds: [{file: square.ply, sample: square.ply}]",
     "pointclouds[0] must give either file (a point cloud file) or sample (a mesh file to draw "
     "points on), got both"),
    ("pointclouds: [{normalize: true}]", "pointclouds[0] must give either file"),
    ("pointclouds: [{file: square.ply, points: 10}]",
     "pointclouds[0].points applies to points sampled on a mesh (sample:)"),
    ("pointclouds: [{file: square.ply, sampel: 1}]",
     "unknown key 'sampel' in pointclouds[0]; did you mean 'sample'?"),
    ("pointclouds: [{file: square.ply, colour: [2, 0, 0]}]",
     "pointclouds[0].colour must be an RGB colour"),
    ("pointclouds: [{file: square.ply, transform: {scale: -1}}]",
     "pointclouds[0].transform.scale must be a positive number"),
    ("pointclouds: [{file: square.stl}]", "pointclouds[0].file must be a point cloud file"),
    ("pointclouds: [{sample: scene.yaml}]", "pointclouds[0].sample must be a mesh file"),
    ("pointclouds: [{sample: square.ply, points: 0}]",
     "pointclouds[0].points must be a positive int, got 0"),
    ("pointclouds: [{sample: square.ply, seed: -1}]",
     "pointclouds[0].seed must be an int >= 0, got -1"),
    ("points: {radius: 0}", "points.radius must be a positive number, got 0"),
    ("points: {points_per_pixel: 2.5}", "points.points_per_pixel must be a positive int"),
    ("points: {compositor: over}", "points.compositor must be one of alpha, norm_weighted"),
    ("points: {raduis: 0.1}", "unknown key 'raduis' in points; did you mean 'radius'?"),
    ("shader: soft_phong", "shader applies to meshes only; point clouds are drawn unlit"),
    ("lights: {type: ambient}", "lights applies to meshes and volumes; point clouds are drawn"),
    ("material: {shininess: 3}", "material applies to meshes and volumes"),
    ("volume: {density_scale: 3}", "volume (ray marching settings) applies to volumes"),
    ("antialias: 2", "antialias applies to meshes only"),
])
def test_bad_pointcloud_scenes(cloud, text, message):
    (cloud.parent / "square.stl").write_text("solid x\nendsolid x\n")
    lines = [line for line in CLOUD_SCENE.splitlines() if line.split(":")[0] != text.split(":")[0]]
    path = write(cloud.parent, "\n".join([*lines, text]))
    with pytest.raises(InputError) as info:
        load_scene(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_points_section_with_meshes_is_refused(tmp_path):
    (tmp_path / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    path = write(tmp_path, "meshes: [tri.obj]\ncameras: {turntable: {}}\npoints: {radius: 1}\n")
    with pytest.raises(InputError, match="points .splat settings. applies to pointclouds, not to "
                                         "meshes"):
        load_scene(path)


def test_missing_cloud_file_is_named(tmp_path):
    path = write(tmp_path, "pointclouds: [{sample: gone.obj}]\ncameras: {turntable: {}}\n")
    with pytest.raises(FileNotFoundError) as info:
        load_scene(path)
    assert str(tmp_path / "gone.obj") in str(info.value) and "pointclouds[0].sample" in str(
        info.value)


# ---- geometry ----------------------------------------------------------------------------------


def test_clouds_are_placed_coloured_and_joined(cloud, tmp_path):
    plain = save_cloud(tmp_path / "plain.ply", grid(3))  # no colours, no normals
    quarter_y = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))  # +Z -> +X
    specs = (
        PointcloudSpec(file=cloud, scale=(2.0, 2.0, 2.0), rotate=quarter_y,
                       translate=(0.0, 0.0, 5.0)),
        PointcloudSpec(file=cloud, colour=(0.0, 1.0, 0.0)),
        PointcloudSpec(file=plain, normalize=True),
    )
    joined = load_pointclouds(specs, CPU)
    assert len(joined) == 1 and joined.points_packed().shape == (400 + 400 + 9, 3)
    assert joined.normals_packed() is None  # plain.ply has none
    colours = joined.features_packed()
    torch.testing.assert_close(colours[:400], torch.tensor([RED] * 400))
    torch.testing.assert_close(colours[400:800], torch.tensor([[0.0, 1.0, 0.0]] * 400))
    torch.testing.assert_close(colours[800:], torch.tensor([DEFAULT_COLOUR] * 9))
    first = joined.points_packed()[:400]
    torch.testing.assert_close(first, place_points(grid(), specs[0]))
    torch.testing.assert_close(first[:, 0], torch.zeros(400))  # the square turned to face +X
    assert float(first[:, 2].min()) == pytest.approx(4.0) and float(first[:, 2].max()) == 6.0
    last = joined.points_packed()[800:]
    assert float(last.norm(dim=1).max()) == pytest.approx(1.0)  # normalised


def test_normals_follow_the_rotation(cloud):
    quarter_y = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (-1.0, 0.0, 0.0))
    joined = load_pointclouds((PointcloudSpec(file=cloud, rotate=quarter_y,
                                              scale=(3.0, 1.0, 0.5)),), CPU)
    torch.testing.assert_close(joined.normals_packed(), torch.tensor([[1.0, 0.0, 0.0]] * 400))


def test_normal_maps_need_normals(tmp_path):
    plain = save_cloud(tmp_path / "plain.ply", grid(3))
    with pytest.raises(InputError, match="normal maps are for meshes and for point clouds with "
                                         "normals, and .*plain.ply has none"):
        load_pointclouds((PointcloudSpec(file=plain),), CPU, normals=True)


def test_empty_cloud_file_is_refused(tmp_path):
    empty = tmp_path / "empty.ply"
    empty.write_text("ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\n"
                     "property float y\nproperty float z\nend_header\n")
    with pytest.raises(FileFormatError, match="empty.ply: .*no (vertices|points)"):
        load_pointclouds((PointcloudSpec(file=empty),), CPU)


def test_sampled_cow_is_seeded_coloured_and_has_normals():
    spec = PointcloudSpec(file=COW, sample=True, points=2000, seed=1, normalize=True)
    a, b = load_pointclouds((spec,), CPU), load_pointclouds((spec,), CPU)
    torch.testing.assert_close(a.points_packed(), b.points_packed())
    assert a.points_packed().shape == (2000, 3)
    assert float(a.points_packed().norm(dim=1).max()) <= 1.0 + 1e-5
    assert a.features_packed().std(dim=0).min() > 0.05  # the texture's colours, not one grey
    torch.testing.assert_close(a.normals_packed().norm(dim=1), torch.ones(2000))
    other = load_pointclouds((PointcloudSpec(file=COW, sample=True, points=2000, seed=2),), CPU)
    assert not torch.equal(other.points_packed(), a.points_packed())
    grey = load_pointclouds((PointcloudSpec(file=COW, sample=True, points=10,
                                            colour=(0.5, 0.5, 0.5)),), CPU)
    torch.testing.assert_close(grey.features_packed(), torch.full((10, 3), 0.5))


# ---- renders -----------------------------------------------------------------------------------


def square_scene(cloud: Path, out: Path, compositor: str = "alpha", **outputs) -> Scene:
    """The red square seen face on from 3 and 4 away (it covers about a third, then a fifth of
    a 32 x 40 image), drawn with large discs, so that those that meet at each pixel of its
    inside cover it fully."""
    return Scene(
        meshes=(),
        pointclouds=(PointcloudSpec(file=cloud),),
        points=PointsSpec(radius=0.15, points_per_pixel=32, compositor=compositor),
        cameras=CameraSpec(fov=30.0, look_at=(LookAt(dist=3.0), LookAt(dist=4.0))),
        outputs=Outputs(dir=out, **outputs),
        image_size=(32, 40),
        background=BACKGROUND,
    )


@pytest.mark.parametrize("compositor", ["alpha", "norm_weighted"])
def test_points_render_in_their_colour_over_the_background(cloud, tmp_path, compositor):
    out = tmp_path / "out"
    summary = render_scene(square_scene(cloud, out, compositor, silhouette=True, depth=True,
                                        normal=True, gif=Path("spin.gif")))
    assert summary["points"] == 400 and summary["compositor"] == compositor
    assert "shader" not in summary and summary["views"] == 2
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, "cameras.json", "report.html", "spin.gif"] + [f"{kind}_{i:03d}.png" for kind in
                                        ("view", "depth", "normal", "silhouette") for i in (0, 1)])
    red = np.round(np.array(RED) * 255)
    bg = np.round(np.array(BACKGROUND) * 255)
    for view in (0, 1):
        rgb = pixels(out / f"view_{view:03d}.png").astype(int)
        mask = pixels(out / f"silhouette_{view:03d}.png") > 127
        assert rgb.shape == (32, 40, 3) and 0.1 < mask.mean() < 0.5
        assert (rgb[~mask] == bg).all()  # empty pixels: exactly the background
        inner = mask.copy()  # covered pixels at least 3 pixels inside the covered area
        for _ in range(3):
            inner = inner & np.roll(inner, 1, 0) & np.roll(inner, -1, 0) \
                & np.roll(inner, 1, 1) & np.roll(inner, -1, 1)
        assert inner.sum() > 30
        assert (np.abs(rgb[inner] - red) <= 2).all()  # the points' colour
        if compositor == "norm_weighted":  # an average of one colour: every covered pixel
            assert (np.abs(rgb[mask] - red) <= 1).all()
        else:  # soft disc edges blend into the background
            assert (np.abs(rgb[mask] - red).max(axis=1) > 2).any()
        depth = pixels(out / f"depth_{view:03d}.png")
        assert depth.dtype == np.uint16 and ((depth > 0) == mask).all()
        near, far = summary["depth_range"][view]
        dist = 3.0 + view
        assert dist - 1e-3 < near <= far < dist + 1e-3  # the square faces the camera
        normal = pixels(out / f"normal_{view:03d}.png").astype(int)
        assert (normal[~mask] == 0).all()
        assert (np.abs(normal[mask] - [128, 128, 255]) <= 1).all()  # (0, 0, 1) as colours
    with Image.open(out / "spin.gif") as gif:
        assert gif.n_frames == 2


def test_sampled_cow_renders(tmp_path):
    scene = write(tmp_path, f"""
pointclouds: [{{sample: {COW}, points: 20000, seed: 0, normalize: true}}]
points: {{radius: 0.015}}
cameras: {{turntable: {{views: 1, dist: 2.1, elev: 15, azim: 180}}}}
image_size: 48
background: [1, 1, 1]
outputs: {{dir: cow, normal: true}}
""")
    result = runner.invoke(app, ["render", str(scene), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"] == 20000
    rgb = pixels(tmp_path / "cow" / "view_000.png").astype(int)
    fg = (255 - rgb).max(axis=-1) > 8
    assert 0.15 < fg.mean() < 0.8 and not fg[0].any()
    assert rgb[fg].std(axis=0).min() > 10  # the texture's colours
    normal = pixels(tmp_path / "cow" / "normal_000.png")
    assert normal[fg].std() > 10  # sampled points carry their faces' normals


def test_scene_for_file_tells_clouds_from_meshes(cloud, tmp_path):
    scene = scene_for_file(cloud, out=tmp_path / "o", views=3, size=32)
    assert scene.meshes == () and scene.pointclouds == (PointcloudSpec(file=cloud,
                                                                       normalize=True),)
    assert scene == scene_for_pointcloud(cloud, out=tmp_path / "o", views=3, size=32)
    assert scene.cameras.num_views() == 3 and scene.image_size == (32, 32)
    mesh = scene_for_file(DATA / "tet.ply", out=tmp_path / "o")  # a PLY with faces
    assert mesh.pointclouds == () and mesh.meshes[0].file == DATA / "tet.ply"
    with pytest.raises(FileNotFoundError, match="gone.ply: no such file"):
        scene_for_file(tmp_path / "gone.ply", out=tmp_path / "o")


def render_two_views(source: Path, out: Path, size: int):
    """``r3d render SOURCE --views 2 --json``: the CLI's result and its JSON summary."""
    result = runner.invoke(app, ["render", str(source), "--size", str(size), "--views", "2",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return result, json.loads(result.stdout)


def test_cli_renders_a_cloud_file_as_a_turntable(cloud, tmp_path):
    out = tmp_path / "spin"
    _, summary = render_two_views(cloud, out, 32)
    assert summary["points"] == 400 and summary["compositor"] == "alpha"
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "cameras.json", "report.html",
                                                      "turntable.gif", "view_000.png",
                                                      "view_001.png"]
    rgb = pixels(out / "view_000.png").astype(int)
    fg = np.abs(rgb - 245).max(axis=-1) > 8  # the file turntable's background grey
    assert 0.05 < fg.mean() < 0.9
    # sparse points at the default radius: red discs blended into the grey at their edges
    assert (rgb[fg][:, 0] > rgb[fg][:, 1] + 8).all()
    assert (rgb[fg][:, 0] - rgb[fg][:, 1]).max() > 100


def test_recipe_runs_at_a_small_size(tmp_path):
    out = tmp_path / "scan"
    result, summary = render_two_views(RECIPE, out, 64)
    assert summary["points"] == 112_698 and summary["compositor"] == "alpha"
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER, "cameras.json", "depth_000.png", "depth_001.png", "report.html", "turntable.gif",
        "view_000.png", "view_001.png"]
    for view in (0, 1):
        rgb = pixels(out / f"view_{view:03d}.png").astype(int)
        fg = np.abs(rgb - 245).max(axis=-1) > 8
        assert 0.1 < fg.mean() < 0.7  # the scan fills a good part of the frame
        assert rgb[fg].std(axis=0).min() > 10  # in colour
