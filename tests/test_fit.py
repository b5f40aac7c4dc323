"""``r3d.fit.run.fit`` end to end on tiny inputs: silhouette, colour, subdivision, resume,
target and camera-pose fits, camera conventions through a fit, and bad input.

Every fit here is tiny (32 px views, ico-sphere level 0-1, a few faces per pixel, a handful
of iterations) so that the whole file runs in seconds on a CPU."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from r3d.errors import FileFormatError, InputError
from r3d.fit.example import COW, cow_sphere
from r3d.fit.rays import auto_cube, sample_pixels
from r3d.fit.recipe import load_recipe
from r3d.fit.run import (
    CHECKPOINT,
    FitInterrupted,
    fit,
    holdout_split,
    prepare_inputs,
    resume_recipe,
)
from r3d.io import load_obj, load_voxels_npz, save_obj, save_ply
from r3d.renderer import (
    FoVPerspectiveCameras,
    MeshRasterizer,
    RasterizationSettings,
    look_at_view_transform,
)
from r3d.runs.outdir import MARKER, run_files
from r3d.structures import Meshes
from r3d.utils import ico_sphere
from r3d.views import save_views

DIST, FOV = 3.0, 50.0
SIZE = 32  # the size the fits resample the views to
VIEW_SIZE = 48  # the size of the saved views
ELEV = [10.0, 35.0, -20.0, 50.0, 0.0, 25.0]
AZIM = [0.0, 60.0, 120.0, 180.0, 240.0, 300.0]
COLOUR = (0.8, 0.4, 0.2)  # the object's flat colour in the views
# small and fast: ~0.1 s per iteration on a CPU
TINY = ["views.image_size=32", "views.per_iteration=2", "views.holdout=2", "init.level=1",
        "init.radius=0.6", "renderer.faces_per_pixel=4", "renderer.sigma=1.0e-3",
        "renderer.gamma=1.0e-3", "stages=[]", "optim.lr=0.05", "optim.schedule=constant",
        "iterations=8", "outputs.every=4", "outputs.checkpoint_every=4"]
OUTPUT_FILES = ("fit.obj", "comparison.png", "progress.gif", "loss.png", "metrics.json",
                "recipe.yaml", CHECKPOINT, "inputs.json")


def tiny(out: Path, *extra: str, base: list[str] = TINY):
    """The default recipe made tiny, writing into ``out``, with ``extra`` overrides."""
    return load_recipe(None, [*base, f"outputs.dir={out}", *extra])


def make_mesh() -> Meshes:
    """A unit sphere with a smaller sphere stuck on at (+X, +Y, +Z): no view is symmetric."""
    big, small = ico_sphere(1), ico_sphere(0)
    verts = [big.verts_packed(), small.verts_packed() * 0.45 + torch.tensor([0.8, 0.5, 0.3])]
    faces = [big.faces_packed(), small.faces_packed() + len(verts[0])]
    return Meshes(verts=[torch.cat(verts)], faces=[torch.cat(faces)])


def silhouettes(mesh: Meshes, cameras, size) -> torch.Tensor:
    """(V, H, W) hard silhouettes in {0, 1}."""
    raster = MeshRasterizer(raster_settings=RasterizationSettings(image_size=size))
    fragments = raster(mesh.extend(len(cameras)), cameras=cameras)
    return (fragments.pix_to_face[..., 0] >= 0).float()


def flat_images(masks: torch.Tensor) -> torch.Tensor:
    return masks[..., None] * torch.tensor(COLOUR)


def look_at_cameras(elev=ELEV, azim=AZIM) -> FoVPerspectiveCameras:
    R, T = look_at_view_transform(dist=DIST, elev=elev, azim=azim)
    return FoVPerspectiveCameras(fov=FOV, znear=0.1, zfar=10.0, R=R, T=T)


def obj_vertices(path: Path) -> np.ndarray:
    """The numbers of the ``v`` lines of an OBJ (3 per vertex, or 6 with colours)."""
    rows = [line.split()[1:] for line in path.read_text().splitlines()
            if line.startswith("v ")]
    return np.array(rows, dtype=np.float64)


def obj_faces(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.startswith("f "))


@pytest.fixture(scope="module")
def mesh() -> Meshes:
    return make_mesh()


@pytest.fixture(scope="module")
def mesh_file(tmp_path_factory, mesh) -> Path:
    path = tmp_path_factory.mktemp("mesh") / "true.obj"
    save_obj(path, mesh.verts_packed(), mesh.faces_packed())
    return path


@pytest.fixture(scope="module")
def views(tmp_path_factory, mesh) -> Path:
    """Six 48 px views (RGBA PNGs of a flat orange object) with cameras.json."""
    folder = tmp_path_factory.mktemp("views")
    cameras = look_at_cameras()
    masks = silhouettes(mesh, cameras, VIEW_SIZE)
    save_views(folder, flat_images(masks), masks, cameras)
    return folder


def history(out: Path) -> list[dict[str, float]]:
    return torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)["history"]


# ---- a point-cloud fit ---------------------------------------------------------------------------


def test_point_cloud_fit_carves_and_colours(tmp_path, views):
    """Points filling a ball: those outside the views' silhouettes fade out, the rest take the
    object's colour; fit.ply holds the visible points with their colours."""
    out = tmp_path / "out"
    recipe = load_recipe(None, [
        "model=points", "init.shape=ball", "init.points=3000", "init.radius=1.5",
        "optimise=[shape, colors]", "losses.rgb=1", "renderer.radius=0.08",
        "renderer.points_per_pixel=6", "views.image_size=32", "views.holdout=2",
        "optim.lr=0.02", "optim.color_lr=0.1", "optim.schedule=constant", "stages=[]",
        "iterations=40", "outputs.every=20", "outputs.checkpoint_every=20",
        f"outputs.dir={out}"])
    metrics = fit(recipe, views=views)
    losses = [h["silhouette"] for h in history(out)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
    assert metrics["mean_iou"] > 0.6
    from r3d.io import IO

    cloud = IO().load_pointcloud(out / "fit.ply")
    points, colours = cloud.points_packed(), cloud.features_packed()
    assert 0 < len(points) < 3000  # some points faded out
    assert (colours.mean(0) - torch.tensor(COLOUR)).abs().max() < 0.15
    assert "fit.ply" in {Path(f).name for f in metrics["files"]}


# ---- a silhouette fit ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silhouette_run(tmp_path_factory, views):
    out = tmp_path_factory.mktemp("fit") / "out"
    seen = []
    metrics = fit(tiny(out, "iterations=10"), views=views,
                  progress=lambda done, total, losses: seen.append((done, total, losses)))
    return out, metrics, seen


def test_silhouette_fit_reduces_the_loss(silhouette_run):
    out, metrics, _ = silhouette_run
    losses = [h["silhouette"] for h in history(out)]
    assert len(losses) == 10
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.7 * first, losses


def test_silhouette_fit_writes_every_output(silhouette_run):
    out, metrics, _ = silhouette_run
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    for key in ("iterations", "mean_iou", "views", "files", "final_loss", "scored_views",
                "iterations_run", "seconds"):
        assert key in saved, key
    assert saved["iterations"] == 10 and saved["iterations_run"] == 10
    assert saved["scored_views"] == "held_out"
    assert [v["view"] for v in saved["views"]] == ["view_001.png", "view_004.png"]
    assert 0 <= saved["mean_iou"] <= 1
    assert saved["mean_iou"] == pytest.approx(np.mean([v["iou"] for v in saved["views"]]),
                                              abs=1e-4)
    assert "pose" not in saved and "surface" not in saved and "mean_psnr" not in saved
    assert saved["files"], "no files listed"
    for name in saved["files"]:
        assert Path(name).is_file(), name
    assert {Path(f).name for f in saved["files"]} >= set(OUTPUT_FILES) - {"inputs.json"}


def test_metrics_list_every_file_written(silhouette_run):
    out, metrics, _ = silhouette_run
    assert sorted(metrics["files"]) == sorted(str(p) for p in out.iterdir()
                                              if p.name != MARKER)
    # and the folder's marker lists them as this run's files
    assert run_files(out) == {"command": "r3d fit",
                              "files": sorted(Path(f).name for f in metrics["files"])}


def test_silhouette_fit_outputs_are_readable(silhouette_run, views):
    out, metrics, _ = silhouette_run
    verts = obj_vertices(out / "fit.obj")
    assert verts.shape == (42, 3) and np.isfinite(verts).all()
    assert obj_faces(out / "fit.obj") == 80
    with Image.open(out / "comparison.png") as image:
        # the two held-out views, input | fit side by side
        assert image.size == (2 * SIZE, 2 * SIZE)
    with Image.open(out / "progress.gif") as gif:
        assert gif.n_frames == 4  # iterations 0, 4, 8 and the end
        assert gif.size == (2 * SIZE, SIZE)
    with Image.open(out / "loss.png") as image:
        assert image.size[0] > 100
    again = load_recipe(out / "recipe.yaml")
    assert again == tiny(out, "iterations=10")
    inputs = json.loads((out / "inputs.json").read_text())
    assert inputs == {"mesh": None, "views": str(views), "target": None, "gt": None}


def test_progress_callback_sees_every_iteration(silhouette_run):
    _, _, seen = silhouette_run
    assert [s[0] for s in seen] == list(range(1, 11))
    assert all(s[1] == 10 for s in seen)
    assert set(seen[0][2]) == {"total", "silhouette", "edge", "laplacian", "normal"}
    for _, _, losses in seen:
        parts = sum(v for k, v in losses.items() if k != "total")
        assert losses["total"] == pytest.approx(parts, rel=1e-5)


def test_bundled_example_runs(tmp_path):
    out = tmp_path / "ex"
    metrics = fit(tiny(out, "example.views=2", "example.image_size=32", "views.holdout=1",
                       "iterations=1", "init.level=0", "outputs.gif=false"))
    assert (out / "example_views" / "cameras.json").is_file()
    assert len(metrics["views"]) == 1
    # the cow is the ground truth of the example: surface scores are reported
    assert set(metrics["surface"]) == {"chamfer_l2", "f_score@0.05", "f_score@0.1"}


def test_bundled_example_is_in_the_cows_frame(tmp_path):
    """The example's cameras look at the centre of the cow of r3d/assets/cow/cow.obj, as its
    file has it (not normalised), from example.dist times its radius."""
    out = tmp_path / "ex"
    recipe = tiny(out, "example.views=3", "example.image_size=32", "views.holdout=1")
    inputs = prepare_inputs(recipe, mesh=None, views=None, target=None, gt=None,
                            device=torch.device("cpu"))
    centre, radius = cow_sphere()
    assert inputs.gt == COW
    cameras = inputs.views(32, torch.device("cpu")).cameras
    distances = (cameras.get_camera_center() - centre).norm(dim=1)
    assert torch.allclose(distances, torch.full((3,), 2.1 * radius), rtol=1e-4)
    assert centre.norm() > 0.1 and abs(radius - 1) > 0.05  # not the unit sphere's frame


# ---- colours and stages --------------------------------------------------------------------------


def test_vertex_colours_through_a_subdivision(tmp_path, views):
    out = tmp_path / "vc"
    metrics = fit(tiny(out, "optimise=[shape, colors]", "losses.rgb=1", "colors=vertex",
                       "optim.color_lr=0.3", "iterations=5", "init.level=0",
                       "stages=[{at: 2, subdivide: true}]"), views=views)
    rows = obj_vertices(out / "fit.obj")
    assert rows.shape == (42, 6)  # v x y z r g b, of the subdivided ico-sphere
    assert obj_faces(out / "fit.obj") == 80
    colours = rows[:, 3:]
    assert ((colours >= 0) & (colours <= 1)).all()
    # the colours moved from grey towards the views' orange
    r, g, b = colours.mean(0)
    assert r > 0.5 > b and r > g > b
    assert "mean_psnr" in metrics and all("psnr" in v for v in metrics["views"])
    assert not (out / "fit.mtl").exists()


@pytest.fixture(scope="module")
def texture_run(tmp_path_factory, views):
    out = tmp_path_factory.mktemp("tex") / "out"
    metrics = fit(tiny(out, "optimise=[shape, colors]", "losses.rgb=1", "colors=texture",
                       "texture_size=8", "optim.color_lr=0.2", "iterations=3"), views=views)
    return out, metrics


def test_texture_colours(texture_run):
    out, metrics = texture_run
    for name in ("fit.obj", "fit.mtl", "fit.png"):
        assert (out / name).is_file(), name
    assert str(out / "fit.obj") in metrics["files"]
    text = (out / "fit.obj").read_text()
    assert "mtllib fit.mtl" in text and "\nvt " in text
    assert "fit.png" in (out / "fit.mtl").read_text()
    with Image.open(out / "fit.png") as image:
        assert image.size == (8, 8)
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64) / 255
    r, g, b = pixels.reshape(-1, 3).mean(0)
    assert r > b  # towards orange somewhere
    verts, faces, aux = load_obj(out / "fit.obj")
    assert aux.verts_uvs is not None and faces.verts_idx.shape == (80, 3)
    assert len(verts) == 42
    assert "mean_psnr" in metrics


