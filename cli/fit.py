"""``r3d fit``: reconstruct a mesh or point cloud from images (or a target cloud) by
differentiable rendering, driven by a recipe."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from r3d.errors import InputError

from .app import command, console, exit_interrupted, loss_progress, loss_updater, overwrite_option

# r3d.fit.recipe's QUICK_* caps, spelt out for --quick's help so that `r3d --help` does not
# import torch (tests/test_cli_help.py keeps them equal)
QUICK_ITERATIONS = 100
QUICK_IMAGE_SIZE = 32
QUICK_EXAMPLE_SIZE = 64


@command
def fit(
    mesh: Path = typer.Argument(
        None, help="Starting shape (OBJ, PLY, OFF, STL, GLB); default: the recipe's ico-sphere."
    ),
    views: Path = typer.Option(
        None, "--views", help="Folder of images with cameras.json (r3d) or transforms.json "
        "(instant-ngp / nerfstudio); RGBA or masks/. Default: the bundled cow example."
    ),
    target: Path = typer.Option(
        None, "--target", help="Point cloud or mesh to deform MESH to (recipes with input: "
        "target, e.g. recipes/deform_to_pointcloud.yaml)."
    ),
    recipe: Path = typer.Option(
        None, "--recipe", help="Recipe YAML (default: the settings of "
        "recipes/fit_silhouette.yaml)."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a recipe key: --set optim.lr=0.05 (repeatable)."
    ),
    out: Path = typer.Option(
        None, "--out", help="Output folder (default: the recipe's). It must be missing or "
        "empty, or see --overwrite."
    ),
    overwrite: bool = overwrite_option(),
    quick: bool = typer.Option(
        False, "--quick", help=f"A fast, rough look: at most {QUICK_ITERATIONS} iterations "
        f"(stages keep their share of the run), views and stages at most {QUICK_IMAGE_SIZE} "
        f"px, the bundled example rendered at {QUICK_EXAMPLE_SIZE} px (caps, --set values "
        "included)."
    ),
    gt: Path = typer.Option(
        None, "--gt", help="Ground-truth mesh: report Chamfer-L2 and F-scores against it."
    ),
    resume: Path = typer.Option(
        None, "--resume", help="Continue the run whose output folder this is, from its last "
        "checkpoint."
    ),
    device: str = typer.Option(None, "--device", help="cpu or cuda (default: the recipe's)."),
    up: str = typer.Option(
        None, "--up", help="Up axis of MESH, --target and --gt: +y, -y, +z, -z, +x, -x or auto "
        "(+y for every format); the recipe key up. Views are +Y up, so their cameras are "
        "turned to match (as if the files were turned so that this axis is +Y), and the fit "
        "comes back in the files' frame (default: the recipe's; auto)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON on stdout."),
) -> None:
    """Fit a mesh (or point cloud) to images by differentiable rendering; with no arguments,
    fit an ico-sphere to 20 rendered views of the bundled cow."""
    from r3d.fit.recipe import load_recipe, with_options
    from r3d.fit.recipe import quick as quick_recipe
    from r3d.fit.run import FitInterrupted, resume_recipe
    from r3d.fit.run import fit as run_fit
    from r3d.scene.up import check_up

    extra = [*overrides]
    if resume is not None:
        given = [name for name, value in (("MESH", mesh), ("--views", views),
                                          ("--target", target), ("--recipe", recipe),
                                          ("--out", out), ("--gt", gt), ("--up", up),
                                          ("--overwrite", overwrite or None),
                                          ("--quick", quick or None)) if value is not None]
        if given:
            raise InputError(f"--resume continues a run with its own inputs and recipe; "
                             f"{', '.join(given)} cannot be given with it (use --set to "
                             "change recipe keys)")
        the_recipe, paths = resume_recipe(resume, extra)
    else:
        if up is not None:
            extra.append(f"up={check_up(up, '--up')}")
        the_recipe = load_recipe(recipe, extra)
        the_recipe = quick_recipe(the_recipe) if quick else the_recipe
        paths = {"mesh": mesh, "views": views, "target": target, "gt": gt}
    the_recipe = with_options(the_recipe, out=_path(out), device=device)
    with loss_progress() as bar:
        task = bar.add_task("fitting", total=the_recipe.iterations, losses="")
        try:
            metrics = run_fit(the_recipe, resume=resume is not None, overwrite=overwrite,
                              progress=loss_updater(bar, task),
                              **{k: _path(v) for k, v in paths.items()})
        except FitInterrupted as exc:
            exit_interrupted(bar, exc)
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    _print_summary(metrics, the_recipe.outputs.dir)


def _path(p: Path | None) -> Path | None:
    return None if p is None else p.expanduser().resolve()


def _print_summary(m: dict, out: Path) -> None:
    parts = [f"{m['iterations']} iterations ({m['iterations_per_second']:.2f}/s)"]
    if "mean_iou" in m:
        parts.append(f"{m['scored_views'].replace('_', '-')} IoU {m['mean_iou']:.3f}")
    if "mean_psnr" in m:
        parts.append(f"PSNR {m['mean_psnr']:.2f} dB")
    if "surface" in m:
        s = m["surface"]
        parts.append(f"Chamfer-L2 {s['chamfer_l2']:.5f}, F@0.05 {s['f_score@0.05']:.3f}")
    if "pose" in m:
        parts.append(f"rotation error {max(m['pose']['rotation_error_deg']):.2f} deg")
    console.print("fit done: " + "; ".join(parts))
    console.print(f"wrote {len(m['files'])} files to {out}", markup=False)
