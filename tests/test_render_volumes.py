"""``r3d render`` of voxel grids: scene keys and errors, grids read, placed, coloured and joined,
silhouettes of a cube against its projection, colours, maps, the CLI on a grid file, and the
recipe."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import r3d
from r3d.cli.main import app
from r3d.errors import InputError
from r3d.io import VoxelGrid, save_binvox, save_voxels_npz
from r3d.renderer import FoVOrthographicCameras, FoVPerspectiveCameras, look_at_view_transform
from r3d.runs.outdir import MARKER
from r3d.scene import load_scene, scene_for_file, with_overrides
from r3d.scene.geometry import load_volumes
from r3d.scene.raymarch import march_volume, volume_features
from r3d.scene.run import render_scene
from r3d.scene.scene import VolumeSettings, VolumeSpec

ROOT = Path(__file__).parents[1]
RECIPE = ROOT / "recipes" / "render_volume.yaml"
COW = Path(r3d.__file__).parent / "assets" / "cow" / "cow.obj"
CPU = torch.device("cpu")
runner = CliRunner()
SCENE = "volumes: [cube.binvox]\ncameras: {turntable: {views: 1}}\n"


def cube_grid(n: int = 16, inner: int = 8) -> VoxelGrid:
    """An n^3 grid over [-1, 1]^3 whose middle inner^3 voxels are occupied: the cube
    [-inner / n, inner / n]^3."""
    dens = torch.zeros(n, n, n)
    lo = (n - inner) // 2
    dens[lo:lo + inner, lo:lo + inner, lo:lo + inner] = 1.0
    return VoxelGrid(dens, translate=-1.0, scale=2.0)


@pytest.fixture
def cube(tmp_path: Path) -> Path:
    path = tmp_path / "cube.binvox"
    save_binvox(path, cube_grid())
    return path


def write(folder: Path, text: str, name: str = "scene.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


# ---- scene files -------------------------------------------------------------------------------


def test_volume_scene_defaults(cube):
    scene = load_scene(write(cube.parent, SCENE))
    assert scene.volumes == (VolumeSpec(file=cube),) and scene.meshes == ()
    assert scene.volume == VolumeSettings()
    assert scene.volume.points_per_ray is None and scene.volume.density_scale == 10.0


def test_volume_scene_to_dataclasses(cube):
    (cube.parent / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    scene = load_scene(write(cube.parent, """
volumes:
  - {file: cube.binvox, normalize: true, colour: '#ff0000',
     transform: {scale: 2, translate: [1, 0, 0]}}
  - {mesh: tri.obj, resolution: 8, up: +z, transform: {rotate: [0, 90, 0]}}