def test_texture_files_are_listed(texture_run):
    out, metrics = texture_run
    assert {str(out / "fit.mtl"), str(out / "fit.png")} <= set(metrics["files"])


def test_stage_at_a_fraction_of_the_run(tmp_path, views):
    """at: 0.5 of 4 iterations subdivides at iteration 2; recipe.yaml gives that iteration,
    so a resumed run with more iterations does not move the stage."""
    out = tmp_path / "half"
    fit(tiny(out, "init.level=0", "iterations=4", "outputs.gif=false",
             "stages=[{at: 0.5, subdivide: true}]"), views=views)
    assert obj_faces(out / "fit.obj") == 80
    assert yaml.safe_load((out / "recipe.yaml").read_text())["stages"][0]["at"] == 2
    recipe, _ = resume_recipe(out, ["iterations=8"])
    assert recipe.stage_start(recipe.stages[0]) == 2


def test_subdivide_stage_quadruples_the_faces(tmp_path, views):
    out = tmp_path / "sub"
    fit(tiny(out, "init.level=0", "iterations=4", "stages=[{at: 2, subdivide: true}]"),
        views=views)
    # ico-sphere level 0: 12 vertices, 20 faces; subdivided: 42 vertices, 80 faces
    assert obj_faces(out / "fit.obj") == 4 * 20
    assert len(obj_vertices(out / "fit.obj")) == 42
    state = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)
    assert state["model"]["faces"].shape == (80, 3)
    assert len(state["history"]) == 4


