"""``r3d render`` end to end: a mesh as a turntable, scenes, the recipe, the summary, bad input."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import FileFormatError
from r3d.io import save_obj
from r3d.runs.images import write_png
from r3d.runs.outdir import MARKER, run_files
from r3d.utils import ico_sphere

ROOT = Path(__file__).parents[1]
RECIPE = ROOT / "recipes" / "render_turntable.yaml"
BACKGROUND = round(0.96 * 255)  # the mesh turntable's background grey
runner = CliRunner()


@pytest.fixture
def sphere(tmp_path: Path) -> Path:
    """A lopsided sphere (stretched on its +X side), so that its views differ."""
    path = tmp_path / "ball.obj"
    mesh = ico_sphere(1)
    verts = mesh.verts_list()[0]
    verts = verts * (1 + 0.5 * (verts[:, :1] > 0))
    save_obj(path, verts, mesh.faces_list()[0])
    return path


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def visible(rgb: np.ndarray, background: int) -> float:
    """Share of the pixels that differ from a grey background."""
    return float((np.abs(rgb.astype(int) - background).max(axis=-1) > 8).mean())


def test_mesh_turntable_writes_pngs_and_gif(sphere, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(sphere), "--size", "64", "--views", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "cameras.json", "report.html",
                                                      "turntable.gif", "view_000.png",
                                                      "view_001.png"]
    for name in ("view_000.png", "view_001.png"):
        rgb = pixels(out / name)
        assert rgb.shape == (64, 64, 3)
        assert 0.2 < visible(rgb, BACKGROUND) < 0.9  # the sphere fills much of the view
        assert tuple(rgb[0, 0]) == (BACKGROUND,) * 3  # the corner is background
    with Image.open(out / "turntable.gif") as gif:
        assert gif.n_frames == 2 and gif.size == (64, 64)
    assert "rendered 2 view(s) at 64x64" in result.output


def test_json_summary(sphere, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, ["render", str(sphere), "--size", "32", "--views", "1",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["views"] == 1 and summary["image_size"] == [32, 32]
    assert summary["files"] == [str(out / "view_000.png"), str(out / "cameras.json"),
                                str(out / "turntable.gif"), str(out / "report.html")]
    assert summary["device"] == "cpu" and summary["seconds"] >= 0


def test_default_output_folder_is_beside_the_cwd(sphere, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = runner.invoke(app, ["render", str(sphere), "--size", "16", "--views", "1"])
    assert result.exit_code == 0, result.output
    assert (work / "render_ball" / "view_000.png").is_file()


def test_scene_with_maps(sphere, tmp_path):
    scene = tmp_path / "scene.yaml"
    scene.write_text(f"""
