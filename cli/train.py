"""``r3d train`` and ``r3d eval``: single-view shape prediction on the procedural dataset."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from .app import (
    command,
    console,
    exit_interrupted,
    loss_progress,
    loss_updater,
    overwrite_option,
    titled,
)


@command
def train(
    recipe: Path = typer.Argument(None, help="Training recipe (YAML); default: the settings "
                                  "of recipes/shape_mesh_2d.yaml."),
    overrides: list[str] = typer.Option([], "--set", help="Override a recipe key: "
                                        "--set optim.epochs=5 (repeatable)."),
    resume: Path = typer.Option(None, "--resume", help="Continue the run whose output folder "
                                "this is, from its last checkpoint."),
    overwrite: bool = overwrite_option("the output folder (outputs.dir)"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train a network to predict a mesh or point cloud from one image (run it under torchrun
    for several processes)."""
    from r3d.learn.recipe import load_train_recipe
    from r3d.learn.train import TrainInterrupted, resume_recipe
    from r3d.learn.train import train as run_train

    the_recipe = (resume_recipe(resume, overrides) if resume is not None
                  else load_train_recipe(recipe, overrides))
    with loss_progress() as bar:
        data = bar.add_task("dataset", total=None, losses="")
        task = bar.add_task("training", total=None, losses="")

        def data_progress(done: int, total: int) -> None:
            bar.update(data, completed=done, total=total)

        try:
            summary = run_train(the_recipe, resume=resume is not None, overwrite=overwrite,
                                progress=loss_updater(bar, task), data_progress=data_progress)
        except TrainInterrupted as exc:
            exit_interrupted(bar, exc)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"trained {summary['iterations']} iterations on {summary['train_shapes']} "
                  f"shapes in {summary['seconds']:.1f} s ({summary['images_per_second']:.1f} "
                  f"images/s); wrote {the_recipe.outputs.dir}", markup=False)
    if summary["validation"]:
        v = summary["validation"]
        console.print(f"val split at iteration {v['iteration']}: Chamfer-L2 "
                      f"{v['chamfer_l2']:.3f}, F1@0.1/0.3/0.5 {v['f1@0.1']:.1f} / "
                      f"{v['f1@0.3']:.1f} / {v['f1@0.5']:.1f}")


@command(name="eval")
def eval_command(
    checkpoint: Path = typer.Argument(..., help="checkpoint.pt of an r3d train run."),
    data: Path = typer.Option(..., "--data", help="The dataset folder (r3d dataset make)."),
    split: str = typer.Option("test", "--split", help="train, val or test."),
    out: Path = typer.Option(None, "--out", help="Where eval.json and eval.png go (default: "
                             "the checkpoint's folder)."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines",
                                   help="Also score the sphere and nearest-shape baselines."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
) -> None:
    """Score a trained predictor on held-out shapes: Chamfer-L2, normal consistency and F1 at
    0.1, 0.3, 0.5 (the PyTorch3D paper's scale), per family and overall."""
    from r3d.learn.evaluate import evaluate
    from r3d.learn.report import score_rows

    result = evaluate(checkpoint, data, split=split, out=out, baselines=baselines,
                      device=device)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    title = (f"{result['shapes']} {split} shapes ({result['model']}, "
             f"{result['supervision']} supervision)")
    table = Table()
    keys, rows = score_rows(result["methods"])
    for column in ("method", "family", *keys):
        table.add_column(column, justify="left" if column in ("method", "family") else "right")
    for name, family, *scores in rows:
        table.add_row(name, family, *("-" if v is None else f"{v:.3f}" for v in scores))
    console.print(titled(title, table))