# ---- checkpoints and resume ----------------------------------------------------------------------


def interrupt_at(iteration: int):
    def progress(done, total, losses):
        if done == iteration:
            raise KeyboardInterrupt

    return progress


def checkpoint(out: Path) -> dict:
    return torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)


def test_resume_gives_the_uninterrupted_result(tmp_path, views):
    """Run A uninterrupted; run B interrupted after iteration 3 (last checkpoint: 2), then
    resumed: the same losses and, bit for bit, the same fitted mesh."""
    extra = ["iterations=6", "outputs.checkpoint_every=2", "outputs.every=2"]
    full = tmp_path / "full"
    metrics_a = fit(tiny(full, *extra), views=views)

    cut = tmp_path / "cut"
    with pytest.raises(FitInterrupted) as info:
        fit(tiny(cut, *extra), views=views, progress=interrupt_at(3))
    assert info.value.iteration == 2  # the last checkpoint before iteration 3
    assert f"resume from iteration 2 with --resume {cut}" in str(info.value)
    assert checkpoint(cut)["iteration"] == 2
    assert not (cut / "metrics.json").exists()

    metrics_b = fit(tiny(cut, *extra), views=views, resume=True)
    assert metrics_b["iterations"] == 6 and metrics_b["iterations_run"] == 4
    a, b = checkpoint(full), checkpoint(cut)
    assert a["iteration"] == b["iteration"] == 6
    assert torch.equal(a["model"]["offsets"], b["model"]["offsets"]), \
        (a["model"]["offsets"] - b["model"]["offsets"]).abs().max()
    assert a["history"] == b["history"]
    assert len(a["frames"]) == len(b["frames"]) == 3  # iterations 0, 2, 4
    assert all(np.array_equal(x, y) for x, y in zip(a["frames"], b["frames"], strict=True))
    assert np.array_equal(obj_vertices(full / "fit.obj"), obj_vertices(cut / "fit.obj"))
    assert metrics_a["mean_iou"] == metrics_b["mean_iou"]
    assert metrics_a["final_loss"] == metrics_b["final_loss"]
    with Image.open(cut / "progress.gif") as gif:
        assert gif.n_frames == 4  # and the end