meshes: [{{file: {sphere.name}, normalize: true, colour: [0.9, 0.2, 0.2]}}]
cameras: {{look_at: [{{dist: 3, azim: 0}}, {{dist: 3, azim: 90, elev: 30}}], fov: 45}}
lights: {{type: directional, direction: [0, 0, -1], follow_camera: true}}
image_size: [24, 32]
background: [0, 0, 0]
outputs: {{dir: maps, gif: false, depth: true, normal: true, silhouette: true}}
""")
    result = runner.invoke(app, ["render", str(scene), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    out = tmp_path / "maps"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([MARKER, "cameras.json", "report.html"] + [
        f"{kind}_{i:03d}.png" for kind in ("view", "depth", "normal", "silhouette")
        for i in (0, 1)])
    rgb = pixels(out / "view_000.png")
    assert rgb.shape == (24, 32, 3)
    lit = rgb[rgb.max(axis=-1) > 0]
    assert len(lit) and (lit[:, 0] >= lit[:, 1]).all()  # red material
    mask = pixels(out / "silhouette_000.png")
    depth = pixels(out / "depth_000.png")
    assert mask.dtype == np.uint8 and depth.dtype == np.uint16
    assert ((depth > 0) == (mask > 127)).all() and (mask > 127).any()
    near, far = summary["depth_range"][0]
    assert 2 - 1e-3 < near < far < 4  # in the unit sphere, 3 away
    normals = pixels(out / "normal_001.png")
    assert normals[mask > 127].std() > 10  # normals vary over the sphere


def test_recipe_runs_at_a_small_size(tmp_path):
    out = tmp_path / "cow"
    result = runner.invoke(app, ["render", str(RECIPE), "--size", "32", "--views", "2",
                                 "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [MARKER, "cameras.json", "depth_000.png", "depth_001.png", "report.html",
                     "turntable.gif", "view_000.png", "view_001.png"]
    assert visible(pixels(out / "view_000.png"), BACKGROUND) > 0.1


def test_recipe_copied_elsewhere_keeps_working(tmp_path):
    """A recipe copied with its relative paths edited still resolves them against itself."""
    text = RECIPE.read_text().replace("../r3d/assets/cow/cow.obj", "assets/cow.obj")
    shutil.copytree(ROOT / "r3d" / "assets" / "cow", tmp_path / "assets")
    for old, new in [("image_size: 256", "image_size: 16"), ("views: 12", "views: 1"),
                     ("../render_turntable", "out")]:
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "r.yaml").write_text(text)
    result = runner.invoke(app, ["render", str(tmp_path / "r.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "view_000.png").is_file()


def test_bad_scene_exits_2_with_one_line(tmp_path, r3d_exe):
    scene = tmp_path / "bad.yaml"
    scene.write_text("meshes: [x.obj]\ncameras: {turntable: {viewz: 3}}\n")
    out = subprocess.run([r3d_exe, "render", str(scene)], capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert "x.obj" in lines[0]  # the first problem: the missing mesh file, named


@pytest.mark.parametrize("args, message", [
    (["nothing.txt"], "takes a scene (.yaml) or a mesh, point cloud or voxel grid file"),
    (["missing.obj"], "missing.obj: no such file"),
    (["missing.yaml"], "missing.yaml: no such file"),
])
def test_bad_sources(tmp_path, args, message):
    (tmp_path / "nothing.txt").write_text("hi")
    result = runner.invoke(app, ["render", *[str(tmp_path / a) for a in args]])
    assert result.exit_code == 2
    assert message in result.output


def test_views_override_on_look_at_scene(sphere, tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text(f"meshes: [{sphere.name}]\ncameras: {{look_at: {{}}}}\n")
    result = runner.invoke(app, ["render", str(scene), "--views", "3"])
    assert result.exit_code == 2 and "--views applies to turntable cameras" in result.output


@pytest.mark.parametrize("shader", ["hard_phong", "soft_phong", "hard_flat", "hard_gouraud",
                                    "soft_silhouette", "depth", "normal"])
def test_every_shader_draws_the_mesh(sphere, tmp_path, shader):
    scene = tmp_path / "s.yaml"
    scene.write_text(f"meshes: [{{file: {sphere.name}, normalize: true}}]\n"
                     "cameras: {turntable: {views: 1}}\n"
                     f"shader: {shader}\nimage_size: 24\nantialias: 2\nbackground: [0, 0, 0]\n")
    result = runner.invoke(app, ["render", str(scene)])
    assert result.exit_code == 0, result.output
    rgb = pixels(tmp_path / "render_s" / "view_000.png")
    assert rgb.shape == (24, 24, 3) and tuple(rgb[0, 0]) == (0, 0, 0)
    assert 0.2 < visible(rgb, 0) < 0.9


def test_output_folder_that_is_a_file(sphere, tmp_path):
    (tmp_path / "taken").write_text("")
    result = runner.invoke(app, ["render", str(sphere), "--size", "8", "--views", "1",
                                 "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "is a file" in result.output


def test_a_second_render_into_the_folder(sphere, tmp_path):
    """Refused without --overwrite; with it, the earlier render's files are replaced (no
    view_002.png of the first beside the second's two views)."""
    out = tmp_path / "o"
    args = ["render", str(sphere), "--size", "8", "--out", str(out)]
    assert runner.invoke(app, [*args, "--views", "3"]).exit_code == 0
    result = runner.invoke(app, [*args, "--views", "2"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "--overwrite" in lines[0]
    result = runner.invoke(app, [*args, "--views", "2", "--overwrite", "--json"])
    assert result.exit_code == 0, result.output
    files = sorted(Path(f).name for f in json.loads(result.stdout)["files"])
    assert sorted(p.name for p in out.iterdir()) == sorted([MARKER, *files])
    assert not (out / "view_002.png").exists()
    assert run_files(out) == {"command": "r3d render", "files": files}


def test_out_below_a_file_exits_2(sphere, tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    result = runner.invoke(app, ["render", str(sphere), "--size", "8", "--views", "1",
                                 "--out", str(afile / "sub")])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{afile} is a file, not a folder" in lines[0]


def test_a_failed_render_leaves_no_folder(tmp_path):
    bad = tmp_path / "bad.obj"
    bad.write_text("v 0 0 0\nf 1 2 3\n")
    result = runner.invoke(app, ["render", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert not (tmp_path / "o").exists()


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "view_000.png"
    target.write_bytes(b"old")

    def broken_save(self, fp, format=None, **params):
        Path(fp).write_bytes(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(FileFormatError, match="view_000.png: cannot write"):
        write_png(target, np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["view_000.png"]
    assert target.read_bytes() == b"old"
