"""The run reports in a real browser (headless Chromium, tests/browser.py): ``report.html`` of
``r3d fit`` and ``r3d render`` and the ``r3d bench --html`` page load with no error and no
network request, show their images, draw the result in the viewer (which orbits), and their
charts read out values under the mouse and hide a series from the legend.

Skipped without a browser (see the ``browser`` fixture in conftest.py); CI requires one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import changed_fraction, covered_fraction, open_page
from typer.testing import CliRunner

import r3d.bench.runner as runner_module
from r3d.cli.main import app
from r3d.io import save_obj
from r3d.utils import ico_sphere

runner = CliRunner()
# the bundled example, tiny: 4 views of 32 px, two held out, 2 iterations
EXAMPLE = ["--set", "example.views=4", "--set", "example.image_size=32", "--set",
           "views.holdout=2", "--set", "views.image_size=32", "--set", "iterations=2", "--set",
           "init.level=0", "--set", "renderer.faces_per_pixel=4"]


def invoke(*args) -> None:
    result = runner.invoke(app, [*map(str, args)])
    assert result.exit_code == 0, result.output + str(result.exception)


@pytest.fixture(scope="module")
def fit_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fit") / "out"
    invoke("fit", "--out", out, *EXAMPLE)
    return out / "report.html"


def assert_clean(report) -> None:
    assert report.errors == [] and report.warnings == [] and report.network == []


def images_shown(report) -> int:
    """How many of the page's images have loaded with a size (embedded data URIs)."""
    return report.evaluate("Array.from(document.images).filter("
                           "i => i.complete && i.naturalWidth > 0).length")


def test_fit_report_in_the_browser(browser, fit_report):
    report = open_page(browser, fit_report, viewport=(1100, 900))
    try:
        assert_clean(report)
        text = report.text()
        assert "Every held-out view: input | fit" in text and "Loss curves" in text
        # two held-out pairs and the progress GIF
        assert images_shown(report) == 2 * 2 + 1
        report.canvas().scroll_into_view_if_needed()
        before = report.screenshot_canvas()
        assert 0.03 < covered_fraction(before) < 0.8
        report.drag(160, 30)
        assert changed_fraction(before, report.screenshot_canvas()) > 0.02
        report.check("ground truth: cow.obj", False)  # the overlay can be hidden
        assert changed_fraction(before, report.screenshot_canvas()) > 0.005
    finally:
        report.close()


def test_report_charts_read_out_and_hide_series(browser, fit_report):
    report = open_page(browser, fit_report, viewport=(1100, 900))
    try:
        chart = report.page.locator("div.r3d-chart").first
        svg = chart.locator("svg")
        svg.scroll_into_view_if_needed()
        box = svg.bounding_box()
        report.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
        readout = chart.locator(".r3d-chart-readout").text_content()
        assert readout.startswith("iteration ") and "total " in readout
        chart.locator(".r3d-legend span").first.click()
        assert chart.locator('polyline[data-series="0"]').first.evaluate(
            "line => getComputedStyle(line).display") == "none"
    finally:
        report.close()


def test_render_report_in_the_browser(browser, tmp_path):
    mesh = ico_sphere(2)
    save_obj(tmp_path / "ball.obj", mesh.verts_list()[0], mesh.faces_list()[0])
    (tmp_path / "scene.yaml").write_text(
        "meshes: [{file: ball.obj}]\ncameras: {turntable: {views: 3, dist: 3}}\n"
        "image_size: 32\noutputs: {dir: out, depth: true}\n")
    invoke("render", tmp_path / "scene.yaml")
    report = open_page(browser, tmp_path / "out" / "report.html", viewport=(1100, 900))
    try:
        assert_clean(report)
        assert images_shown(report) == 3 + 3  # views and depth maps
        report.canvas().scroll_into_view_if_needed()
        assert 0.03 < covered_fraction(report.screenshot_canvas()) < 0.8
    finally:
        report.close()


def test_bench_page_in_the_browser(browser, tmp_path, monkeypatch):
    from test_bench import SUMMARY_CASES, _measured_without_peer

    monkeypatch.setattr(runner_module, "iter_measurements", _measured_without_peer)
    invoke("bench", *SUMMARY_CASES, "--quick", "--html", tmp_path / "bench.html")
    report = open_page(browser, tmp_path / "bench.html")
    try:
        assert_clean(report)
        assert report.page.locator("div.r3d-chart svg polyline").count() == 6
    finally:
        report.close()
