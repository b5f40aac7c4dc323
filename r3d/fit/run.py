"""One ``r3d fit`` run: inputs, the optimisation loop with its stages, checkpoints, outputs.

:func:`fit` is the whole run. The state of a run (:class:`FitState`: models, optimiser, random
generators, loss history, progress frames) is saved to ``checkpoint.pt`` every
``outputs.checkpoint_every`` iterations, so that ``fit(..., resume=True)`` continues a killed run
from its last checkpoint with the same results as an uninterrupted one (the checkpoint holds
only tensors and plain data, :mod:`r3d.runs.checkpoints`). Ctrl-C raises
:class:`FitInterrupted` naming the checkpoint to resume from; nothing half-written is left.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from r3d.errors import FileFormatError, InputError, RunInterrupted
from r3d.fit import example
from r3d.fit.fields import FieldModel, VolumeModel
from r3d.fit.frame import Frame, normalised
from r3d.fit.model import CameraModel, MeshModel, PointsModel, sphere_points
from r3d.fit.outputs import recipe_yaml, write_outputs
from r3d.fit.rays import auto_cube, ray_span, render_rays, sample_pixels
from r3d.fit.recipe import RAY_MARCHED, Recipe, load_recipe, recipe_to_dict, with_options
from r3d.fit.render import render_display, render_model
from r3d.io import IO
from r3d.loss import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
)
from r3d.ops import sample_points_from_meshes
from r3d.renderer import FoVPerspectiveCameras, look_at_view_transform
from r3d.runs.checkpoints import (
    checkpoint_recipe,
    read_checkpoint,
    recipe_text,
    write_checkpoint,
)
from r3d.runs.devices import resolve_device
from r3d.runs.images import to_uint8
from r3d.runs.outdir import output_folder
from r3d.runs.schedules import cosine_decay
from r3d.scene.up import resolve_up, up_rotation
from r3d.structures import Meshes
from r3d.transforms import so3_exp_map
from r3d.utils import ico_sphere
from r3d.value_checks import check_errors
from r3d.views import ViewSet, load_views

__all__ = [
    "CHECKPOINT",
    "FitInputs",
    "FitInterrupted",
    "FitState",
    "cosine_decay",
    "fit",
    "fit_step",
    "holdout_split",
    "new_state",
    "prepare_inputs",
    "resume_recipe",
]

CHECKPOINT = "checkpoint.pt"
RUN_INPUTS = "inputs.json"  # the input paths of a run, read back by --resume
OPACITY_LR_SCALE = 10.0  # point opacities (logits) learn this much faster than positions
TARGET_MESH_SAMPLES = 10000  # points sampled on a mesh given as the target (at least)
CHECKPOINT_VERSION = 2  # 2: only tensors and plain data (read with weights_only=True)
Progress = Callable[[int, int, dict[str, float]], None]  # (iteration done, total, losses)


FitInterrupted = RunInterrupted  # raised on Ctrl-C, naming the checkpoint to resume from


@dataclass
class FitInputs:
    """What a fit is fitted to and scored against.

    Attributes:
        views_dir: folder of the views (images + cameras), or None for a target fit.
        target: (P, 3) target points, centred and scaled into the unit sphere, or None.
        target_frame: (centre (3,), scale) mapping normalised target points back:
            original = centre + scale * normalised.
        init_mesh: the starting mesh (one mesh), or None for the recipe's start shape.
        gt: the ground-truth mesh file to score against (in the frame of the inputs), or
            None.
        true_cameras: the views' own (R (V, 3, 3), T (V, 3)) when camera poses are fitted.
        turn: None, or (3, 3) from :func:`_up_turn`: the run's files are not +Y up, and every
            camera (the views', ``pose.init``, the progress camera) is turned into their frame.
    """

    views_dir: Path | None = None
    target: torch.Tensor | None = None
    target_frame: Frame | None = None
    init_mesh: Meshes | None = None
    gt: Path | None = None
    true_cameras: tuple[torch.Tensor, torch.Tensor] | None = None
    turn: torch.Tensor | None = None
    _views: dict[int, ViewSet] = field(default_factory=dict)

    def views(self, size: int, device: torch.device) -> ViewSet:
        """The views resampled to ``size`` pixels high (loaded once per size), their cameras
        turned by ``turn``."""
        if size not in self._views:
            views = load_views(self.views_dir, image_size=size, device=device)
            views.cameras.R = _turned(views.cameras.R, self.turn)
            self._views[size] = views
        return self._views[size]


def _up_turn(up: str, device: torch.device) -> torch.Tensor | None:
    """How cameras are turned for a run whose files have up axis ``up`` (the recipe's).

    r3d's cameras (views, ``pose.init``, the progress camera) are +Y up. Rather than turn the
    files so that ``up`` is +Y and turn the fit back when it is written, the run stays in the
    files' frame and the cameras are turned into it: a camera R (row vectors, X_view = X R +
    T) becomes U^T R, where U turns ``up`` into +Y (:func:`r3d.scene.up.up_rotation`). The
    renders are the same, and fit.obj and the scores are in the frame of the files.

    Returns:
        (3, 3) U^T, or None when ``up`` is +Y (or auto).
    """
    axis = resolve_up(up)
    if axis == "+y":
        return None
    return torch.tensor(up_rotation(axis), dtype=torch.float32, device=device).T


def _turned(R: torch.Tensor, turn: torch.Tensor | None) -> torch.Tensor:
    """(N, 3, 3) camera rotations R turned into the files' frame by ``turn`` (see
    :func:`_up_turn`; R itself for None)."""
    return R if turn is None else turn.to(R) @ R


# ---- inputs --------------------------------------------------------------------------------


def _load_mesh(path: Path, device: torch.device) -> Meshes:
    mesh = IO().load_mesh(path, include_textures=False, device=device)
    if mesh.isempty() or len(mesh.faces_packed()) == 0:
        raise FileFormatError(path, "the mesh has no faces")
    return mesh


def _load_target(path: Path, samples: int, device: torch.device) -> torch.Tensor:
    """Points sampled on a mesh file (one with faces), or the points of a point cloud file."""
    io = IO()
    try:
        mesh = io.load_mesh(path, include_textures=False, device=device)
    except FileFormatError:  # no faces (a point cloud), or not a mesh format
        points = io.load_pointcloud(path, device=device).points_packed()
    else:
        points = sample_points_from_meshes(mesh, max(samples, TARGET_MESH_SAMPLES))[0]
    if points.shape[0] == 0:
        raise FileFormatError(path, "the target has no points")
    return points


def prepare_inputs(recipe: Recipe, *, mesh: Path | None, views: Path | None,
                   target: Path | None, gt: Path | None, device: torch.device) -> FitInputs:
    """The run's inputs; with neither ``views`` nor ``target`` the bundled example's (views of
    the cow rendered into the output folder, or points sampled on it, the cow as ground
    truth)."""
    out = recipe.outputs.dir
    if resolve_up(recipe.up) != "+y" and (views, target) == (None, None):
        raise InputError(f"up: {recipe.up} names the up axis of the files a fit is given, "
                         "but this run uses the bundled example, which is +Y up; give --views "
                         "or --target with it")
    if gt is not None:
        _load_mesh(gt, device)  # checked now, read again when the fit is scored
    inputs = FitInputs(init_mesh=None if mesh is None else _load_mesh(mesh, device), gt=gt,
                       turn=_up_turn(recipe.up, device))
    if recipe.input == "views":
        if target is not None:
            raise InputError("--target is for recipes with input: target (e.g. "
                             "deform_to_pointcloud.yaml); this recipe fits views")
        if views is None:
            views = example.example_views(recipe.example, out / "example_views", str(device))
            inputs.gt = inputs.gt or example.COW
            if "cameras" in recipe.optimise and inputs.init_mesh is None:
                inputs.init_mesh = _load_mesh(example.COW, device)
        inputs.views_dir = views
        base = inputs.views(recipe.views.image_size, device)
        _check_view_counts(recipe, len(base))
        if "cameras" in recipe.optimise:
            inputs.true_cameras = (base.cameras.R.clone(), base.cameras.T.clone())
        return inputs
    if views is not None:
        raise InputError("--views is for recipes with input: views; this recipe fits a target "
                         "(--target)")
    if target is None:
        cow = _load_mesh(example.COW, device)
        g = torch.Generator(device=device).manual_seed(recipe.seed)
        points = sample_points_from_meshes(cow, TARGET_MESH_SAMPLES, generator=g)[0]
        inputs.gt = inputs.gt or example.COW
    else:
        points = _load_target(target, recipe.target_samples, device)
    inputs.target, inputs.target_frame = normalised(points)
    return inputs


def _check_view_counts(recipe: Recipe, n: int) -> None:
    v = recipe.views
    if n - v.holdout < 1:
        raise InputError(f"views.holdout is {v.holdout} but there are only {n} views: at least "
                         "one must be left to fit")


def holdout_split(n: int, holdout: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training view indices, held-out indices): ``holdout`` evenly spaced views held out."""
    held = sorted({int((i + 0.5) * n / holdout) for i in range(holdout)}) if holdout else []
    train = [i for i in range(n) if i not in held]
    return torch.tensor(train, dtype=torch.int64), torch.tensor(held, dtype=torch.int64)


