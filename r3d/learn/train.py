"""``r3d train``: single-view shape prediction trained from 2D (silhouettes of other views)
or 3D (Chamfer to the true shape) supervision on the procedural dataset.

Each step takes ``batch_size`` training shapes, one random input view each, predicts their
shapes (:class:`~r3d.learn.predictor.ShapePredictor`) and scores them: 2D supervision renders
each prediction softly from ``views_per_item`` random views of its shape (meshes: the soft
silhouette rasteriser, points: splats) against their masks (and colours); 3D supervision
compares points sampled on every stage's mesh (or the predicted points) with points sampled
on the true shape. Mesh predictions add edge, Laplacian and normal-consistency regularisers on
every stage.

Outputs in ``outputs.dir``: ``checkpoint.pt`` (every ``checkpoint_every`` iterations and at the
end; ``resume`` continues from it), ``log.csv`` (one row per ``log_every`` iterations: losses),
``loss.png``, ``metrics.csv`` and ``metrics.png`` (the val split's scores, as ``r3d eval``
computes them, every ``eval_every`` iterations and at the end), ``recipe.yaml``,
``train.json`` (summary), ``report.html`` (:mod:`r3d.learn.report`: the scores, interactive
loss and validation curves, the recipe, timings and machine in one self-contained page;
``r3d eval`` adds its scores and predictions), and when the run ends ``.r3d-run`` listing the
run's files (:mod:`r3d.runs.outdir`: a new run needs a missing or empty folder, ``overwrite``
replaces an earlier run's outputs). Distributed: run under ``torchrun`` (WORLD_SIZE > 1):
a process group (gloo on the CPU, nccl on CUDA), DistributedDataParallel, each rank takes its
share of every batch; rank 0 writes the files; every rank writes ``sync_rank<r>.json`` (a
checksum of its parameters) at the end.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from r3d.datasets.procedural import ProceduralShapes, make_dataset
from r3d.errors import FileFormatError, InputError, RunInterrupted
from r3d.io import atomic_open
from r3d.learn.predictor import ShapePredictor
from r3d.learn.recipe import TrainRecipe, load_train_recipe, train_recipe_to_dict
from r3d.learn.report import write_learn_report
from r3d.learn.scores import model_scores, plot_scores
from r3d.loss import (
    chamfer_distance,
    mesh_edge_loss,
    mesh_laplacian_smoothing,
    mesh_normal_consistency,
    silhouette_iou_loss,
)
from r3d.ops import sample_points_from_meshes
from r3d.renderer import FoVPerspectiveCameras
from r3d.runs.checkpoints import read_checkpoint, recipe_text, write_checkpoint
from r3d.runs.devices import resolve_device
from r3d.runs.machine import machine_info
from r3d.runs.outdir import output_folder
from r3d.runs.plots import plot_losses
from r3d.runs.rendering import render_points, render_soft
from r3d.runs.schedules import cosine_decay
from r3d.structures import Meshes
from r3d.value_checks import check_errors

__all__ = [
    "CHECKPOINT",
    "TrainInterrupted",
    "load_checkpoint",
    "load_items",
    "prepare_data",
    "resume_recipe",
    "train",
]

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_VERSION = 2  # 2: only tensors and plain data (read with weights_only=True)
SAMPLES = 2000  # points sampled per shape for 3D supervision
Progress = Callable[[int, int, dict[str, float]], None]


TrainInterrupted = RunInterrupted  # raised on Ctrl-C, naming the checkpoint to resume from


# ---- data ----------------------------------------------------------------------------------


def prepare_data(recipe: TrainRecipe, progress: Callable[[int, int], None] | None = None,
                 device: torch.device | str = "cpu") -> Path:
    """The dataset folder; with ``data.make`` the dataset is generated or completed first
    (nothing is done when it is complete)."""
    d = recipe.data
    if not d.make and not (d.root / "dataset.json").is_file():
        raise InputError(f"{d.root} holds no dataset (dataset.json); make one with "
                         "r3d dataset make, or set data.make: true")
    if d.make:
        make_dataset(d.root, families=d.families, shapes_per_family=d.shapes_per_family,
                     views=d.views, image_size=d.image_size, seed=d.seed, progress=progress,
                     device=device)
    return d.root


def load_items(root: Path, split: str, device: torch.device) -> list[dict]:
    """Every item of a split, in memory on ``device`` (the datasets are small)."""
    data = ProceduralShapes(root, split)
    if len(data) == 0:
        raise InputError(f"{root}: the {split} split is empty")
    return [{k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in data[i].items()}
            for i in range(len(data))]


def _validation_items(root: Path, device: torch.device) -> list[dict]:
    try:
        return load_items(root, "val", device)
    except InputError as exc:
        raise InputError(f"{exc}: nothing to score every outputs.eval_every iterations "
                         "(set it to 0 to train without validation)") from None


@dataclass
class Batch:
    """One batch: inputs (B views) and supervision (B * k views: views k*b .. k*b + k - 1 are
    of shape b), and the true shapes."""

    images: torch.Tensor
    R: torch.Tensor
    T: torch.Tensor
    fov: torch.Tensor
    sup_masks: torch.Tensor
    sup_images: torch.Tensor
    sup_cameras: FoVPerspectiveCameras
    gt: Meshes


def make_batch(items: list[dict], k: int, generator: torch.Generator,
               device: torch.device) -> Batch:
    """A random input view of each item and ``k`` random supervision views."""
    inp, sup = [], []
    for item in items:
        v = item["masks"].shape[0]
        inp.append(int(torch.randint(v, (1,), generator=generator)))
        sup.append(torch.randperm(v, generator=generator)[:k].tolist())

    def pick(key: str, idx: list[int]) -> torch.Tensor:
        return torch.stack([item[key][i] for item, i in zip(items, idx)])

    def pick_sup(key: str) -> torch.Tensor:
        return torch.stack([item[key][i] for item, views in zip(items, sup) for i in views])

    masks, sup_masks = pick("masks", inp), pick_sup("masks")
    return Batch(
        images=pick("images", inp) * masks[..., None],
        R=pick("R", inp), T=pick("T", inp), fov=pick("fov", inp),
        sup_masks=sup_masks,
        sup_images=pick_sup("images") * sup_masks[..., None],
        sup_cameras=FoVPerspectiveCameras(fov=pick_sup("fov"), R=pick_sup("R"),
                                          T=pick_sup("T"), device=device),
        gt=Meshes([i["verts"] for i in items], [i["faces"] for i in items]),
    )


# ---- losses --------------------------------------------------------------------------------


def _supervised_renders(recipe: TrainRecipe, prediction, batch: Batch, rgb: bool):
    """Soft renders of each prediction from its ``views_per_item`` supervision views."""
    k = recipe.data.views_per_item
    size = tuple(batch.sup_masks.shape[1:3])
    if recipe.model == "mesh":
        mesh = prediction[-1]
        return render_soft(mesh[[i for i in range(len(mesh)) for _ in range(k)]],
                           batch.sup_cameras, recipe.renderer, size, rgb=rgb, depth=False)
    points = prediction.points_padded().repeat_interleave(k, dim=0)
    colours = (prediction.features_padded().repeat_interleave(k, dim=0) if rgb
               else torch.full_like(points, 0.5))
    return render_points(points, colours, torch.ones_like(points[..., 0]), batch.sup_cameras,
                         recipe.renderer, size)


def losses(recipe: TrainRecipe, prediction, batch: Batch) -> dict[str, torch.Tensor]:
    """The weighted loss terms of a prediction (the stages' Meshes or Pointclouds)."""
    w = recipe.losses
    terms: dict[str, torch.Tensor] = {}
    is_mesh = recipe.model == "mesh"
    if recipe.supervision == "2d":
        r = _supervised_renders(recipe, prediction, batch, rgb=w.rgb > 0)
        if w.silhouette > 0:
            terms["silhouette"] = w.silhouette * (r.alpha - batch.sup_masks).square().mean()
        if w.iou > 0:
            terms["iou"] = w.iou * silhouette_iou_loss(r.alpha, batch.sup_masks)
        if w.rgb > 0:
            terms["rgb"] = w.rgb * (r.rgb - batch.sup_images).square().mean()
    else:
        y = sample_points_from_meshes(batch.gt, SAMPLES)
        preds = prediction if is_mesh else [prediction]
        terms["chamfer"] = w.chamfer * sum(
            chamfer_distance(p if not is_mesh else sample_points_from_meshes(p, SAMPLES), y)[0]
            for p in preds)
    if is_mesh:
        for name, fn, weight in (("edge", mesh_edge_loss, w.edge),
                                 ("laplacian", mesh_laplacian_smoothing, w.laplacian),
                                 ("normal", mesh_normal_consistency, w.normal)):
            if weight > 0:
                terms[name] = weight * sum(fn(m) for m in prediction)
    return terms


# ---- state ---------------------------------------------------------------------------------


@dataclass
class TrainState:
    """What changes during a training run (saved in checkpoints): the predictor, its
    optimiser, the generator of batch views, the iterations done, their losses and the
    validation scores (rows with their iteration)."""

    model: ShapePredictor
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    iteration: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)


