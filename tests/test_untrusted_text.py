"""Untrusted text in r3d's outputs: every string that came from a file or a user (file names,
view names, loss and metric names, recipe values, the machine's description) is escaped where
r3d writes it into HTML, SVG, JSON or the terminal, so it shows as itself and can neither add
elements nor close a script, attribute or markup tag."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from html_pages import read_page
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.fit.report import ScoredViews, write_fit_report
from r3d.io import save_obj
from r3d.learn.report import write_learn_report
from r3d.utils import ico_sphere
from r3d.vis.charts import Series, line_chart

# closes a script and an attribute of either quote, opens elements, holds an entity and rich
# console markup (a closing tag that matches nothing makes rich raise)
HOSTILE = """</script><x-evil a='1' b="2" onload="alert(1)">&amp;[/x][bold]"""
# the same without "/", usable as one file or folder name
HOSTILE_NAME = """<x-evil a='1' b="2" onload=alert(1)>&amp;[bold]"""

runner = CliRunner()


class _Elements(HTMLParser):
    """Every start tag of a page with its attributes, the text outside scripts and styles,
    and each script's (attributes, text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.scripts: list[tuple[dict, str]] = []
        self._raw: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._raw = tag
            if tag == "script":
                self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag):
        if tag == self._raw:
            self._raw = None

    def handle_data(self, data):
        if self._raw == "script":
            attrs, body = self.scripts[-1]
            self.scripts[-1] = (attrs, body + data)
        elif self._raw is None:
            self.texts.append(data)


def check_page(page: str, *hostile: str) -> _Elements:
    """Asserts that no hostile string made an element, an event attribute or a script of its
    own, that every JSON script parses, and that each hostile string reads back whole as text
    (or as a JSON value) of the page; returns the parsed page."""
    elements = _Elements()
    elements.feed(page)
    elements.close()
    assert not [tag for tag, _ in elements.tags if tag == "x-evil"]
    assert not [attrs for _, attrs in elements.tags if "onload" in attrs]
    values = []
    for attrs, body in elements.scripts:
        if attrs.get("type") in ("application/json", "application/octet-stream"):
            if attrs["type"] == "application/json":
                values.append(json.dumps(json.loads(body)))
        else:
            assert "x-evil" not in body and "alert(1)" not in body, "a script holds user text"
    shown = "".join(elements.texts)
    for value in hostile:
        encoded = json.dumps(value)[1:-1]
        assert value in shown or any(encoded in v for v in values), value
    return elements


def test_fit_report_escapes_file_view_metric_and_recipe_text(tmp_path):
    mesh = ico_sphere(1)
    model = save_obj_file(tmp_path / f"{HOSTILE_NAME}.obj", mesh)
    image = np.zeros((8, 8, 3), np.uint8)
    page = write_fit_report(
        tmp_path,
        recipe_text=f"name: '{HOSTILE}'\nviews: {HOSTILE}\n",
        inputs={"mesh": str(model), "views": HOSTILE},
        metrics={"iterations": 3, HOSTILE: 0.5, "note": HOSTILE,
                 "per_view": [{"view": HOSTILE, HOSTILE_NAME: 1.0}]},
        history=[{"total": 1.0, HOSTILE: 0.5}, {"total": 0.5, HOSTILE: 0.25}],
        scored=ScoredViews([HOSTILE], image[None], image[None], np.array([[0.0, 0.0, 3.0]])),
        model_file=model, gt=model,
        machine={"cpu_model": HOSTILE, "peers": {HOSTILE_NAME: HOSTILE}},
    ).read_text(encoding="utf-8")
    elements = check_page(page, HOSTILE, HOSTILE_NAME, f"{HOSTILE_NAME}.obj")
    # the loss named by the user is a chart series, its legend entry reads back whole
    assert [HOSTILE] in [[n for n in names if n != "total"]
                         for names in read_page(tmp_path / "report.html").charts]
    assert any(HOSTILE in alt for tag, attrs in elements.tags if tag == "img"
               for alt in [attrs.get("alt", "")])


def save_obj_file(path: Path, mesh) -> Path:
    save_obj(path, mesh.verts_list()[0], mesh.faces_list()[0])
    return path


def test_learn_report_escapes_recipe_values_and_loss_names(tmp_path):
    recipe = {"model": HOSTILE, "supervision": HOSTILE_NAME, "data": {"root": HOSTILE}}
    summary = {"iterations": 2, "seconds": 1.0, "note": HOSTILE}
    page = write_learn_report(
        tmp_path, recipe=recipe, history=[{"total": 1.0, HOSTILE: 1.0}],
        validation=[], summary=summary,
        machine={"cpu_model": HOSTILE}).read_text(encoding="utf-8")
    check_page(page, HOSTILE, HOSTILE_NAME)


def test_svg_chart_escapes_title_axis_and_series_names():
    chart = line_chart("r3d-chart-1", HOSTILE, [Series(HOSTILE, [0, 1, 2], [1.0, 0.5, 0.2])],
                       xlabel=HOSTILE_NAME)
    elements = check_page(chart, HOSTILE, HOSTILE_NAME)
    svg_texts = [tag for tag, _ in elements.tags if tag == "text"]
    assert svg_texts, "the chart has no axis labels"
    assert [attrs["aria-label"] for tag, attrs in elements.tags if tag == "svg"] == [HOSTILE]


def test_viewer_page_escapes_a_hostile_material_and_file_name(tmp_path):
    folder = tmp_path / HOSTILE_NAME
    folder.mkdir()
    (folder / "m.mtl").write_text(f"newmtl {HOSTILE}\nKd 1 0 0\n", encoding="utf-8")
    obj = folder / f"{HOSTILE_NAME}.obj"
    obj.write_text(f"mtllib m.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nusemtl {HOSTILE}\nf 1 2 3\n",
                   encoding="utf-8")
    out = folder / "page.html"
    result = runner.invoke(app, ["view", str(obj), "--no-open", "--out", str(out)])
    assert result.exit_code == 0, result.output
    check_page(out.read_text(encoding="utf-8"), f"{HOSTILE_NAME}.obj")


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_prints_hostile_paths_as_they_are(tmp_path, as_json):
    """Paths reach the terminal as text, not as rich markup (which would style them, drop
    bracketed parts or raise on a stray closing tag), and JSON output reads back exact."""
    folder = tmp_path / "[" / "x]"  # the path holds "[/x]"
    folder.mkdir(parents=True)
    mesh = save_obj_file(folder / f"{HOSTILE_NAME}.obj", ico_sphere(1))
    out = folder / "[bold]page.html"
    result = runner.invoke(app, ["view", str(mesh), "--no-open", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote{out}" in "".join(result.output.split()), result.output  # wrapped lines
    args = ["info", str(mesh)] + (["--json"] if as_json else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    if as_json:
        assert json.loads(result.stdout)[0]["path"] == str(mesh)
    else:
        assert "".join(str(mesh).split()) in "".join(result.output.split())