# ---- state ---------------------------------------------------------------------------------


@dataclass
class FitState:
    """Everything that changes during a run (saved in checkpoints)."""

    model: MeshModel | PointsModel | VolumeModel | FieldModel
    cameras: CameraModel | None
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    iteration: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)

    def view_cameras(self, views: ViewSet, idx: torch.Tensor):
        """The cameras of views ``idx`` (n,): the views' own, or their fitted poses."""
        cameras = views.cameras[idx]
        return cameras if self.cameras is None else self.cameras.cameras(cameras, idx)

    def to_dict(self, recipe: Recipe) -> dict:
        """The checkpoint of this state (read back by :func:`load_checkpoint`)."""
        return {
            "version": CHECKPOINT_VERSION,
            "iteration": self.iteration,
            "model": self.model.state(),
            "cameras": None if self.cameras is None else self.cameras.state(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "history": self.history,
            "frames": [torch.from_numpy(frame) for frame in self.frames],
            "recipe": recipe_text(recipe_to_dict(recipe)),
        }


def _optimizer(recipe: Recipe, model, cameras: CameraModel | None) -> torch.optim.Optimizer:
    o = recipe.optim
    groups = []
    if "shape" in recipe.optimise:
        groups.append({"params": model.shape_parameters(), "lr": o.lr, "base_lr": o.lr})
        if isinstance(model, PointsModel):
            lr = o.lr * OPACITY_LR_SCALE
            groups.append({"params": model.opacity_parameters(), "lr": lr, "base_lr": lr})
    if "colors" in recipe.optimise:
        lr = o.color_lr or o.lr
        groups.append({"params": model.color_parameters(), "lr": lr, "base_lr": lr})
    if cameras is not None:
        lr = o.camera_lr or o.lr
        groups.append({"params": list(cameras.parameters()), "lr": lr, "base_lr": lr})
    if o.type == "sgd":
        return torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum)
    return torch.optim.Adam(groups, lr=o.lr)