volume: {points_per_ray: 40, density_scale: 3, raymarcher: absorption_only, sample: nearest}
lights: {type: ambient}
material: {shininess: 5}
cameras: {turntable: {views: 1}}
"""))
    grid, mesh = scene.volumes
    assert grid == VolumeSpec(file=cube, normalize=True, colour=(1.0, 0.0, 0.0),
                              scale=(2.0, 2.0, 2.0), translate=(1.0, 0.0, 0.0))
    assert mesh.mesh and mesh.resolution == 8 and mesh.up == "+z"
    assert mesh.rotate[0][2] == pytest.approx(1.0)
    assert scene.volume == VolumeSettings(40, 3.0, "absorption_only", "nearest")
    assert scene.lights.type == "ambient" and scene.material.shininess == 5


@pytest.mark.parametrize("text, message", [
    ("volumes: [{file: cube.binvox, colur: [1, 0, 0]}]",
     "unknown key 'colur' in volumes[0]; did you mean 'colour'?"),
    ("volumes: [{file: cube.binvox, up: +z}]", "volumes[0].up applies to meshes and point"),
    ("volumes: [{file: cube.binvox, transform: {rotate: [0, 90, 0]}}]",
     "volumes[0].transform.rotate applies to meshes and point clouds"),
    ("volumes: [{file: cube.binvox, mesh: tri.obj}]",
     "volumes[0] must give either file (a voxel grid file) or mesh"),
    ("volumes: [{mesh: tri.obj, resolution: 2}]", "volumes[0].resolution must be an int >= 3"),
    ("volumes: [{file: tri.obj}]", "volumes[0].file must be a voxel grid file"),
    ("volumes: [{mesh: cube.binvox}]", "volumes[0].mesh must be a mesh file"),
    ("volumes: []", "volumes must be a non-empty list"),
    ("meshes: [tri.obj]", "must have one of meshes, pointclouds or volumes (a list of them), "
                          "got meshes and volumes"),
    ("volume: {points_per_ray: 1}", "volume.points_per_ray must be an int >= 2"),
    ("volume: {density_scale: 0}", "volume.density_scale must be a positive number"),
    ("volume: {raymarcher: emission}", "volume.raymarcher must be one of emission_absorption"),
    ("volume: {sample: linear}", "volume.sample must be one of trilinear, nearest"),
    ("volume: {step: 1}", "unknown key 'step' in volume"),
    ("shader: hard_phong", "shader applies to meshes; volumes are ray marched"),
    ("antialias: 2", "antialias applies to meshes"),
    ("points: {radius: 0.1}", "points (splat settings) applies to pointclouds, not to volumes"),
    ("volume: {raymarcher: absorption_only}\noutputs: {depth: true}",
     "outputs.depth and outputs.normal need volume.raymarcher emission_absorption"),
])
def test_bad_volume_scenes(cube, text, message):
    (cube.parent / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    keys = {line.split(":")[0] for line in text.splitlines()}
    lines = [line for line in SCENE.splitlines() if line.split(":")[0] not in keys]
    path = write(cube.parent, "\n".join([*lines, text]))
    with pytest.raises(InputError) as info:
        load_scene(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_volume_with_meshes_is_refused(cube):
    (cube.parent / "tri.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    path = write(cube.parent, SCENE + "meshes: [tri.obj]\n")
    with pytest.raises(InputError, match="got meshes and volumes"):
        load_scene(path)
    path = write(cube.parent, "meshes: [tri.obj]\ncameras: {turntable: {}}\nvolume: {}\n")
    with pytest.raises(InputError, match="volume .ray marching settings. applies to volumes"):
        load_scene(path)


def test_missing_grid_file_is_named(tmp_path):
    path = write(tmp_path, "volumes: [gone.binvox]\ncameras: {turntable: {}}\n")
    with pytest.raises(FileNotFoundError) as info:
        load_scene(path)
    assert str(tmp_path / "gone.binvox") in str(info.value) and "volumes[0].file" in str(info.value)


def test_up_override_is_refused_for_volumes(cube, tmp_path):
    scene = scene_for_file(cube, tmp_path / "out")
    with pytest.raises(InputError, match="--up applies to meshes and point clouds"):
        with_overrides(scene, up="+z")


# ---- grids -------------------------------------------------------------------------------------


def test_grids_are_placed_coloured_and_bordered(cube, tmp_path):
    grid = load_volumes((VolumeSpec(file=cube, normalize=True, colour=(1.0, 0.0, 0.0),
                                    translate=(1.0, 0.0, 0.0)),), CPU)
    assert grid.densities.shape == (18, 18, 18)  # the border
    occupied = grid.voxel_centers()[grid.densities > 0]
    # the cube's half-diagonal is 1 after normalising: its centres sit half a voxel inside
    half = 1 / 3 ** 0.5
    assert torch.allclose(occupied.amin(0), torch.tensor([1 - half, -half, -half]) + half / 8,
                          atol=1e-5)
    assert torch.allclose(occupied.amax(0), torch.tensor([1 + half, half, half]) - half / 8,
                          atol=1e-5)
    assert torch.equal(grid.features[:, 5, 5, 5], torch.tensor([1.0, 0.0, 0.0]))


def test_npz_features_are_the_colours_and_negative_densities_zero(tmp_path):
    dens = torch.tensor([[[-1.0, 2.0]]])
    feats = torch.tensor([0.1, 0.2, 0.3, 0.9]).view(4, 1, 1, 1).expand(4, 1, 1, 2).clone()
    save_voxels_npz(tmp_path / "g.npz", VoxelGrid(dens, features=feats))
    grid = load_volumes((VolumeSpec(file=tmp_path / "g.npz"),), CPU)
    assert grid.densities[1, 1, 1:3].tolist() == [0.0, 2.0]
    assert torch.allclose(grid.features[:, 1, 1, 2], torch.tensor([0.1, 0.2, 0.3]))


def test_two_grids_join_on_the_finest_voxels(tmp_path):
    save_binvox(tmp_path / "a.binvox", VoxelGrid(torch.ones(2, 2, 2), translate=0.0, scale=1.0))
    save_binvox(tmp_path / "b.binvox", VoxelGrid(torch.ones(4, 4, 4), translate=1.0, scale=1.0))
    grid = load_volumes((VolumeSpec(file=tmp_path / "a.binvox", colour=(1.0, 0.0, 0.0)),
                         VolumeSpec(file=tmp_path / "b.binvox", colour=(0.0, 0.0, 1.0))), CPU)
    assert grid.densities.shape == (10, 10, 10)  # [0, 2]^3 in quarters, and the border
    assert torch.allclose(grid.voxel_size, torch.full((3,), 0.25))
    assert torch.allclose(grid.translate, torch.full((3,), -0.25))
    assert grid.densities[2, 2, 2] == 1 and grid.densities[7, 7, 7] == 1
    assert grid.densities[2, 2, 7] == 0
    assert torch.allclose(grid.features[:, 2, 2, 2], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(grid.features[:, 7, 7, 7], torch.tensor([0.0, 0.0, 1.0]))


def test_a_mesh_is_voxelised_after_placing():
    grid = load_volumes((VolumeSpec(file=COW, mesh=True, resolution=16, normalize=True),), CPU)
    assert grid.densities.shape == (18, 18, 18)
    inside = grid.voxel_centers()[grid.densities > 0]
    assert inside.shape[0] > 100 and inside.norm(dim=1).max() < 1.0


# ---- renders -----------------------------------------------------------------------------------


def _cube_silhouette(cube: Path, cameras, sample: str, size: int = 64) -> torch.Tensor:
    grid = load_volumes((VolumeSpec(file=cube),), CPU)
    out = march_volume(grid, volume_features(grid), cameras, VolumeSettings(sample=sample),
                       (size, size))
    return out["opacity"][0] > 0.5


def _projected_square(cameras, half: float, z: float, size: int) -> torch.Tensor:
    """(size, size) bool: the pixels whose centres fall inside the projection of the square
    [-half, half]^2 at world depth z (the cube's face nearest the camera)."""
    corners = torch.tensor([[x, y, z] for x in (-half, half) for y in (-half, half)])
    screen = cameras.transform_points_screen(corners[None], image_size=((size, size),))[0]
    lo, hi = screen[:, :2].amin(0), screen[:, :2].amax(0)
    centres = torch.arange(size) + 0.5
    cols = (centres >= lo[0]) & (centres <= hi[0])
    rows = (centres >= lo[1]) & (centres <= hi[1])
    return rows[:, None] & cols[None, :]


@pytest.mark.parametrize("camera", ["orthographic", "perspective"])
@pytest.mark.parametrize("sample, tolerance", [("nearest", 1), ("trilinear", 2)])
def test_cube_silhouette_is_its_projected_square(cube, camera, sample, tolerance):
    """A cube of 8^3 voxels ([-0.5, 0.5]^3) seen face on: its silhouette (opacity > 0.5) is the
    projection of its near face within ``tolerance`` pixels (nearest: exact cubes; trilinear:
    densities reach half a voxel further, 1.3 pixels here)."""
    R, T = look_at_view_transform(dist=3.0, elev=0.0, azim=0.0)
    cameras = FoVOrthographicCameras(R=R, T=T) if camera == "orthographic" \
        else FoVPerspectiveCameras(R=R, T=T, fov=40.0)
    size = 64
    mask = _cube_silhouette(cube, cameras, sample, size)
    want = _projected_square(cameras, 0.5, 0.5, size)
    assert 0.05 < want.float().mean() < 0.8
    ranges = []
    for axis in (1, 0):  # the covered rows, then columns
        got_range = mask.any(dim=axis).nonzero()[[0, -1], 0]
        want_range = want.any(dim=axis).nonzero()[[0, -1], 0]
        assert (got_range - want_range).abs().max() <= tolerance, (got_range, want_range)
        ranges.append(want_range)
    # and the square's inside is covered (a solid-looking square, no holes): with perspective,
    # rays at the near face's rim leave through a side after too short a path to be opaque
    (r0, r1), (c0, c1) = ranges
    assert mask[r0 + tolerance:r1 - tolerance + 1, c0 + tolerance:c1 - tolerance + 1].all()


def test_cube_renders_in_its_colour_with_maps(cube, tmp_path):
    path = write(cube.parent, """
volumes: [{file: cube.binvox, colour: [1, 0, 0]}]
lights: {type: ambient}
cameras: {look_at: {dist: 3, elev: 0, azim: 0}, fov: 40}
image_size: 48
background: [0, 0, 1]
outputs: {dir: out, depth: true, normal: true, silhouette: true}
""")
    summary = render_scene(load_scene(path))
    assert summary["voxels"] == [18, 18, 18] and summary["raymarcher"] == "emission_absorption"
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER, "cameras.json", "depth_000.png", "normal_000.png", "report.html",
        "silhouette_000.png", "view_000.png"]
    rgb = pixels(out / "view_000.png").astype(int)
    assert (rgb[24, 24] == [255, 0, 0]).all()  # unlit under a white ambient light
    assert (rgb[0, 0] == [0, 0, 255]).all()  # the background
    silhouette = pixels(out / "silhouette_000.png") > 0
    assert silhouette[24, 24] and not silhouette[0, 0]
    normal = pixels(out / "normal_000.png").astype(int)
    assert np.abs(normal[24, 24] - [128, 128, 255]).max() <= 2  # the face towards +Z
    assert (normal[0, 0] == 0).all()
    near, far = summary["depth_range"][0]
    assert near == pytest.approx(2.5, abs=0.07)  # the near face, within half a voxel


