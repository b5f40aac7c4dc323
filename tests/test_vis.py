"""The viewer without a browser: the items (counts, colours, notes), the display reductions of
r3d/vis/decimate.py, the embedded GLB, escaping of names and titles, the notebook view, show()'s
and r3d view's errors. tests/test_vis_browser.py draws the pages in a browser."""

from __future__ import annotations

import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import InputError
from r3d.io import IO, VoxelGrid, points_glb_bytes
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.structures.textures import TexturesAtlas, TexturesVertex
from r3d.utils import ico_sphere, torus
from r3d.vis import file_items, items_of, show, viewer_page
from r3d.vis.decimate import cluster_mesh, subsample

DATA = Path(__file__).parent / "data"
COW = DATA / "cow" / "cow.obj"
runner = CliRunner()


def glb_scene(glb: bytes) -> trimesh.Scene:
    return trimesh.load(file_obj=io.BytesIO(glb), file_type="glb", process=False)


def only_geometry(glb: bytes):
    geometries = list(glb_scene(glb).geometry.values())
    assert len(geometries) == 1
    return geometries[0]


def vertex_colours(mesh: trimesh.Trimesh) -> np.ndarray:
    """(V, 3) COLOR_0 of a loaded GLB mesh (trimesh keeps it beside the material)."""
    return np.asarray(mesh.visual.vertex_attributes["color"])[:, :3]


def cloud(n: int, colours: bool = True, seed: int = 0) -> Pointclouds:
    g = torch.Generator().manual_seed(seed)
    points = torch.rand(n, 3, generator=g)
    return Pointclouds([points], features=[points.flip(1)] if colours else None)