def test_resume_after_a_subdivision_stage(tmp_path, views):
    """Interrupted after a stage that subdivides, changes the image size and the learning
    rate, with vertex colours: resumed, the same result bit for bit."""
    extra = ["init.level=0", "iterations=4", "outputs.checkpoint_every=1", "outputs.gif=false",
             "stages=[{at: 2, subdivide: true, lr: 0.02, image_size: 24}]",
             "optimise=[shape, colors]", "losses.rgb=1"]
    fit(tiny(tmp_path / "a", *extra), views=views)
    with pytest.raises(FitInterrupted) as info:
        fit(tiny(tmp_path / "b", *extra), views=views, progress=interrupt_at(3))
    assert info.value.iteration == 3
    assert checkpoint(tmp_path / "b")["model"]["faces"].shape == (80, 3)
    fit(tiny(tmp_path / "b", *extra), views=views, resume=True)
    a, b = checkpoint(tmp_path / "a"), checkpoint(tmp_path / "b")
    for key in ("offsets", "base", "color_logits"):
        assert torch.equal(a["model"][key], b["model"][key]), key
    assert a["history"] == b["history"]


def test_resume_with_a_recipe_that_does_not_match_the_checkpoint(tmp_path, silhouette_run):
    import shutil

    from r3d.errors import R3DError

    run = tmp_path / "run"
    shutil.copytree(silhouette_run[0], run)
    recipe, paths = resume_recipe(run, ["iterations=12", "optimise=[shape, colors]",
                                        "losses.rgb=1"])
    with pytest.raises(Exception) as info:
        fit(recipe, resume=True, **paths)
    assert isinstance(info.value, R3DError), repr(info.value)