def _new_state(recipe: TrainRecipe, device: torch.device) -> TrainState:
    torch.manual_seed(recipe.seed)
    model = ShapePredictor.for_recipe(recipe).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.optim.lr,
                                 weight_decay=recipe.optim.weight_decay)
    return TrainState(model, optimizer, torch.Generator().manual_seed(recipe.seed))


def load_checkpoint(path: Path) -> dict:
    """The data of a training checkpoint (FileFormatError for anything else)."""
    return read_checkpoint(path, CHECKPOINT_VERSION, "training", "no checkpoint here")


def state_from_checkpoint(data: dict, recipe: TrainRecipe, device: torch.device) -> TrainState:
    """The state a checkpoint's data saved, for ``recipe`` (the one it was made with)."""
    state = _new_state(recipe, device)
    try:
        state.model.load_state_dict(data["model"])
    except RuntimeError as exc:
        raise InputError(f"the checkpoint's weights do not fit the recipe (resume with the "
                         f"network and losses it was made with): {exc}") from None
    state.optimizer.load_state_dict(data["optimizer"])
    state.generator.set_state(data["generator"])
    torch.set_rng_state(data["torch_rng"])
    state.iteration, state.history = data["iteration"], data["history"]
    state.validation = data.get("validation", [])
    return state