def test_absorption_only_draws_the_opacity_in_the_colour(cube, tmp_path):
    path = write(cube.parent, """
volumes: [{file: cube.binvox, colour: [0, 0, 0]}]
volume: {raymarcher: absorption_only}
cameras: {look_at: {dist: 3, elev: 0, azim: 0}, fov: 40}
image_size: 32
outputs: {dir: out}
""")
    summary = render_scene(load_scene(path))
    assert summary["raymarcher"] == "absorption_only"
    rgb = pixels(tmp_path / "out" / "view_000.png").astype(int)
    assert (rgb[16, 16] == 0).all() and (rgb[0, 0] == 255).all()


# ---- the CLI and the recipe --------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".binvox", ".npz"])
def test_cli_renders_a_grid_file_as_a_turntable(tmp_path, suffix):
    source = tmp_path / f"cube{suffix}"
    (save_binvox if suffix == ".binvox" else save_voxels_npz)(source, cube_grid())
    out = tmp_path / "spin"
    result = runner.invoke(app, ["render", str(source), "--size", "32", "--views", "2",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["views"] == 2 and summary["voxels"] == [18, 18, 18]
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "cameras.json", "report.html",
                                                      "turntable.gif", "view_000.png",
                                                      "view_001.png"]
    rgb = pixels(out / "view_000.png").astype(int)
    fg = np.abs(rgb - 245).max(axis=-1) > 8  # the file turntable's background grey
    assert 0.1 < fg.mean() < 0.8


@pytest.mark.parametrize("data", [b"", b"#binvox 1\ndim 2 2 2\ndata\n\x00"])
def test_cli_names_a_malformed_grid_file(tmp_path, data):
    source = tmp_path / "bad.binvox"
    source.write_bytes(data)
    result = runner.invoke(app, ["render", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert str(source) in result.output
    assert not (tmp_path / "o").exists()


def test_cli_names_a_malformed_grid_file_in_a_scene(cube, tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    path = write(tmp_path, "volumes: [bad.npz]\ncameras: {turntable: {views: 1}}\n")
    result = runner.invoke(app, ["render", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert str(tmp_path / "bad.npz") in result.output


def test_recipe_runs_at_a_small_size(tmp_path):
    out = tmp_path / "cow"
    result = runner.invoke(app, ["render", str(RECIPE), "--size", "48", "--views", "2",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["voxels"] == [66, 66, 66]
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER, "cameras.json", "depth_000.png", "depth_001.png", "normal_000.png",
        "normal_001.png", "report.html", "turntable.gif", "view_000.png",
        "view_001.png"]
    rgb = pixels(out / "view_000.png").astype(int)
    fg = np.abs(rgb - 245).max(axis=-1) > 8
    assert 0.1 < fg.mean() < 0.7
    assert (rgb[fg][:, 0] > rgb[fg][:, 2]).mean() > 0.9  # the cow's orange-brown