def test_interrupt_before_any_checkpoint(tmp_path, views):
    out = tmp_path / "early"
    with pytest.raises(FitInterrupted) as info:
        fit(tiny(out, "outputs.checkpoint_every=4"), views=views, progress=interrupt_at(1))
    assert info.value.iteration is None
    assert "no checkpoint was written yet" in str(info.value)
    assert not (out / CHECKPOINT).exists()


def test_resume_recipe_reads_the_run_back(tmp_path, views):
    out = tmp_path / "rr"
    with pytest.raises(FitInterrupted):
        fit(tiny(out, "outputs.checkpoint_every=1"), views=views, progress=interrupt_at(1))
    moved = tmp_path / "moved"
    out.rename(moved)  # --resume takes the folder where it now is
    recipe, paths = resume_recipe(moved, ["iterations=2"])
    assert recipe.outputs.dir == moved.resolve()
    assert recipe.iterations == 2 and recipe.views.image_size == 32
    assert paths == {"mesh": None, "views": views, "target": None, "gt": None}
    metrics = fit(recipe, resume=True, **paths)
    assert metrics["iterations"] == 2 and metrics["iterations_run"] == 1


# ---- a target fit --------------------------------------------------------------------------------


def test_target_fit_in_the_targets_frame(tmp_path, mesh):
    shift = torch.tensor([5.0, 0.0, 0.0])
    target = tmp_path / "target.ply"
    g = torch.Generator().manual_seed(1)
    from r3d.ops import sample_points_from_meshes

    points = sample_points_from_meshes(mesh, 2000, generator=g)[0] * 0.5 + shift
    save_ply(target, points)
    out = tmp_path / "t"
    recipe = tiny(out, "input=target", "losses.chamfer=1", "target.samples=300",
                  "optim.type=adam", "optim.lr=0.02", "iterations=10",
                  "init.radius=1.0", "outputs.every=10")
    metrics = fit(recipe, target=target, gt=None)
    losses = [h["chamfer"] for h in history(out)]
    assert np.mean(losses[-3:]) < 0.7 * np.mean(losses[:3]), losses
    verts = obj_vertices(out / "fit.obj")
    centroid = verts.mean(0)
    assert abs(centroid[0] - 5.0) < 0.15 and np.abs(centroid[1:]).max() < 0.15, centroid
    # the object's size, not the unit sphere's
    extent = verts.max(0) - verts.min(0)
    want = (points.amax(0) - points.amin(0)).numpy()
    assert np.allclose(extent, want, rtol=0.3), (extent, want)
    assert "mean_iou" not in metrics and not (out / "comparison.png").exists()
    for name in metrics["files"]:
        assert Path(name).is_file(), name


