"""The files of a fit, each written atomically into the output folder.

``fit.obj`` (the fitted mesh with its vertex colours, or with ``fit.mtl`` and ``fit.png`` for
a UV texture) or ``fit.ply`` (a fitted point cloud with colours); for a volume or a field,
``fit.npz`` (the grid of per-voxel opacities and colours, :func:`r3d.io.save_voxels_npz`) and
``fit.obj`` (its surface at opacity ``volume.isolevel`` by marching cubes, coloured);
``comparison.png`` (each scored view: input | fit); ``report.html`` (:mod:`r3d.fit.report`:
the scores, every scored view, the fitted shape in a 3D viewer, the curves, recipe and
machine, in one self-contained page); ``progress.gif`` (input | fit every
``outputs.every`` iterations); ``loss.png`` (each weighted loss term per iteration, log
scale); ``metrics.json``; ``recipe.yaml`` (the resolved recipe, stages at their iterations,
which ``--resume`` reads back); ``checkpoint.pt``; and, when the run ends, the folder's
``.r3d-run`` listing them (:mod:`r3d.runs.outdir`).

Everything is in the frame of the inputs (the views' cameras, or the target's), and the
surface scores against a ground truth are computed on the written files, exactly as
``r3d chamfer GT fit.obj`` computes them (:func:`r3d.runs.metrics.surface_scores`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from r3d.fit.fields import FieldModel, VolumeModel
from r3d.fit.frame import from_frame
from r3d.fit.model import MeshModel, PointsModel
from r3d.fit.recipe import Recipe, recipe_to_dict
from r3d.fit.render import render_display
from r3d.fit.report import ScoredViews, write_fit_report
from r3d.io import VoxelGrid, atomic_open, save_obj, save_ply, save_voxels_npz
from r3d.ops import marching_cubes
from r3d.runs.checkpoints import read_checkpoint, recipe_text, write_checkpoint
from r3d.runs.images import to_uint8, write_gif, write_png
from r3d.runs.machine import machine_info
from r3d.runs.metrics import iou, pose_errors, psnr, surface_scores
from r3d.runs.plots import plot_losses
from r3d.structures import Meshes

__all__ = [
    "COMPARISON_VIEWS",
    "plot_losses",
    "read_checkpoint",
    "write_checkpoint",
    "write_outputs",
    "recipe_yaml",
]

COMPARISON_VIEWS = 6  # rows of comparison.png at most


def recipe_yaml(recipe: Recipe) -> str:
    """The text of ``recipe.yaml``: the resolved recipe, each stage at the iteration it starts
    at."""
    return recipe_text(recipe_to_dict(recipe.resolved()))


def _fitted_mesh(state, inputs) -> Meshes:
    """The fitted mesh in the frame of the inputs (a target fit's normalisation undone)."""
    mesh = state.model.meshes()
    return mesh.update_padded(from_frame(mesh.verts_padded(), inputs.target_frame))


def _save_ray_marched(model: VolumeModel | FieldModel, isolevel: float, resolution: int,
                      out: Path) -> list[Path]:
    """``fit.obj`` (the surface at opacity ``isolevel``, vertex colours of the model there)
    and ``fit.npz`` (the opacity grid, a field sampled at ``resolution`` voxels per side, with
    colours); returns them."""
    densities = (model.density_grid() if isinstance(model, VolumeModel)
                 else model.density_grid(resolution))
    R = densities.shape[-1]
    verts, faces = marching_cubes(densities[None], isolevel=isolevel, return_local_coords=True)
    # local [-1, 1] spans the outer voxel centres; the cube spans the voxels' outer faces
    verts = verts[0] * (model.size / 2) * (R - 1) / R + model.center
    colours = model.colors_at(verts) if model.colors else None
    obj, npz = out / "fit.obj", out / "fit.npz"
    save_obj(obj, verts, faces[0], verts_colors=colours)
    grid = VoxelGrid(densities, translate=model.center - model.size / 2, scale=model.size)
    if model.colors:
        features = model.colors_at(grid.voxel_centers().reshape(-1, 3)).T.reshape(3, R, R, R)
        grid = dataclasses.replace(grid, features=features)
    save_voxels_npz(npz, grid)
    return [obj, npz]


def _save_model(state, mesh: Meshes | None, out: Path, recipe: Recipe) -> list[Path]:
    """Writes the fitted model; returns the files written."""
    model = state.model
    if isinstance(model, (VolumeModel, FieldModel)):
        return _save_ray_marched(model, recipe.volume.isolevel, recipe.volume.resolution, out)
    if not isinstance(model, MeshModel):
        path = out / "fit.ply"
        keep = model.visible()
        save_ply(path, model.points.detach()[keep], colors=model.rgb().detach()[keep])
        return [path]
    path = out / "fit.obj"
    verts, faces = mesh.verts_packed().detach(), mesh.faces_packed()
    if model.colors == "texture":
        tex = mesh.textures
        save_obj(path, verts, faces, verts_uvs=tex.verts_uvs_list()[0].detach(),
                 faces_uvs=tex.faces_uvs_list()[0], texture_map=tex.maps_list()[0].detach())
        return [path, path.with_suffix(".mtl"), path.with_suffix(".png")]
    if model.colors == "vertex":
        save_obj(path, verts, faces, verts_colors=mesh.textures.verts_features_list()[0].detach())
    else:
        save_obj(path, verts, faces)
    return [path]


def _score_views(recipe, state, inputs, scored, device) -> tuple[dict, ScoredViews]:
    """Per-view IoU (and PSNR when colours were fitted) of the scored views, and the views
    themselves (inputs, renders of the fit, camera centres)."""
    views = inputs.views(recipe.image_size_at(recipe.iterations), device)
    cameras = state.view_cameras(views, scored.to(device))
    images, masks = render_display(state.model, cameras, views.image_size,
                                   recipe.renderer_at(recipe.iterations))
    targets = views.images[scored] * views.masks[scored][..., None]
    ious = iou(masks, views.masks[scored])
    colours = "colors" in recipe.optimise
    psnrs = psnr(images, targets) if colours else None
    per_view = []
    for k, i in enumerate(scored.tolist()):
        entry = {"view": views.names[i], "iou": round(float(ious[k]), 5)}
        if psnrs is not None:
            entry["psnr"] = round(float(psnrs[k]), 3)
        per_view.append(entry)
    summary = {"views": per_view, "mean_iou": round(float(ious.mean()), 5)}
    if psnrs is not None:
        summary["mean_psnr"] = round(float(psnrs.mean()), 3)
    centers = cameras.get_camera_center().detach().double().cpu().numpy()
    centers = from_frame(torch.from_numpy(centers), inputs.target_frame).numpy()
    return summary, ScoredViews([views.names[i] for i in scored.tolist()], to_uint8(targets),
                                to_uint8(images), centers)


def _has_surface(model, mesh: Meshes | None, written: Path) -> bool:
    """Whether the fit has a surface to score: a mesh, visible points, or a volume or field
    whose surface (``written``, its OBJ) is not empty."""
    if isinstance(model, PointsModel):
        return bool(model.visible().any())
    if isinstance(model, (VolumeModel, FieldModel)):
        with written.open("rb") as f:
            return any(line.startswith(b"f ") for line in f)
    return mesh is not None


def write_outputs(recipe: Recipe, state, inputs, split, device: torch.device,
                  timing: dict) -> dict:
    """Scores the fit, writes every output file; returns the metrics (with ``files``)."""
    out = recipe.outputs.dir
    metrics: dict = {"iterations": state.iteration, **timing,
                     "final_loss": state.history[-1] if state.history else None}
    files = [out / "recipe.yaml", out / "inputs.json"]
    mesh = _fitted_mesh(state, inputs) if isinstance(state.model, MeshModel) else None
    model_files = _save_model(state, mesh, out, recipe)
    files.extend(model_files)
    train, held = split
    if recipe.input == "views":
        scored = held if len(held) else train
        views_metrics, scored_views = _score_views(recipe, state, inputs, scored, device)
        metrics["scored_views"] = "held_out" if len(held) else "training"
        metrics.update(views_metrics)
        rows = np.concatenate([scored_views.inputs, scored_views.renders],
                              axis=2)[:COMPARISON_VIEWS]
        files.append(write_png(out / "comparison.png", rows.reshape(-1, *rows.shape[2:])))
    if inputs.gt is not None and "shape" in recipe.optimise and _has_surface(state.model, mesh,
                                                                       model_files[0]):
        metrics["surface"] = surface_scores(model_files[0], inputs.gt)
    if state.cameras is not None:
        R, T = state.cameras.pose(torch.arange(len(state.cameras.R0), device=device))
        metrics["pose"] = pose_errors(R.detach(), T.detach(), *inputs.true_cameras)
    if recipe.outputs.gif and state.frames:
        files.append(write_gif(out / "progress.gif", state.frames, recipe.outputs.fps))
    if state.history:
        plot_losses(state.history, out / "loss.png")
        files.append(out / "loss.png")
    files.append(out / "checkpoint.pt")
    metrics["files"] = [str(f) for f in [*files, out / "report.html", out / "metrics.json"]]
    write_fit_report(out, recipe_text=(out / "recipe.yaml").read_text(encoding="utf-8"),
                     inputs=json.loads((out / "inputs.json").read_text(encoding="utf-8")),
                     metrics=metrics, history=state.history,
                     scored=scored_views if recipe.input == "views" else None,
                     model_file=model_files[0], gt=inputs.gt, machine=machine_info(device))
    with atomic_open(out / "metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
    return metrics
