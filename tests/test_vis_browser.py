"""The viewer pages in a real browser (headless Chromium through Playwright, tests/browser.py):
they load with no error and no network request, draw the model, orbit, reset, toggle, show
their facts, and stay usable for inputs of a million faces or millions of points.

Skipped without a browser (see the ``browser`` fixture in conftest.py); CI requires one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from browser import (
    changed_fraction,
    covered_fraction,
    distinct_colours,
    foreground,
    median_colour,
    open_page,
)
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.io import IO
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.structures.textures import TexturesVertex
from r3d.utils import ico_sphere, torus
from r3d.vis import show

DATA = Path(__file__).parent / "data"
COW = DATA / "cow" / "cow.obj"
runner = CliRunner()


def r3d_view(*args) -> None:
    """Runs ``r3d view ARGS --no-open`` in this process; it must succeed."""
    result = runner.invoke(app, ["view", *map(str, args), "--no-open"])
    assert result.exit_code == 0, result.output + str(result.exception)


def sphere_cloud(n: int, seed: int = 0) -> Pointclouds:
    """``n`` points on a unit sphere, coloured by position."""
    g = torch.Generator().manual_seed(seed)
    points = torch.randn(n, 3, generator=g)
    points = points / points.norm(dim=1, keepdim=True)
    return Pointclouds([points], features=[points * 0.5 + 0.5])


def two_colour_sphere() -> Meshes:
    """An ico-sphere with red vertices above y = 0 and blue ones below."""
    sphere = ico_sphere(3)
    verts = sphere.verts_packed()
    red, blue = torch.tensor([0.9, 0.1, 0.1]), torch.tensor([0.1, 0.2, 0.9])
    colours = torch.where(verts[:, 1:2] > 0, red, blue)
    return Meshes([verts], [sphere.faces_packed()], textures=TexturesVertex([colours]))


def ball_volume() -> Volumes:
    """A 24³ grid whose density falls from 1 at the centre to 0 at distance 1."""
    axis = torch.linspace(-1, 1, 24)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"))
    return Volumes((1 - grid.norm(dim=0)).clamp(min=0)[None, None], voxel_size=0.1)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """The small pages, written once: by ``r3d view`` and by ``r3d.vis.show``."""
    folder = tmp_path_factory.mktemp("pages")
    made = {name: folder / f"{name}.html" for name in
            ("textured", "vertex_colours", "plain", "two_colours", "points", "volume", "side")}
    r3d_view(COW, "--out", made["textured"])
    r3d_view(DATA / "teapot.stl", "--out", made["plain"])
    # a flat coloured scan in the xz plane: seen from above
    r3d_view(DATA / "color.ply", "--elevation", "90", "--out", made["vertex_colours"])
    # seen from the front (+z): the row along x shows as two separate cows
    r3d_view(COW, DATA / "cow.glb", "--layout", "side", "--azimuth", "0", "--out", made["side"])
    show(two_colour_sphere(), out=made["two_colours"], open_browser=False)
    show(sphere_cloud(20_000), out=made["points"], open_browser=False)
    show(ball_volume(), out=made["volume"], open_browser=False)
    return made


@pytest.fixture
def opened(browser, pages):
    """Opens a page by name; closes every page it opened after the test."""
    reports = []

    def open_(name: str, **kwargs):
        reports.append(open_page(browser, pages[name], **kwargs))
        return reports[-1]

    yield open_
    for report in reports:
        report.close()


def assert_clean(report) -> None:
    """No page error, console error or warning (but the rasteriser's), no network request."""
    assert report.errors == [], report.errors
    assert report.warnings == [], report.warnings
    assert report.network == [], report.network


@pytest.mark.parametrize("name", ["textured", "vertex_colours", "plain", "two_colours",
                                  "points", "volume", "side"])
def test_page_loads_cleanly_and_draws_the_model(opened, name, record_property):
    report = opened(name)
    record_property("load_seconds", round(report.load_seconds, 2))
    assert_clean(report)
    assert report.evaluate("window.r3dViewers.length") == 1
    assert report.evaluate("window.r3dViewers.every(v => v.ready)")
    image = report.screenshot_canvas()
    assert 0.03 < covered_fraction(image) < 0.8
    if name in ("textured", "vertex_colours"):
        # a texture or vertex colours: black patches, white body, coloured parts
        assert distinct_colours(image) >= 3
    elif name == "plain":
        # one palette colour, shaded
        assert distinct_colours(image) <= 2


def test_side_layout_puts_the_files_side_by_side(opened):
    report = opened("side")
    image = report.screenshot_canvas()
    columns = foreground(image).any(axis=0)
    # two models: drawn columns, a gap of background columns, drawn columns again
    runs = (columns[1:] != columns[:-1]).sum()
    assert runs >= 3, runs
    assert "cow.obj" in report.text() and "cow.glb" in report.text()
    # each file's visibility toggle hides it
    report.check("cow.glb", False)
    assert covered_fraction(report.screenshot_canvas()) < covered_fraction(image) - 0.01


def test_vertex_colours_are_drawn_in_their_own_colours(opened):
    image = opened("two_colours").screenshot_canvas()
    pixels = np.asarray(image, dtype=int)[foreground(image)]
    red = ((pixels[:, 0] - pixels[:, 2]) > 60).mean()
    blue = ((pixels[:, 2] - pixels[:, 0]) > 60).mean()
    assert red > 0.2 and blue > 0.2, (red, blue)


def test_point_colours_are_exact(browser, tmp_path):
    """Points are drawn unlit: a cloud of one colour shows that colour itself (r3d's colours
    are sRGB values; drawn as linear ones they came out too light)."""
    g = torch.Generator().manual_seed(0)
    points = torch.cat([torch.rand(40_000, 2, generator=g), torch.zeros(40_000, 1)], dim=1)
    colour = torch.tensor([0.5, 0.25, 0.75])
    page = show(Pointclouds([points], features=[colour.expand(40_000, 3)]),
                out=tmp_path / "flat.html", open_browser=False, view=(0, 0))
    report = open_page(browser, page)
    try:
        assert median_colour(report.screenshot_canvas()) == pytest.approx((128, 64, 191), abs=2)
    finally:
        report.close()


def test_drag_orbits_and_reset_view_restores_the_first_view(opened):
    report = opened("textured")
    first = report.screenshot_canvas()
    report.drag(200, 0)
    turned = report.screenshot_canvas()
    assert changed_fraction(first, turned) > 0.05
    assert 0.03 < covered_fraction(turned) < 0.8
    report.drag(0, -80)
    report.click("reset view")
    assert changed_fraction(first, report.screenshot_canvas()) < 0.002


@pytest.mark.parametrize("toggle", ["wireframe", "normals", "bounding box", "axes"])
def test_toggles_change_the_picture_and_back(opened, toggle):
    report = opened("textured")
    first = report.screenshot_canvas()
    report.check(toggle, True)
    # lines one pixel wide: a few hundred pixels at least
    assert changed_fraction(first, report.screenshot_canvas(), tolerance=40) > 0.0008
    report.check(toggle, False)
    assert changed_fraction(first, report.screenshot_canvas()) < 0.002


def test_info_panel_shows_the_counts(opened):
    mesh = IO().load_mesh(COW)
    faces, verts = mesh.faces_packed().shape[0], mesh.verts_packed().shape[0]
    text = opened("textured").text()
    assert f"{faces:,} faces · {verts:,} vertices" in text
    assert "UV texture 1024 × 1024" in text


def test_point_size_slider_changes_the_points(opened):
    report = opened("points")
    first = report.screenshot_canvas()
    report.frame.locator(".r3d-range input").fill("10")
    report.next_frame()
    bigger = report.screenshot_canvas()
    assert covered_fraction(bigger) > covered_fraction(first) + 0.01


def test_notebook_view_draws_inside_its_iframe(browser, tmp_path):
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{two_colour_sphere()._repr_html_()}"
                    f"</body></html>", encoding="utf-8")
    report = open_page(browser, host, in_iframe=True)
    try:
        assert_clean(report)
        assert 0.03 < covered_fraction(report.screenshot_canvas()) < 0.8
    finally:
        report.close()