def test_mesh_target_is_sampled_on_its_surface(tmp_path):
    cube = tmp_path / "cube.obj"
    verts = torch.tensor([[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0)
                          for z in (-1.0, 1.0)])
    faces = torch.tensor([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                          [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    save_obj(cube, verts, faces)
    recipe = load_recipe(None, ["input=target", "losses.chamfer=1", "stages=[]",
                                f"outputs.dir={tmp_path / 'o'}"])
    inputs = prepare_inputs(recipe, mesh=None, views=None, target=cube, gt=None,
                            device=torch.device("cpu"))
    assert inputs.target.shape[0] > 8  # points on the faces, not the 8 corners


# ---- a camera pose fit ---------------------------------------------------------------------------

# every view each iteration, at the views' own size, with a sharp soft silhouette (a blurry one
# barely sees a 10 degree turn at this size)
POSE = ["optimise=[cameras]", "views.holdout=0", "views.per_iteration=6", "losses.edge=0",
        "losses.laplacian=0", "losses.normal=0", f"views.image_size={VIEW_SIZE}",
        "renderer.sigma=1.0e-4", "renderer.gamma=1.0e-4", "renderer.faces_per_pixel=8"]


def test_camera_pose_fit_reduces_the_rotation_error(tmp_path, views, mesh_file):
    out = tmp_path / "pose"
    recipe = tiny(out, *POSE, "pose.perturb_deg=10", "optim.lr=0.02", "iterations=12",
                  "outputs.every=6")
    metrics = fit(recipe, views=views, mesh=mesh_file)
    errors = metrics["pose"]["rotation_error_deg"]
    assert len(errors) == 6 and len(metrics["pose"]["centre_error"]) == 6
    # every view started exactly 10 degrees off
    assert np.mean(errors) < 5.0, errors
    assert max(errors) < 8.0, errors
    assert metrics["scored_views"] == "training"
    # the mesh stays as given (only the cameras move)
    verts = obj_vertices(out / "fit.obj")
    assert np.allclose(verts, make_mesh().verts_packed().numpy(), atol=1e-5)
    start = checkpoint(out)["cameras"]
    assert start["log_rot"].abs().max() > 0


def test_camera_fit_without_perturbation_stays_put(tmp_path, views, mesh_file):
    out = tmp_path / "still"
    recipe = tiny(out, *POSE, "optim.lr=1.0e-7", "iterations=1", "outputs.gif=false")
    metrics = fit(recipe, views=views, mesh=mesh_file)
    assert max(metrics["pose"]["rotation_error_deg"]) < 0.01
    assert max(metrics["pose"]["centre_error"]) < 1e-3
    assert metrics["mean_iou"] > 0.95


# ---- camera conventions through a fit ------------------------------------------------------------


def opengl_camera_to_world(elev_deg: float, azim_deg: float) -> list[list[float]]:
    """The OpenGL camera-to-world matrix (x right, y up, looking along -z) of a camera at
    ``elev``/``azim`` on a sphere of radius DIST looking at the origin, +Y up: numpy only."""
    e, a = math.radians(elev_deg), math.radians(azim_deg)
    eye = DIST * np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
    z = eye / np.linalg.norm(eye)  # the camera looks along -z, i.e. at the origin
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = x, y, z, eye
    return c2w.tolist()


def test_transforms_json_cameras_through_a_fit(tmp_path, mesh, mesh_file):
    """Views of the true mesh with OpenGL camera-to-world matrices: a fit that starts at the
    true mesh and barely moves scores a high IoU on held-out views only when the cameras are
    read right (the mesh has no symmetry; the images are not square)."""
    h, w = 32, 40
    masks = silhouettes(mesh, look_at_cameras(), (h, w))
    folder = tmp_path / "nerf"
    folder.mkdir()
    fl = 0.5 * h / math.tan(math.radians(FOV) / 2)  # the fov is over the shorter side
    doc = {"fl_x": fl, "fl_y": fl, "cx": w / 2, "cy": h / 2, "w": w, "h": h, "frames": []}
    for i, (e, a) in enumerate(zip(ELEV, AZIM, strict=True)):
        rgba = np.zeros((h, w, 4), np.uint8)
        rgba[..., :3] = np.round(np.array(COLOUR) * 255)
        rgba[..., 3] = masks[i].numpy() * 255
        Image.fromarray(rgba).save(folder / f"r_{i}.png")
        doc["frames"].append({"file_path": f"./r_{i}",
                              "transform_matrix": opengl_camera_to_world(e, a)})
    (folder / "transforms.json").write_text(json.dumps(doc))
    assert masks.mean() > 0.1
    out = tmp_path / "o"
    recipe = tiny(out, "views.holdout=3", "optim.lr=1.0e-7", "iterations=1", "outputs.gif=false",
                  f"views.image_size={h}")
    metrics = fit(recipe, views=folder, mesh=mesh_file)
    assert metrics["scored_views"] == "held_out" and len(metrics["views"]) == 3
    assert all(v["iou"] > 0.95 for v in metrics["views"]), metrics["views"]
    with Image.open(out / "comparison.png") as image:
        assert image.size == (2 * w, 3 * h)


# ---- bad input -----------------------------------------------------------------------------------


def test_views_folder_without_cameras(tmp_path):
    folder = tmp_path / "bare"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(folder / "a.png")
    with pytest.raises(FileFormatError) as info:
        fit(tiny(tmp_path / "o"), views=folder)
    message = str(info.value)
    assert str(folder) in message
    assert "cameras.json" in message and "transforms.json" in message


def test_missing_views_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder of views"):
        fit(tiny(tmp_path / "o"), views=tmp_path / "nope")


def test_target_with_a_views_recipe(tmp_path, views):
    target = tmp_path / "t.ply"
    save_ply(target, torch.rand(20, 3))
    with pytest.raises(InputError, match="--target is for recipes with input: target"):
        fit(tiny(tmp_path / "o"), views=views, target=target)


def test_views_with_a_target_recipe(tmp_path, views):
    recipe = tiny(tmp_path / "o", "input=target", "losses.chamfer=1")
    with pytest.raises(InputError, match="--views is for recipes with input: views"):
        fit(recipe, views=views)


@pytest.mark.parametrize("holdout", [6, 7])
def test_holdout_leaves_no_view_to_fit(tmp_path, views, holdout):
    with pytest.raises(InputError, match=f"views.holdout is {holdout} but there are only 6 "
                                         "views"):
        fit(tiny(tmp_path / "o", f"views.holdout={holdout}"), views=views)


def test_holdout_split():
    train, held = holdout_split(6, 2)
    assert held.tolist() == [1, 4] and train.tolist() == [0, 2, 3, 5]
    train, held = holdout_split(6, 5)
    assert len(held) == 5 and len(train) == 1
    train, held = holdout_split(6, 0)
    assert held.tolist() == [] and train.tolist() == list(range(6))


def test_output_folder_is_a_file(tmp_path, views):
    out = tmp_path / "file"
    out.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        fit(tiny(out), views=views)


@pytest.mark.parametrize("content", [b"not a checkpoint", b""])
def test_malformed_checkpoint_on_resume(tmp_path, views, content):
    out = tmp_path / "o"
    out.mkdir()
    (out / CHECKPOINT).write_bytes(content)
    with pytest.raises(FileFormatError, match="not an r3d fit checkpoint"):
        fit(tiny(out), views=views, resume=True)


def test_checkpoint_of_another_version(tmp_path, views):
    out = tmp_path / "o"
    out.mkdir()
    torch.save({"version": 999, "iteration": 3}, out / CHECKPOINT)
    with pytest.raises(FileFormatError, match="an r3d fit checkpoint of format version 999; "
                       "this r3d reads version 2 only"):
        fit(tiny(out), views=views, resume=True)
    torch.save([1, 2, 3], out / CHECKPOINT)
    with pytest.raises(FileFormatError, match="not an r3d fit checkpoint"):
        fit(tiny(out), views=views, resume=True)


def test_resume_without_a_checkpoint(tmp_path, views):
    out = tmp_path / "o"
    with pytest.raises(FileFormatError, match="no checkpoint to resume from"):
        fit(tiny(out), views=views, resume=True)
    # resume_recipe (--resume) names the first missing file of the folder
    out.mkdir(exist_ok=True)
    (out / "recipe.yaml").write_text("iterations: 5\nstages: []\n")
    (out / "inputs.json").write_text('{"mesh": null, "views": null, "target": null, '
                                     '"gt": null}')
    with pytest.raises(FileFormatError) as info:
        resume_recipe(out)
    assert str(out / CHECKPOINT) in str(info.value) and "missing" in str(info.value)
    with pytest.raises(FileFormatError, match="recipe.yaml: missing"):
        resume_recipe(tmp_path / "empty")


def test_resume_with_bad_inputs_json(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "recipe.yaml").write_text("iterations: 5\nstages: []\n")
    (out / "inputs.json").write_text('{"mesh": null}')
    (out / CHECKPOINT).write_bytes(b"x")
    with pytest.raises(FileFormatError, match="inputs.json: not a run's inputs"):
        resume_recipe(out)



# ---- volume and field fits -----------------------------------------------------------------------

# a coloured grid of 16 voxels a side (24 after the stage), few rays and samples: ~0.05 s per step
VOLUME = ["model=volume", "optimise=[shape, colors]", "losses.rgb=1", "losses.tv=1.0e-3",
          "views.image_size=32", "views.per_iteration=2", "views.holdout=2",
          "volume.resolution=16", "volume.rays=256", "volume.points=32", "volume.size=3.2",
          "volume.center=[0, 0, 0]", "stages=[{at: 0.5, resolution: 24}]", "optim.lr=0.1",
          "optim.schedule=constant", "iterations=40", "outputs.every=20",
          "outputs.checkpoint_every=20"]


@pytest.fixture(scope="module")
def volume_run(tmp_path_factory, views, mesh_file):
    out = tmp_path_factory.mktemp("fit") / "out"
    return out, fit(tiny(out, base=VOLUME), views=views, gt=mesh_file)


def test_volume_fit_carves_the_silhouettes_and_takes_the_colour(volume_run, mesh):
    out, metrics = volume_run
    losses = [h["silhouette"] for h in history(out)]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
    assert metrics["mean_iou"] > 0.6 and metrics["mean_psnr"] > 15
    assert "tv" in history(out)[-1]
    grid = load_voxels_npz(out / "fit.npz")
    assert grid.densities.shape == (24, 24, 24) and grid.features.shape == (3, 24, 24, 24)
    assert torch.allclose(grid.center, torch.zeros(3)) and torch.allclose(grid.scale,
                                                                         torch.full((3,), 3.2))
    # fit.obj: the surface of the grid, inside the cube, coloured like the object
    rows = obj_vertices(out / "fit.obj")
    assert rows.shape[1] == 6 and len(rows) > 100
    assert np.abs(rows[:, :3]).max() <= 1.6
    assert np.abs(np.median(rows[:, 3:], axis=0) - COLOUR).max() < 0.2
    # four training views leave floaters where few rays pass, but the true surface is covered
    gaps = torch.cdist(mesh.verts_packed(), torch.from_numpy(rows[:, :3]).float()).amin(1)
    assert torch.quantile(gaps, 0.9) < 0.3, gaps
    assert "chamfer_l2" in metrics["surface"]
    assert {"fit.obj", "fit.npz", "comparison.png", "progress.gif"} <= {
        Path(f).name for f in metrics["files"]}


def test_volume_fit_resumes_bit_for_bit_across_a_resolution_stage(tmp_path, views):
    extra = ["iterations=6", "outputs.checkpoint_every=2", "outputs.every=2",
             "stages=[{at: 3, resolution: 20}]"]
    full, cut = tmp_path / "full", tmp_path / "cut"
    fit(tiny(full, *extra, base=VOLUME), views=views)
    with pytest.raises(FitInterrupted):
        fit(tiny(cut, *extra, base=VOLUME), views=views, progress=interrupt_at(5))
    assert checkpoint(cut)["model"]["density_logits"].shape[-1] == 20
    fit(tiny(cut, *extra, base=VOLUME), views=views, resume=True)
    a, b = checkpoint(full), checkpoint(cut)
    assert a["history"] == b["history"]
    assert torch.equal(a["model"]["density_logits"], b["model"]["density_logits"])


def test_field_fit_learns_the_silhouettes(tmp_path, views):
    out = tmp_path / "out"
    metrics = fit(tiny(out, "model=field", "volume.width=32", "volume.depth=2",
                       "volume.harmonics=4", "stages=[]", "losses.tv=0", "optim.lr=0.01",
                       "iterations=30", base=VOLUME), views=views)
    losses = [h["silhouette"] for h in history(out)]
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5]), losses
    assert checkpoint(out)["model"]["kind"] == "field"
    assert load_voxels_npz(out / "fit.npz").densities.shape == (16, 16, 16)
    assert {"fit.obj", "fit.npz"} <= {Path(f).name for f in metrics["files"]}


@pytest.mark.parametrize("overrides, message", [
    (["input=target", "losses.chamfer=1", "optimise=[shape]"], "model: volume fits views"),
    (["optimise=[shape, cameras]"], "no cameras"),
    (["losses.depth=1"], "no depth loss"),
    (["stages=[{at: 0.5, subdivide: true}]"], "no mesh to subdivide"),
    (["volume.isolevel=1.5"], "volume.isolevel"),
    (["volume.center=[0, 0]"], "volume.center"),
    (["volume.size=-1"], "volume.size"),
    (["model=field"], "model: field has no grid"),
    (["model=mesh", "stages=[]"], "for model: volume"),
])
def test_bad_volume_recipes_are_named(overrides, message):
    with pytest.raises(InputError, match=message):
        load_recipe(None, [*VOLUME, *overrides])


def test_auto_cube_finds_where_the_cameras_look():
    centre = torch.tensor([0.3, -0.2, 0.5])
    R, T = look_at_view_transform(dist=[2.0, 2.5, 3.0, 2.2], elev=[10, 40, -20, 0],
                                  azim=[0, 90, 200, 300], at=centre[None])
    found, side = auto_cube(FoVPerspectiveCameras(R=R, T=T))
    assert torch.allclose(found, centre, atol=1e-5)
    assert side == pytest.approx(2.0, rel=1e-5)


def test_sample_pixels_reads_ndc_points():
    """NDC +X is left and +Y up: (0.75, 0.5) lies in the image's top-left quarter."""
    image = torch.zeros(1, 4, 6, 1)  # wider than high: x spans [-1.5, 1.5]
    image[0, :2, :3] = 1.0
    xys = torch.tensor([[[0.75, 0.5], [-0.75, 0.5], [0.75, -0.5], [1.25, 0.5]]])
    assert sample_pixels(image, xys)[0, :, 0].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_auto_cube_needs_cameras_away_from_the_centre(tmp_path):
    """Cameras at the point they look at leave the auto cube no side: a named error."""
    views = tmp_path / "views"
    R, T = look_at_view_transform(dist=1.0, elev=[0.0, 30.0, 60.0], azim=[0.0, 90.0, 180.0])
    T = torch.zeros_like(T)  # every camera at the origin
    cameras = FoVPerspectiveCameras(fov=FOV, R=R, T=T)
    masks = torch.zeros(3, 16, 16)
    save_views(views, flat_images(masks), masks, cameras)
    with pytest.raises(InputError, match="volume.size"):
        fit(tiny(tmp_path / "out", "volume.size=auto", "views.holdout=1", base=VOLUME),
            views=views)
