"""``report.html`` of ``r3d render``: every view and map embedded, the scene's geometry in the
3D viewer, the scene file, listed with the run's files; untrusted names escaped. (The pages of
``r3d train`` / ``r3d eval`` and ``r3d bench --html`` are tested in test_learn.py and
test_bench.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from html_pages import data_images, decoded, read_page, viewer_items
from PIL import Image
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.io import VoxelGrid, save_binvox, save_obj, save_ply
from r3d.runs.outdir import run_files
from r3d.scene import run as scene_run
from r3d.utils import ico_sphere

runner = CliRunner()


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def sphere_file(path: Path) -> Path:
    mesh = ico_sphere(1)
    save_obj(path, mesh.verts_list()[0], mesh.faces_list()[0])
    return path


def test_render_report_holds_every_view_map_and_the_scene(tmp_path):
    sphere_file(tmp_path / "ball.obj")
    scene = tmp_path / "scene.yaml"
    scene.write_text("meshes: [{file: ball.obj}]\n"
                     "cameras: {turntable: {views: 2, dist: 3}}\n"
                     "image_size: 24\n"
                     "outputs: {dir: out, depth: true, silhouette: true, gif: spin.gif}\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(scene), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["files"][-1] == str(out / "report.html")
    assert "report.html" in run_files(out)["files"]

    page = read_page(out / "report.html")
    assert page.title == "r3d render"
    assert page.headings == ["Summary", "Views", "Depth maps (near bright)", "Silhouettes",
                             "The scene in 3D", "Scene file", "Files", "Timings", "Machine"]
    images = data_images(page)
    assert len(images) == 6  # 2 views, 2 depth maps, 2 silhouettes
    assert (decoded(images[1]) == pixels(out / "view_001.png")).all()
    assert (decoded(images[2]) == pixels(out / "depth_000.png") // 257).all()
    assert (decoded(images[5]) == pixels(out / "silhouette_001.png")).all()
    (item,) = viewer_items(page)
    assert item["name"] == "ball.obj" and item["kind"] == "mesh"
    assert "80 faces · 42 vertices" in item["lines"]
    # the first camera: turntable azimuth 0 and elevation 0 look from +z
    assert page.viewers[0]["view"] == {"azimuth": pytest.approx(0, abs=1e-6),
                                       "elevation": pytest.approx(0, abs=1e-6)}
    for name in ("view_000.png", "depth_001.png", "spin.gif", "cameras.json", "report.html"):
        assert name in page.cells
    assert "hard_phong" in page.cells and "24 × 24" in page.cells
    assert "meshes: [{file: ball.obj}]" in (out / "report.html").read_text()

    # --overwrite replaces the page with the rest of the run
    result = runner.invoke(app, ["render", str(scene), "--views", "1", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert len(data_images(read_page(out / "report.html"))) == 3


def test_render_report_shows_the_first_views_of_many(tmp_path, monkeypatch):
    monkeypatch.setattr(scene_run, "MAX_SHOWN", 2)
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(sphere_file(tmp_path / "ball.obj")), "--size",
                                 "16", "--views", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = read_page(out / "report.html")
    assert "Views (the first 2 of 3)" in page.headings and len(data_images(page)) == 2
    assert "view_002.png" in page.cells


def _cloud(path: Path) -> Path:
    save_ply(path, torch.rand(50, 3), colors=torch.rand(50, 3))
    return path


def _grid(path: Path) -> Path:
    densities = torch.zeros(8, 8, 8)
    densities[2:6, 2:6, 2:6] = 1.0
    save_binvox(path, VoxelGrid(densities, translate=-1.0, scale=2.0))
    return path


@pytest.mark.parametrize("make, kind, note", [
    (lambda d: _cloud(d / "cloud.ply"), "points", "50 points"),
    (lambda d: _grid(d / "cube.binvox"), "mesh", "isosurface at the mid density"),
], ids=["pointcloud", "voxels"])
def test_render_report_of_a_file_turntable(tmp_path, make, kind, note):
    source = make(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", str(source), "--size", "16", "--views", "1",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = read_page(out / "report.html")
    assert len(data_images(page)) == 1
    (item,) = viewer_items(page)
    assert item["name"] == source.name and item["kind"] == kind and note in item["lines"]
    assert "Scene" in page.headings and "Scene file" not in page.headings


def test_render_report_escapes_file_names(tmp_path):
    mesh = sphere_file(tmp_path / "<script>alert('m').obj")
    scene = tmp_path / '<script>alert("s").yaml'
    scene.write_text(f'meshes: [{{file: "{mesh.name}"}}]\n'
                     "cameras: {turntable: {views: 1}}\nimage_size: 16\n"
                     "outputs: {dir: out}\n")
    result = runner.invoke(app, ["render", str(scene)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "report.html").read_text()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&quot;s&quot;).yaml" in text  # the scene file, in the heading
    assert "&lt;script&gt;alert(&#x27;m&#x27;).obj" in text  # the mesh, in the scene file
    (item,) = viewer_items(read_page(tmp_path / "out" / "report.html"))
    assert item["name"] == mesh.name  # the viewer's JSON holds it as \u003c escapes