def _checkpoint(recipe: TrainRecipe, state: TrainState) -> dict:
    return {"version": CHECKPOINT_VERSION, "iteration": state.iteration,
            "model": state.model.state_dict(), "optimizer": state.optimizer.state_dict(),
            "generator": state.generator.get_state(), "torch_rng": torch.get_rng_state(),
            "history": state.history, "validation": state.validation,
            "recipe": recipe_text(train_recipe_to_dict(recipe))}


def _write_resumable(recipe: TrainRecipe, state: TrainState) -> None:
    """The checkpoint with ``recipe.yaml``, what --resume reads back, as one set
    (:func:`~r3d.runs.checkpoints.write_checkpoint`). Written with each checkpoint, not when
    the run starts: a run killed before its first one leaves no files behind, and one resuming
    with another recipe on a full disk leaves the earlier run's files as they were."""
    out = recipe.outputs.dir
    write_checkpoint(_checkpoint(recipe, state), out / CHECKPOINT,
                     beside={out / "recipe.yaml": recipe_text(train_recipe_to_dict(recipe))})


def resume_recipe(folder: str | os.PathLike, overrides: list[str] = ()) -> TrainRecipe:
    """The recipe of the run whose output folder is ``folder`` (outputs kept there)."""
    folder = Path(folder).expanduser().resolve()
    if not (folder / "recipe.yaml").is_file():
        raise FileFormatError(folder / "recipe.yaml", "missing: --resume takes the output "
                              "folder of a training run")
    return load_train_recipe(folder / "recipe.yaml", [*overrides, f"outputs.dir={folder}"])


# ---- the run -------------------------------------------------------------------------------


def _distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size), joining the process group when torchrun started several."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _checksum(model: torch.nn.Module) -> str:
    """A hash of the parameters (not the buffers: batch-norm statistics are each rank's own)."""
    buffer = io.BytesIO()
    for name, value in sorted(model.named_parameters()):
        buffer.write(name.encode())
        buffer.write(value.detach().cpu().contiguous().numpy().tobytes())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def train(recipe: TrainRecipe, resume: bool = False, progress: Progress | None = None,
          data_progress: Callable[[int, int], None] | None = None,
          overwrite: bool = False) -> dict:
    """Trains as the recipe says (continuing the checkpoint in ``outputs.dir`` when
    ``resume``); returns a summary (iterations, seconds, images per second, final losses).

    The outputs are one run's set of files (:func:`r3d.runs.outdir.output_folder`, on rank 0):
    ``outputs.dir`` must be missing or empty; with ``overwrite`` an earlier run's outputs there
    are replaced; with ``resume`` it is the folder of the run to continue.
    """
    device = resolve_device(recipe.device)
    rank, world = _distributed(device)
    if rank:
        return _train(recipe, resume, progress, data_progress, device, rank, world)
    with output_folder(recipe.outputs.dir, "r3d train", overwrite=overwrite, resume=resume,
                       keep=[recipe.data.root]):
        return _train(recipe, resume, progress, data_progress, device, rank, world)