# -- large inputs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_pages(tmp_path_factory) -> dict[str, Path]:
    """``r3d view``'s pages of a 1,000,000-face torus (seen along its axis, z) and of a
    2,000,000-point cloud, written from PLY files."""
    folder = tmp_path_factory.mktemp("big")
    IO().save_mesh(torus(0.3, 1.0, 500, 1000), folder / "torus.ply")
    IO().save_pointcloud(sphere_cloud(2_000_000), folder / "cloud.ply")
    pages = {"mesh": folder / "torus.html", "cloud": folder / "cloud.html"}
    r3d_view(folder / "torus.ply", "--azimuth", "0", "--elevation", "0", "--out", pages["mesh"])
    r3d_view(folder / "cloud.ply", "--out", pages["cloud"])
    return pages


@pytest.mark.parametrize(("kind", "counts", "note"), [
    ("mesh", "1,000,000 faces", "Shown decimated for display (vertex clustering)"),
    ("cloud", "2,000,000 points", "Shown subsampled for display: 600,000 of 2,000,000 points"),
])
def test_large_inputs_give_a_working_page(browser, big_pages, kind, counts, note,
                                          record_property):
    report = open_page(browser, big_pages[kind], timeout_s=90)
    try:
        record_property("load_seconds", round(report.load_seconds, 2))
        record_property("page_megabytes", round(report.size_bytes / 1e6, 1))
        assert_clean(report)
        text = report.text()
        assert counts in text and note in text
        image = report.screenshot_canvas()
        assert 0.03 < covered_fraction(image) < 0.8
        if kind == "mesh":
            # the decimated torus, seen along its axis, is still a ring around a hole
            mask = foreground(image)
            h, w = mask.shape
            assert not mask[h // 2 - 5:h // 2 + 5, w // 2 - 5:w // 2 + 5].any()
            assert 0.1 < mask[h // 2].mean() < 0.9
        report.drag(150, 0, steps=3)  # each step draws the whole model in software
        assert changed_fraction(image, report.screenshot_canvas()) > 0.02
    finally:
        report.close()