class _Elements(HTMLParser):
    """The start tags of a document: (tag, attributes) and the text of each <script>."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append([self._in_script, ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self.scripts[-1][1] += data


def parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    parser.close()
    return parser


def page_config(page: str) -> dict:
    """The viewer configuration a page embeds (its JSON <script>)."""
    configs = [text for attrs, text in parse(page).scripts
               if attrs.get("type") == "application/json"]
    assert len(configs) == 1
    return json.loads(configs[0])


# -- items ------------------------------------------------------------------------------------


def test_textured_mesh_item():
    mesh = IO().load_mesh(COW)
    (item,) = file_items(COW)
    faces, verts = mesh.faces_packed().shape[0], mesh.verts_packed().shape[0]
    assert (item.name, item.kind, item.note) == ("cow.obj", "mesh", None)
    assert item.lines[0] == f"{faces:,} faces · {verts:,} vertices"
    assert item.lines[1] == "UV texture 1024 × 1024"
    assert item.lines[2].startswith("size ")
    assert item.own_colors and item.glb[:4] == b"glTF"
    drawn = only_geometry(item.glb)
    assert drawn.faces.shape[0] == faces
    assert isinstance(drawn.visual, trimesh.visual.TextureVisuals)


def test_plain_and_vertex_coloured_mesh_items():
    sphere = ico_sphere(1)
    verts, faces = sphere.verts_packed(), sphere.faces_packed()
    (plain,) = items_of(sphere)
    assert plain.name == "mesh" and plain.lines[:2] == ["80 faces · 42 vertices", "no textures"]
    assert not plain.own_colors
    colours = torch.rand(verts.shape[0], 3, generator=torch.Generator().manual_seed(0))
    coloured = Meshes([verts], [faces], textures=TexturesVertex([colours]))
    (item,) = items_of(coloured, "ball")
    assert item.name == "ball" and item.lines[1] == "vertex colours" and item.own_colors
    drawn = only_geometry(item.glb)
    np.testing.assert_allclose(drawn.vertices, verts.numpy(), atol=1e-6)
    np.testing.assert_allclose(vertex_colours(drawn), colours.numpy(), atol=1e-6)


def test_atlas_is_shown_as_face_colours():
    sphere = ico_sphere(0)
    faces = sphere.faces_packed().shape[0]
    atlas = torch.rand(1, faces, 2, 2, 3, generator=torch.Generator().manual_seed(0))
    mesh = Meshes(sphere.verts_list(), sphere.faces_list(), textures=TexturesAtlas(atlas))
    (item,) = items_of(mesh)
    assert item.lines[1] == "texture atlas (shown as one colour per face)" and item.own_colors
    drawn = only_geometry(item.glb)
    colours = vertex_colours(drawn).reshape(faces, 3, 3)
    np.testing.assert_allclose(colours, np.repeat(atlas[0].mean(dim=(1, 2)).numpy()[:, None],
                                                  3, axis=1), atol=1e-6)


def test_batch_items_are_named_and_counted_each():
    batch = Meshes([torus(0.2, 1.0, 4, 6).verts_packed(), ico_sphere(0).verts_packed()],
                   [torus(0.2, 1.0, 4, 6).faces_packed(), ico_sphere(0).faces_packed()])
    items = items_of(batch)
    assert [item.name for item in items] == ["mesh 0", "mesh 1"]
    assert [item.lines[0] for item in items] == ["48 faces · 24 vertices",
                                                 "20 faces · 12 vertices"]
    assert [item.name for item in items_of(batch, ["a", "b"])] == ["a", "b"]
    with pytest.raises(InputError, match="expected 2 names"):
        items_of(batch, ["only one"])


def test_empty_items_draw_nothing():
    empty = Meshes([torch.zeros(0, 3)], [torch.zeros(0, 3, dtype=torch.int64)])
    (item,) = items_of(empty)
    assert item.glb is None and item.lines == ["0 faces · 0 vertices", "empty"]
    (points,) = items_of(Pointclouds([torch.zeros(0, 3)]))
    assert points.glb is None and points.lines == ["0 points", "empty"]


def test_point_items_keep_positions_and_colours():
    data = cloud(500)
    (item,) = items_of(data, "scan")
    assert (item.name, item.kind, item.note) == ("scan", "points", None)
    assert item.lines[:2] == ["500 points", "colours"] and item.own_colors
    assert item.point_size == 4.0  # small clouds get bigger points
    drawn = only_geometry(item.glb)
    assert isinstance(drawn, trimesh.PointCloud)
    np.testing.assert_allclose(drawn.vertices, data.points_packed().numpy(), atol=1e-6)
    expected = np.round(data.features_packed().numpy() * 255)
    np.testing.assert_array_equal(drawn.colors[:, :3], expected)
    np.testing.assert_array_equal(drawn.colors[:, 3], 255)
    (plain,) = items_of(cloud(30, colours=False))
    assert plain.lines[:2] == ["30 points", "no colours"] and not plain.own_colors


def test_points_glb_without_colours():
    points = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    drawn = only_geometry(points_glb_bytes(points))
    np.testing.assert_array_equal(drawn.vertices, points)


def test_large_cloud_is_subsampled_with_a_note():
    (item,) = items_of(cloud(1000), max_points=100)
    assert item.lines[0] == "1,000 points"
    assert item.note == "Shown subsampled for display: 100 of 1,000 points"
    drawn = only_geometry(item.glb)
    keep = subsample(1000, 100)
    np.testing.assert_allclose(drawn.vertices, cloud(1000).points_packed().numpy()[keep],
                               atol=1e-6)


def test_large_mesh_is_decimated_with_a_note():
    (item,) = file_items(COW, max_faces=1000)
    assert item.lines[0].startswith("5,856 faces")  # the file's own counts
    match = re.fullmatch(r"Shown decimated for display \(vertex clustering\): ([\d,]+) of "
                         r"5,856 faces; the UV texture is not drawn on the decimated mesh",
                         item.note)
    assert match, item.note
    drawn = only_geometry(item.glb)
    assert drawn.faces.shape[0] == int(match.group(1).replace(",", "")) <= 1000
    assert not item.own_colors  # the palette's colour, not an undrawn texture


def test_volume_item_is_an_isosurface():
    axis = torch.linspace(-1, 1, 16)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij")).norm(dim=0)
    volumes = Volumes((1 - grid)[None, None])
    (item,) = items_of(volumes)
    assert item.name == "volume" and item.lines[0] == "isosurface at the mid density"
    assert item.kind == "mesh" and item.glb is not None
    (level,) = items_of(volumes, isolevel=0.75)
    assert level.lines[0] == "isosurface at density 0.75"
    smaller, larger = (only_geometry(i.glb).extents.max() for i in (level, item))
    assert smaller < larger


def test_file_items_of_clouds_and_grids(tmp_path):
    IO().save_pointcloud(cloud(40), tmp_path / "scan.ply")
    (points,) = file_items(tmp_path / "scan.ply")
    assert (points.name, points.kind, points.lines[0]) == ("scan.ply", "points", "40 points")
    occupancy = torch.zeros(8, 8, 8)
    occupancy[2:6, 2:6, 2:6] = 1
    IO().save_voxels(VoxelGrid(occupancy), tmp_path / "box.npz")
    (grid,) = file_items(tmp_path / "box.npz")
    assert grid.name == "box.npz" and grid.lines[0].startswith("isosurface")


def test_items_of_other_types_is_an_input_error():
    with pytest.raises(InputError, match="got list"):
        items_of([1, 2])


# -- decimation -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_faces", [1, 5, 50, 800, 3000])
def test_cluster_mesh_fits_and_stays_valid(max_faces):
    mesh = torus(0.3, 1.0, 60, 100)  # 12,000 faces
    verts, faces = mesh.verts_packed().double().numpy(), mesh.faces_packed().numpy()
    colours = np.full((verts.shape[0], 3), [0.2, 0.4, 0.6])
    new_verts, new_faces, new_colours = cluster_mesh(verts, faces, colours, max_faces)
    assert 0 < new_faces.shape[0] <= max_faces
    assert new_faces.min() >= 0 and new_faces.max() < new_verts.shape[0]
    assert new_colours.shape == (new_verts.shape[0], 3)
    np.testing.assert_allclose(new_colours, np.broadcast_to([0.2, 0.4, 0.6], new_colours.shape),
                               atol=1e-12)
    corners = np.sort(new_faces, axis=1)
    assert (corners[:, 0] != corners[:, 1]).all() and (corners[:, 1] != corners[:, 2]).all()
    assert np.unique(corners, axis=0).shape[0] == corners.shape[0]  # no repeated face
    if max_faces < 100:
        return  # a handful of faces: too coarse for the box to hold
    # the bounding box, within a cell or so
    extent = verts.max(axis=0) - verts.min(axis=0)
    used = new_verts[np.unique(new_faces)]
    shrink = (used.min(axis=0) - verts.min(axis=0)) + (verts.max(axis=0) - used.max(axis=0))
    assert (shrink <= 0.05 * extent.max()).all(), shrink / extent.max()


def test_cluster_mesh_without_attributes():
    sphere = ico_sphere(4)  # 5,120 faces
    verts, faces, attributes = cluster_mesh(sphere.verts_packed().numpy(),
                                            sphere.faces_packed().numpy(), None, 1000)
    assert attributes is None and faces.shape[0] <= 1000
    # a sphere still: every vertex a face uses near radius 1
    radii = np.linalg.norm(verts[np.unique(faces)], axis=1)
    assert radii.min() > 0.85 and radii.max() <= 1.0 + 1e-6


def test_subsample_is_sorted_unique_and_deterministic():
    keep = subsample(10_000, 300)
    assert keep.shape == (300,) and keep.min() >= 0 and keep.max() < 10_000
    assert (np.diff(keep) > 0).all()
    np.testing.assert_array_equal(keep, subsample(10_000, 300))
    assert not np.array_equal(keep, subsample(10_000, 300, seed=1))


# -- pages: escaping, layouts, show() ----------------------------------------------------------


HOSTILE = "</script><script>alert(1)</script><b x='1' y=\"2\">&amp;"


def test_names_and_titles_are_escaped(tmp_path):
    page_path = show(ico_sphere(0), names=HOSTILE, title=HOSTILE, out=tmp_path / "p.html",
                     open_browser=False)
    page = page_path.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<b x=" not in page
    escaped = html.escape(HOSTILE, quote=True)
    assert f"<title>{escaped}</title>" in page and f"<h1>{escaped}</h1>" in page
    for attrs, text in parse(page).scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in text and ">" not in text
    assert page_config(page)["items"][0]["name"] == HOSTILE


def test_hostile_file_name_is_escaped(tmp_path):
    name = "<script>alert(1)<script>'\"&.ply"
    hostile = tmp_path / name
    hostile.write_bytes((DATA / "tet.ply").read_bytes())
    out = tmp_path / "view.html"
    result = runner.invoke(app, ["view", str(hostile), "--out", str(out), "--no-open"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert f"<h1>{html.escape(name, quote=True)}</h1>" in page
    assert page_config(page)["items"][0]["name"] == name


def test_page_embeds_everything():
    page = viewer_page(items_of(cloud(10)), "t")
    elements = parse(page)
    # every script inline: nothing to fetch
    assert all("src" not in attrs for tag, attrs in elements.tags if tag == "script")
    assert not any(tag == "link" for tag, _ in elements.tags)
    config = page_config(page)
    glb_ids = [item["glb"] for item in config["items"]]
    embedded = {attrs.get("id") for attrs, _ in elements.scripts}
    assert set(glb_ids) <= embedded
    assert config["layout"] == "overlay"
    assert config["view"] == {"azimuth": 30.0, "elevation": 20.0}


def test_palette_colours_only_for_items_without_their_own():
    items = items_of(ico_sphere(0)) + items_of(cloud(5)) + items_of(cloud(5, colours=False))
    colours = [item["color"] for item in page_config(viewer_page(items, "t"))["items"]]
    assert colours[1] is None
    assert colours[0] and colours[2] and colours[0] != colours[2]


def test_show_writes_the_page(tmp_path):
    path = show(ico_sphere(0), cloud(20), out=tmp_path / "two.html", open_browser=False,
                layout="side", view=(0, 45))
    config = page_config(path.read_text(encoding="utf-8"))
    assert [item["name"] for item in config["items"]] == ["mesh", "points"]
    assert config["layout"] == "side" and config["view"] == {"azimuth": 0.0, "elevation": 45.0}


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((ico_sphere(0),), {"layout": "bad"}, "layout must be 'overlay' or 'side', got 'bad'"),
    ((ico_sphere(0),), {"names": ["a", "b"]}, "expected 1 names"),
    ((ico_sphere(0),), {"view": (0, 120)}, "elevation in \\[-90, 90\\]"),
    ((), {}, "give at least one"),
    ((3,), {}, "cannot show a int"),
])
def test_show_errors(tmp_path, args, kwargs, message):
    with pytest.raises(InputError, match=message):
        show(*args, out=tmp_path / "x.html", open_browser=False, **kwargs)
    assert not (tmp_path / "x.html").exists()


# -- the notebook view -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [ico_sphere(1), cloud(20),
                                  Volumes(torch.rand(1, 1, 6, 6, 6,
                                                     generator=torch.Generator().manual_seed(0)))])
def test_repr_html_is_an_iframe_holding_the_page(data):
    output = data._repr_html_()
    tags = parse(output).tags
    assert [tag for tag, _ in tags] == ["iframe"]
    attrs = tags[0][1]
    assert attrs["sandbox"] == "allow-scripts"
    assert attrs["srcdoc"] == viewer_page(items_of(data), type(data).__name__)
    assert page_config(attrs["srcdoc"])["items"][0]["kind"] == (
        "points" if isinstance(data, Pointclouds) else "mesh")


# -- r3d view's errors -------------------------------------------------------------------------


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(("name", "content"), [
    ("cut.ply", b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nend_header\n1\n"),
    ("empty.obj", b"garbage\n"),
    ("broken.glb", b"glTF\x02\x00\x00\x00"),
])
def test_view_of_a_malformed_file_is_one_error_line(tmp_path, name, content):
    bad = tmp_path / name
    bad.write_bytes(content)
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["view", str(bad), "--out", str(out), "--no-open"])
    assert one_error_line(result).startswith(f"error: {bad}")
    assert not out.exists()


def test_view_with_a_bad_layout_is_an_input_error(tmp_path):
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["view", str(DATA / "tet.ply"), "--layout", "bad",
                                 "--out", str(out), "--no-open"])
    assert one_error_line(result) == "error: --layout must be 'overlay' or 'side', got 'bad'"
    assert not out.exists()


def test_view_writes_the_page_and_its_notes(tmp_path):
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["view", str(COW), "--max-faces", "500", "--out", str(out),
                                 "--no-open"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert "cow.obj: Shown decimated for display" in " ".join(result.stdout.split())
    assert page_config(out.read_text(encoding="utf-8"))["items"][0]["name"] == "cow.obj"