def _train(recipe: TrainRecipe, resume: bool, progress: Progress | None,
           data_progress: Callable[[int, int], None] | None, device: torch.device, rank: int,
           world: int) -> dict:
    """:func:`train` in its prepared output folder, as process ``rank`` of ``world``."""
    out = recipe.outputs.dir
    saved_state = load_checkpoint(out / CHECKPOINT) if resume else None  # before the data
    root = prepare_data(recipe, data_progress if rank == 0 else None, device) if rank == 0 \
        else recipe.data.root
    if world > 1:
        dist.barrier()  # rank 0 made the dataset
    items = load_items(root, "train", device)
    every = recipe.outputs.eval_every
    val_items = _validation_items(root, device) if every and rank == 0 else []
    state = (state_from_checkpoint(saved_state, recipe, device) if resume
             else _new_state(recipe, device))
    model = DistributedDataParallel(state.model) if world > 1 else state.model
    o = recipe.optim
    if len(items) < o.batch_size or o.batch_size % world:
        raise InputError(f"optim.batch_size ({o.batch_size}) must be at most the training "
                         f"shapes ({len(items)}) and a multiple of the processes ({world})")
    per_epoch = len(items) // o.batch_size  # the last partial batch is dropped
    total = per_epoch * o.epochs
    start, first, saved = time.perf_counter(), state.iteration, state.iteration or None
    try:
        while state.iteration < total:
            epoch, step = divmod(state.iteration, per_epoch)
            order = torch.randperm(len(items), generator=torch.Generator().manual_seed(
                recipe.seed * 100003 + epoch)).tolist()
            chosen = order[step * o.batch_size:(step + 1) * o.batch_size][rank::world]
            batch = make_batch([items[i] for i in chosen], recipe.data.views_per_item,
                               state.generator, device)
            terms = losses(recipe, model(batch.images, batch.R, batch.T, batch.fov), batch)
            loss = sum(terms.values())
            lr = o.lr * cosine_decay(state.iteration, total, o.final_lr)
            for group in state.optimizer.param_groups:
                group["lr"] = lr
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            state.optimizer.step()
            state.iteration += 1
            record = {"total": float(loss.detach()),
                      **{k: float(v.detach()) for k, v in terms.items()}}
            check_errors()  # reading the losses synchronised: raise checks deferred on a GPU
            state.history.append(record)
            if val_items and (state.iteration % every == 0 or state.iteration == total):
                scores = model_scores(state.model, val_items)["overall"]
                state.validation.append({"iteration": state.iteration, **scores})
            if rank == 0 and (state.iteration % recipe.outputs.checkpoint_every == 0
                              or state.iteration == total):
                _write_resumable(recipe, state)
                saved = state.iteration
            if progress is not None and rank == 0:
                progress(state.iteration, total, record)
    except KeyboardInterrupt:
        raise TrainInterrupted(out, saved) from None
    if rank == 0 and first >= total:  # nothing to run: the files of the run as it is now
        _write_resumable(recipe, state)
    seconds = time.perf_counter() - start
    done = state.iteration - first
    summary = {"iterations": state.iteration, "epochs": o.epochs, "train_shapes": len(items),
               "seconds": round(seconds, 2),
               "images_per_second": round(done * o.batch_size / max(seconds, 1e-9), 2),
               "final_loss": state.history[-1] if state.history else None,
               "validation": state.validation[-1] if state.validation else None,
               "world_size": world}
    if world > 1:
        with atomic_open(out / f"sync_rank{rank}.json", "w") as f:
            json.dump({"rank": rank, "checksum": _checksum(state.model)}, f)
        dist.barrier()  # every rank's file is written before rank 0 lists the run's files
    if rank == 0 and state.history:
        log_every = recipe.outputs.log_every
        _write_csv(out / "log.csv", [dict(iteration=i + 1, **h)
                                     for i, h in enumerate(state.history)
                                     if (i + 1) % log_every == 0 or i + 1 == len(state.history)])
        plot_losses(state.history, out / "loss.png")
    if rank == 0 and state.validation:
        _write_csv(out / "metrics.csv", state.validation)
        plot_scores(state.validation, out / "metrics.png")
    if rank == 0:
        with atomic_open(out / "train.json", "w") as f:
            json.dump(summary, f, indent=2)
        write_learn_report(out, recipe=train_recipe_to_dict(recipe), history=state.history,
                           validation=state.validation, summary=summary,
                           machine=machine_info(device))
    return summary