def lr_factor(recipe: Recipe, iteration: int) -> float:
    """The schedule's multiplier of the base learning rates at ``iteration`` (a stage's
    ``lr`` rescales them from its start on)."""
    o = recipe.optim
    if o.schedule == "cosine":
        factor = cosine_decay(iteration, recipe.iterations, o.min_lr)
    elif o.schedule == "step":
        factor = o.gamma ** (iteration // o.step_every)
    else:
        factor = 1.0
    for stage in recipe.started_stages(iteration):
        if stage.lr is not None:
            factor *= stage.lr / o.lr
    return factor


MODELS = {"mesh": MeshModel, "points": PointsModel, "volume": VolumeModel, "field": FieldModel}


def _start_ray_marched(recipe: Recipe, views: ViewSet) -> VolumeModel | FieldModel:
    """A volume (every voxel at ``volume.start_density``) or a field filling the recipe's
    cube, or the one the views look at."""
    v, cameras = recipe.volume, views.cameras
    center, size = auto_cube(cameras)
    if v.center is not None:
        center = torch.tensor(v.center, dtype=cameras.R.dtype, device=cameras.R.device)
    size = size if v.size is None else v.size
    if size <= 0:
        raise InputError("volume.size: auto found a camera at the centre the views look at, "
                         "so the cube has no side; give volume.size (and volume.center)")
    span = ray_span(cameras, center, size, v.points)
    colors = "colors" in recipe.optimise
    if recipe.model == "volume":
        logit = math.log(v.start_density / (1 - v.start_density))
        return VolumeModel(center, size, span, v.resolution, logit, colors)
    return FieldModel(center, size, span, colors, v.width, v.depth, v.harmonics)


def _start_model(recipe: Recipe, inputs: FitInputs, generator: torch.Generator,
                 device: torch.device):
    colors = "colors" in recipe.optimise
    init = recipe.init
    if recipe.model in RAY_MARCHED:
        return _start_ray_marched(recipe, inputs.views(recipe.views.image_size, device))
    if recipe.model == "points":
        if inputs.init_mesh is not None:
            points = sample_points_from_meshes(inputs.init_mesh, init.points)[0]
        else:
            points = sphere_points(init.points, init.radius, generator,
                                   fill=init.shape == "ball").to(device)
        return PointsModel(points, colors)
    if inputs.init_mesh is not None:
        mesh = inputs.init_mesh
    else:
        mesh = ico_sphere(init.level, device=device)
        mesh = mesh.update_padded(mesh.verts_padded() * init.radius)
    return MeshModel(mesh.verts_packed(), mesh.faces_packed(),
                     recipe.colors if colors else None, recipe.texture_size).to(device)


def _start_cameras(recipe: Recipe, views: ViewSet, generator: torch.Generator) -> CameraModel:
    """Camera poses to fit: from ``pose.init`` or the views' own, perturbed by
    ``pose.perturb_deg`` about a random axis."""
    R, T = views.cameras.R.detach(), views.cameras.T.detach()
    pose = recipe.pose
    if pose.init is not None:
        R, T = look_at_view_transform(pose.init.dist, pose.init.elev, pose.init.azim,
                                      device=R.device)
        R = _turned(R, _up_turn(recipe.up, R.device))
        R, T = R.expand(len(views), 3, 3), T.expand(len(views), 3)
    if pose.perturb_deg > 0:
        axis = torch.randn(len(views), 3, generator=generator)
        axis = axis / axis.norm(dim=1, keepdim=True)
        Q = so3_exp_map(axis * math.radians(pose.perturb_deg)).to(R)
        R = Q @ R
    return CameraModel(R, T)


def new_state(recipe: Recipe, inputs: FitInputs, device: torch.device) -> FitState:
    """The state a run starts from (seeded with ``recipe.seed``)."""
    generator = torch.Generator().manual_seed(recipe.seed)
    torch.manual_seed(recipe.seed)
    model = _start_model(recipe, inputs, generator, device)
    cameras = None
    if "cameras" in recipe.optimise:
        cameras = _start_cameras(recipe, inputs.views(recipe.views.image_size, device),
                                 generator).to(device)
    return FitState(model, cameras, _optimizer(recipe, model, cameras), generator)


RESUME_FIXED = ("model", "input", "optimise", "colors")  # keys a resumed run cannot change


def _check_resumable(recipe: Recipe, saved: dict, path: Path) -> None:
    """InputError when ``recipe`` changes what the checkpoint's run optimises."""
    now = recipe_to_dict(recipe)
    for key in RESUME_FIXED:
        if key in saved and saved[key] != now[key]:
            raise InputError(f"{path}: the checkpoint's run has {key}: {saved[key]}; a resumed "
                             f"run cannot change it (got {now[key]})")


def load_checkpoint(recipe: Recipe, device: torch.device) -> FitState:
    """The state saved in ``<outputs.dir>/checkpoint.pt``."""
    path = recipe.outputs.dir / CHECKPOINT
    data = read_checkpoint(path, CHECKPOINT_VERSION, "fit",
                           "no checkpoint to resume from (none was written yet)")
    _check_resumable(recipe, checkpoint_recipe(data, path), path)
    m = data["model"]
    model = MODELS[m["kind"]].from_state(m, device)
    cameras = None if data["cameras"] is None else CameraModel.from_state(data["cameras"],
                                                                          device)
    optimizer = _optimizer(recipe, model, cameras)
    optimizer.load_state_dict(data["optimizer"])
    generator = torch.Generator()
    generator.set_state(data["generator"])
    torch.set_rng_state(data["torch_rng"])
    return FitState(model, cameras, optimizer, generator, data["iteration"], data["history"],
                    [frame.numpy() for frame in data["frames"]])


# ---- one step ------------------------------------------------------------------------------


def _losses(recipe: Recipe, state: FitState, inputs: FitInputs, train: torch.Tensor,
            device: torch.device) -> dict[str, torch.Tensor]:
    """The weighted loss terms (weight > 0 only) of one iteration."""
    w = recipe.losses
    terms: dict[str, torch.Tensor] = {}
    is_mesh = isinstance(state.model, MeshModel)
    mesh = state.model.meshes() if is_mesh else None
    if recipe.model in RAY_MARCHED:
        terms = _ray_losses(recipe, state, inputs, train, device)
    elif recipe.input == "views":
        views, idx = _train_views(recipe, state, inputs, train, device)
        cameras = state.view_cameras(views, idx)
        want_depth = w.depth > 0 and views.depths is not None
        r = render_model(state.model, cameras, recipe.renderer_at(state.iteration),
                         views.image_size, rgb=w.rgb > 0, depth=want_depth)
        masks = views.masks[idx]
        if w.silhouette > 0:
            terms["silhouette"] = (r.alpha - masks).square().mean()
        if w.rgb > 0:
            terms["rgb"] = (r.rgb - views.images[idx] * masks[..., None]).square().mean()
        if want_depth:
            target = views.depths[idx]
            valid = (target > 0) & (r.depth > 0)
            terms["depth"] = ((r.depth - target).abs() * valid).sum() / valid.sum().clamp(min=1)
    else:
        g = torch.Generator(device=device).manual_seed(int(torch.randint(2**62, (1,),
                                                                         generator=state.generator)))
        pick = torch.randint(len(inputs.target), (recipe.target_samples,), generator=g,
                             device=device)
        x = sample_points_from_meshes(mesh, recipe.target_samples, generator=g)
        terms["chamfer"] = chamfer_distance(x, inputs.target[pick][None])[0]
    if is_mesh and w.edge > 0:
        terms["edge"] = mesh_edge_loss(mesh)
    if is_mesh and w.laplacian > 0:
        terms["laplacian"] = mesh_laplacian_smoothing(mesh, method="uniform")
    if is_mesh and w.normal > 0:
        terms["normal"] = mesh_normal_consistency(mesh)
    return {k: getattr(w, k) * v for k, v in terms.items()}


def _train_views(recipe: Recipe, state: FitState, inputs: FitInputs, train: torch.Tensor,
                 device: torch.device) -> tuple[ViewSet, torch.Tensor]:
    """The views at this iteration's size and ``views.per_iteration`` random training views
    among them (indices (n,) on ``device``)."""
    views = inputs.views(recipe.image_size_at(state.iteration), device)
    pick = torch.randperm(len(train), generator=state.generator)[: recipe.views.per_iteration]
    return views, train[pick].to(device)


def _ray_losses(recipe: Recipe, state: FitState, inputs: FitInputs, train: torch.Tensor,
                device: torch.device) -> dict[str, torch.Tensor]:
    """The loss terms of a volume or field: ``volume.rays`` random rays of each picked view,
    their colours and opacities against the pixels they hit; total variation of the grids."""
    w = recipe.losses
    views, idx = _train_views(recipe, state, inputs, train, device)
    rgb, alpha, xys = render_rays(state.model, views.cameras[idx], views.image_size,
                                  recipe.volume.rays)
    masks = views.masks[idx][..., None]
    target = sample_pixels(torch.cat([views.images[idx] * masks, masks], dim=-1), xys)
    terms: dict[str, torch.Tensor] = {}
    if w.silhouette > 0:
        terms["silhouette"] = (alpha - target[..., 3]).square().mean()
    if w.rgb > 0:
        terms["rgb"] = (rgb - target[..., :3]).square().mean()
    grids = state.model.regularised()
    if w.tv > 0 and grids:
        terms["tv"] = sum(total_variation(g) for g in grids)
    return terms


def total_variation(grid: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring voxels of grids (n, C, D, H, W), summed over
    the three axes."""
    return sum(grid.diff(dim=d).square().mean() for d in (2, 3, 4))


def _apply_stages(recipe: Recipe, state: FitState) -> None:
    """Starts the stages that begin at this iteration (subdivision or a new grid resolution:
    a new model and a fresh optimiser)."""
    for stage in recipe.stages:
        if recipe.stage_start(stage) != state.iteration:
            continue
        if stage.subdivide:
            state.model = state.model.subdivided()
        elif stage.resolution is not None and recipe.model == "volume":
            state.model = state.model.upsampled(stage.resolution)
        else:
            continue
        state.optimizer = _optimizer(recipe, state.model, state.cameras)


def fit_step(recipe: Recipe, state: FitState, inputs: FitInputs, train: torch.Tensor | None,
             device: torch.device) -> dict[str, float]:
    """One iteration: stages starting now, learning rates, losses, an optimiser step.
    ``train``: the training views' indices (None for a target fit). Returns the losses."""
    _apply_stages(recipe, state)
    factor = lr_factor(recipe, state.iteration)
    for group in state.optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    terms = _losses(recipe, state, inputs, train, device)
    total = sum(terms.values())
    state.optimizer.zero_grad(set_to_none=True)
    total.backward()
    state.optimizer.step()
    losses = {"total": float(total.detach()), **{k: float(v.detach()) for k, v in terms.items()}}
    check_errors()  # reading the losses synchronised: raise the checks deferred on a GPU
    state.history.append(losses)
    state.iteration += 1
    return losses


# ---- frames --------------------------------------------------------------------------------


def progress_frame(recipe: Recipe, state: FitState, inputs: FitInputs, view: int,
                   device: torch.device) -> np.ndarray:
    """(H, 2W, 3) uint8: the input view beside the current fit rendered from it (for a target
    fit: the fit from a fixed camera)."""
    if recipe.input == "views":
        views = inputs.views(recipe.image_size_at(recipe.iterations), device)
        idx = torch.tensor([view], device=device)
        cameras = state.view_cameras(views, idx)
        target = views.images[idx] * views.masks[idx][..., None]
    else:
        R, T = look_at_view_transform(2.7, 20.0, 150.0, device=device)
        cameras = FoVPerspectiveCameras(R=_turned(R, inputs.turn), T=T, device=device)
        target = None
    size = views.image_size if target is not None else (128, 128)
    image, _ = render_display(state.model, cameras, size,
                              recipe.renderer_at(recipe.iterations))
    if target is None:
        return to_uint8(image[0])
    return to_uint8(torch.cat([target[0], image[0]], dim=1))


def resume_recipe(folder: str | os.PathLike,
                  overrides: list[str] = ()) -> tuple[Recipe, dict[str, Path | None]]:
    """The recipe (``recipe.yaml``, ``overrides`` applied, outputs in ``folder``) and the input
    paths (``inputs.json``) of the run whose output folder is ``folder``."""
    folder = Path(folder).expanduser().resolve()
    for name in ("recipe.yaml", RUN_INPUTS, CHECKPOINT):
        if not (folder / name).is_file():
            raise FileFormatError(folder / name, "missing: --resume takes the output folder of "
                                  "a run that wrote a checkpoint")
    recipe = with_options(load_recipe(folder / "recipe.yaml", overrides), out=folder)
    try:
        paths = json.loads((folder / RUN_INPUTS).read_text(encoding="utf-8"))
        inputs = {k: None if paths[k] is None else Path(paths[k])
                  for k in ("mesh", "views", "target", "gt")}
    except (ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(folder / RUN_INPUTS, f"not a run's inputs ({exc})") from None
    return recipe, inputs


# ---- the run -------------------------------------------------------------------------------


def _write_resumable(recipe: Recipe, state: FitState, paths: dict[str, Path | None]) -> None:
    """The checkpoint with ``recipe.yaml`` and ``inputs.json`` (the input ``paths``), what
    --resume reads back, as one set (:func:`~r3d.runs.checkpoints.write_checkpoint`). Written
    with each checkpoint, not when the run starts: a run killed before its first one leaves no
    files behind (a new run can take the folder), and one resuming with another recipe on a
    full disk leaves the earlier run's files as they were."""
    out = recipe.outputs.dir
    write_checkpoint(state.to_dict(recipe), out / CHECKPOINT, beside={
        out / "recipe.yaml": recipe_yaml(recipe),
        out / RUN_INPUTS: json.dumps(paths, indent=2, default=str)})


def fit(recipe: Recipe, *, mesh: Path | None = None, views: Path | None = None,
        target: Path | None = None, gt: Path | None = None, resume: bool = False,
        overwrite: bool = False, progress: Progress | None = None) -> dict:
    """Runs a fit and writes its outputs into ``recipe.outputs.dir``, as one run's set of
    files (:func:`r3d.runs.outdir.output_folder`: a missing or empty folder; with
    ``overwrite`` one holding an earlier run's outputs, replaced; with ``resume`` the folder
    of the run it continues); returns the metrics.

    Raises FitInterrupted on Ctrl-C (the last checkpoint stays), InputError/FileFormatError
    for bad inputs.
    """
    keep = [p for p in (mesh, views, target, gt) if p is not None]
    with output_folder(recipe.outputs.dir, "r3d fit", overwrite=overwrite, resume=resume,
                       keep=keep):
        return _run(recipe, mesh=mesh, views=views, target=target, gt=gt, resume=resume,
                    progress=progress)


def _run(recipe: Recipe, *, mesh: Path | None, views: Path | None, target: Path | None,
         gt: Path | None, resume: bool, progress: Progress | None) -> dict:
    """:func:`fit` in its prepared output folder."""
    start = time.perf_counter()
    device = resolve_device(recipe.device)
    out = recipe.outputs.dir
    inputs = prepare_inputs(recipe, mesh=mesh, views=views, target=target, gt=gt, device=device)
    state = load_checkpoint(recipe, device) if resume else new_state(recipe, inputs, device)
    paths = {"mesh": mesh, "views": views, "target": target, "gt": gt}
    train, held = (holdout_split(len(inputs.views(recipe.views.image_size, device)),
                                 recipe.views.holdout)
                   if recipe.input == "views" else (None, None))
    frame_view = int(held[0]) if held is not None and len(held) else 0
    saved = state.iteration if resume else None
    first, loop_start = state.iteration, time.perf_counter()
    try:
        while state.iteration < recipe.iterations:
            if state.iteration % recipe.outputs.every == 0:
                state.frames.append(progress_frame(recipe, state, inputs, frame_view, device))
            losses = fit_step(recipe, state, inputs, train, device)
            if (state.iteration % recipe.outputs.checkpoint_every == 0
                    or state.iteration == recipe.iterations):
                _write_resumable(recipe, state, paths)
                saved = state.iteration
            if progress is not None:
                progress(state.iteration, recipe.iterations, losses)
    except KeyboardInterrupt:
        raise FitInterrupted(out, saved) from None
    loop_seconds = time.perf_counter() - loop_start
    if first >= recipe.iterations:  # nothing to run: the files of the run as it is now
        _write_resumable(recipe, state, paths)
    state.frames.append(progress_frame(recipe, state, inputs, frame_view, device))
    return write_outputs(recipe, state, inputs, (train, held), device, {
        "iterations_run": state.iteration - first,
        "iterations_per_second": round((state.iteration - first) / max(loop_seconds, 1e-9), 3),
        "seconds": round(time.perf_counter() - start, 2),
    })
