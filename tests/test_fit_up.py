"""``r3d fit`` with files that are not +Y up (the recipe key ``up``, ``r3d fit --up``): the
views' cameras are turned into the files' frame, so a Z-up start mesh and ground truth match
views rendered upright, and the fit comes back in the files' frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import InputError
from r3d.fit.recipe import load_recipe, recipe_to_dict
from r3d.fit.run import fit, prepare_inputs
from r3d.io import save_obj, save_ply
from r3d.renderer import (
    FoVPerspectiveCameras,
    MeshRasterizer,
    RasterizationSettings,
    look_at_view_transform,
)
from r3d.scene.up import up_rotation
from r3d.structures import Meshes
from r3d.utils import ico_sphere
from r3d.views import save_views

CPU = torch.device("cpu")
runner = CliRunner()
# small and fast, as tests/test_fit.py's fits
TINY = ["views.image_size=32", "views.per_iteration=2", "views.holdout=2", "init.level=1",
        "renderer.faces_per_pixel=4", "renderer.sigma=1.0e-3", "renderer.gamma=1.0e-3",
        "stages=[]", "optim.schedule=constant", "outputs.every=1", "outputs.gif=false"]


def _z_up_mesh() -> Meshes:
    """A body tall along +Z (a Z-up file's up) with a knob on its +Z, +X side."""
    body = ico_sphere(1).verts_packed() * torch.tensor([0.45, 0.45, 1.0])
    knob = ico_sphere(0).verts_packed() * 0.3 + torch.tensor([0.3, 0.0, 0.8])
    faces = torch.cat([ico_sphere(1).faces_packed(), ico_sphere(0).faces_packed() + len(body)])
    return Meshes([torch.cat([body, knob])], [faces])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The Z-up mesh as a file, and six views of it rendered upright (turned so that +Z is
    +Y, as ``r3d render --up +z`` draws it), with +Y-up cameras."""
    folder = tmp_path_factory.mktemp("up")
    mesh = _z_up_mesh()
    save_obj(folder / "zup.obj", mesh.verts_packed(), mesh.faces_packed())
    upright = mesh.verts_packed() @ torch.tensor(up_rotation("+z")).T
    R, T = look_at_view_transform(dist=3.0, elev=[10.0, 35, -20, 50, 0, 25],
                                  azim=[0.0, 60, 120, 180, 240, 300])
    cameras = FoVPerspectiveCameras(fov=50.0, znear=0.1, zfar=10.0, R=R, T=T)
    raster = MeshRasterizer(raster_settings=RasterizationSettings(image_size=48))
    shown = Meshes([upright], [mesh.faces_packed()]).extend(6)
    masks = (raster(shown, cameras=cameras).pix_to_face[..., 0] >= 0).float()
    save_views(folder / "views", masks[..., None] * torch.tensor([0.8, 0.4, 0.2]), masks,
               cameras)
    return {"mesh": folder / "zup.obj", "views": folder / "views"}


def _still(out: Path, *extra: str):
    """A recipe that leaves the start mesh where it is (a tiny step, one iteration)."""
    return load_recipe(None, [*TINY, "optim.lr=1.0e-7", "iterations=1", "views.image_size=48",
                              "renderer.sigma=1.0e-4", "renderer.gamma=1.0e-4",
                              "renderer.faces_per_pixel=8", f"outputs.dir={out}", *extra])


def _obj_vertices(path: Path) -> np.ndarray:
    return np.array([line.split()[1:4] for line in path.read_text().splitlines()
                     if line.startswith("v ")], dtype=np.float64)


def test_views_cameras_are_turned_into_the_files_frame(files, tmp_path):
    plain = prepare_inputs(_still(tmp_path / "a"), mesh=None, views=files["views"],
                           target=None, gt=None, device=CPU)
    turned = prepare_inputs(_still(tmp_path / "b", "up=+z"), mesh=None, views=files["views"],
                            target=None, gt=None, device=CPU)
    R0, R1 = plain.views(32, CPU).cameras.R, turned.views(32, CPU).cameras.R
    U = torch.tensor(up_rotation("+z"))
    torch.testing.assert_close(R1, U.T @ R0)
    torch.testing.assert_close(turned.views(32, CPU).cameras.T, plain.views(32, CPU).cameras.T)


def test_a_z_up_start_mesh_matches_upright_views_with_up_z(files, tmp_path):
    scores = {}
    for up in ("+z", "auto"):
        out = tmp_path / up.replace("+", "p")
        metrics = fit(_still(out, f"up={up}"), mesh=files["mesh"], views=files["views"],
                      gt=files["mesh"])
        scores[up] = metrics["mean_iou"]
        # the fit comes back in the files' frame: the start mesh, barely moved
        np.testing.assert_allclose(_obj_vertices(out / "fit.obj"),
                                   _z_up_mesh().verts_packed().numpy(), atol=1e-4)
        if up == "+z":
            assert metrics["surface"]["chamfer_l2"] < 1e-6
    assert scores["+z"] > 0.9 and scores["auto"] < 0.6, scores


def test_a_target_fit_stays_in_the_targets_frame(files, tmp_path):
    target = tmp_path / "target.ply"
    points = _z_up_mesh().verts_packed() + torch.tensor([4.0, 0.0, 0.0])
    save_ply(target, points)
    frames = {}
    for up in ("+z", "auto"):
        out = tmp_path / up.replace("+", "p")
        recipe = load_recipe(None, [*TINY, "input=target", "losses.chamfer=1",
                                    "target.samples=100", "iterations=2", "init.radius=1.0",
                                    f"up={up}", f"outputs.dir={out}"])
        fit(recipe, target=target)
        verts = _obj_vertices(out / "fit.obj")
        assert abs(verts.mean(0)[0] - 4.0) < 0.3  # where the target is, not turned
        frames[up] = verts
    # the same fit either way (only its progress renders are turned)
    np.testing.assert_allclose(frames["+z"], frames["auto"], atol=1e-5)


def test_the_bundled_example_refuses_another_up(tmp_path):
    with pytest.raises(InputError, match="bundled example, which is \\+Y up"):
        prepare_inputs(_still(tmp_path / "e", "up=-z"), mesh=None, views=None, target=None,
                       gt=None, device=CPU)


def test_recipe_key_up_is_checked_and_written_back():
    recipe = load_recipe(None, ["up=-X"])
    assert recipe.up == "-x" and recipe_to_dict(recipe)["up"] == "-x"
    assert load_recipe(None).up == "auto"
    with pytest.raises(InputError, match="up must be one of auto"):
        load_recipe(None, ["up=sideways"])


def test_cli_bad_up_exits_2_with_one_line(tmp_path):
    result = runner.invoke(app, ["fit", "--up", "z", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "--up must be one of auto, +y" in lines[0], result.output
    result = runner.invoke(app, ["fit", "--resume", str(tmp_path), "--up", "+z"])
    assert result.exit_code == 2 and "--up cannot be given with it" in result.output
