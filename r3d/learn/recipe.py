"""Training recipes of ``r3d train``: data, network, losses, optimisation, outputs (YAML).

A recipe (every key optional; defaults: ``recipes/shape_mesh_2d.yaml``)::

    model: mesh                   # mesh (MeshHead) or points (PointsHead)
    supervision: 2d               # 2d: silhouettes (and colours) of other views; 3d: Chamfer
                                  #   to points sampled on the true shape
    data: {root: datasets/procedural, views_per_item: 4, make: true,
           families: [chair, table, lamp, mug, airplane], shapes_per_family: 20, views: 8,
           image_size: 64, seed: 0}
                                  # make: generate the procedural dataset at root when it is
                                  #   not there (cached; r3d dataset make does the same)
    network: {widths: [16, 32, 64, 128], hidden: 64, stages: 3, level: 1, radius: 0.5,
              points: 1024}
    losses: {silhouette: 0.0, iou: 1.0, rgb: 0.0, edge: 0.2, laplacian: 0.2, normal: 0.01,
             chamfer: 1.0}
                                  # chamfer: 3d supervision only; silhouette, iou (1 - soft
                                  #   IoU per view) and rgb (the heads then predict colours):
                                  #   2d only
    renderer: {sigma: 1.0e-4, gamma: 1.0e-4, faces_per_pixel: 10, radius: 0.04,
               points_per_pixel: 8}
    optim: {lr: 2.0e-3, final_lr: 0.05, batch_size: 8, epochs: 600, weight_decay: 0.0}
                                  # final_lr: the rate at the end as a fraction of lr (a
                                  #   cosine decay; 1: constant)
    outputs: {dir: train_out, log_every: 10, checkpoint_every: 100, eval_every: 200}
                                  # eval_every: scores on the val split (metrics.csv/.png)
    seed: 0
    device: cpu

Relative paths resolve against the recipe's folder; ``--set key.path=value`` overrides keys.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r3d.datasets.procedural import FAMILIES
from r3d.errors import InputError
from r3d.runs.rendering import RendererSpec
from r3d.schema import (
    Node,
    dataclass_section,
    dataclass_to_plain,
    field_names,
    load_yaml,
)

__all__ = ["DataSpec", "LossSpec", "NetworkSpec", "TrainOptimSpec", "TrainOutputs",
           "TrainRecipe", "load_train_recipe", "train_recipe_from_node", "train_recipe_to_dict"]

MODELS = ("mesh", "points")
SUPERVISION = ("2d", "3d")


@dataclass(frozen=True)
class DataSpec:
    """The procedural dataset at ``root`` (made there when missing and ``make``);
    ``views_per_item`` views of each training shape supervise its prediction (2d)."""

    root: Path = Path("datasets/procedural")
    views_per_item: int = 4
    make: bool = True
    families: tuple[str, ...] = FAMILIES
    shapes_per_family: int = 20
    views: int = 8
    image_size: int = 64
    seed: int = 0


@dataclass(frozen=True)
class NetworkSpec:
    """Encoder widths, mesh-head width, stages, start level and radius, points of the
    point head."""

    widths: tuple[int, ...] = (16, 32, 64, 128)
    hidden: int = 64
    stages: int = 3
    level: int = 1
    radius: float = 0.5
    points: int = 1024


@dataclass(frozen=True)
class LossSpec:
    """Weights of the loss terms (0: off): ``silhouette`` (per-pixel squared error) and
    ``iou`` (1 - soft IoU per image) compare soft silhouettes with the views' masks, ``rgb``
    (per-pixel squared error) soft renders of predicted colours with the views' images (the
    heads then predict colours)."""

    silhouette: float = 0.0
    iou: float = 1.0
    rgb: float = 0.0
    edge: float = 0.2
    laplacian: float = 0.2
    normal: float = 0.01
    chamfer: float = 1.0


@dataclass(frozen=True)
class TrainOptimSpec:
    """Adam's learning rate (decaying along a cosine to ``final_lr`` times it; 1: constant)
    and weight decay, shapes per batch, passes over the data."""

    lr: float = 2e-3
    final_lr: float = 0.05
    batch_size: int = 8
    epochs: int = 600
    weight_decay: float = 0.0


@dataclass(frozen=True)
class TrainOutputs:
    """Output folder, a log line every ``log_every`` iterations, checkpoints, validation
    scores every ``eval_every`` iterations (0: none)."""

    dir: Path = Path("train_out")
    log_every: int = 10
    checkpoint_every: int = 100
    eval_every: int = 200


@dataclass(frozen=True)
class TrainRecipe:
    """Everything one training run needs (see the module docstring)."""

    model: str = "mesh"
    supervision: str = "2d"
    data: DataSpec = field(default_factory=DataSpec)
    network: NetworkSpec = field(default_factory=NetworkSpec)
    losses: LossSpec = field(default_factory=LossSpec)
    renderer: RendererSpec = field(default_factory=lambda: RendererSpec(faces_per_pixel=10,
                                                                        radius=0.04,
                                                                        points_per_pixel=8))
    optim: TrainOptimSpec = field(default_factory=TrainOptimSpec)
    outputs: TrainOutputs = field(default_factory=TrainOutputs)
    seed: int = 0
    device: str = "cpu"


_DEFAULTS = "<train recipe defaults>"
_TOP = tuple(f.name for f in dataclasses.fields(TrainRecipe))


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise ValueError(value)
    return tuple(value)


def _families(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or any(v not in FAMILIES for v in items):
        raise ValueError(value)
    return tuple(dict.fromkeys(items))


def load_train_recipe(path: str | os.PathLike | None,
                      overrides: list[str] = ()) -> TrainRecipe:
    """The checked recipe of a YAML file (None: the defaults) with ``--set`` overrides."""
    return train_recipe_from_node(load_yaml(path, overrides, defaults_name=_DEFAULTS))


def train_recipe_from_node(doc: Node) -> TrainRecipe:
    """The checked recipe of a parsed document (e.g. a checkpoint's:
    ``Node(checkpoint_recipe(data, path), path)``)."""
    doc.mapping(_TOP)
    d = TrainRecipe()
    recipe = TrainRecipe(
        model=doc.choice("model", MODELS, d.model),
        supervision=doc.choice("supervision", SUPERVISION, d.supervision),
        data=_data(doc),
        network=_network(doc),
        losses=dataclass_section(doc, "losses", LossSpec,
                                 dict.fromkeys(field_names(LossSpec), 0)),
        renderer=dataclass_section(doc, "renderer", RendererSpec, **dataclasses.asdict(
            d.renderer)),
        optim=dataclass_section(doc, "optim", TrainOptimSpec, {"weight_decay": 0}),
        outputs=_outputs(doc),
        seed=doc.integer("seed", d.seed, minimum=0),
        device=doc.string("device", d.device),
    )
    if recipe.optim.final_lr > 1:
        raise InputError(f"{doc.label}: optim.final_lr must be a fraction of optim.lr in (0, 1], "
                         f"got {recipe.optim.final_lr}")
    if recipe.supervision == "3d" and recipe.losses.rgb > 0:
        raise InputError(f"{doc.label}: losses.rgb needs supervision: 2d (colours are learnt "
                         "from the views' images)")
    if recipe.supervision == "3d" and recipe.losses.chamfer == 0:
        raise InputError(f"{doc.label}: supervision: 3d needs losses.chamfer > 0")
    if recipe.supervision == "2d" and recipe.losses.silhouette + recipe.losses.iou == 0:
        raise InputError(f"{doc.label}: supervision: 2d needs losses.silhouette or losses.iou "
                         "> 0")
    if recipe.data.views_per_item > recipe.data.views:
        raise InputError(f"{doc.label}: data.views_per_item ({recipe.data.views_per_item}) is "
                         f"more than the dataset's views ({recipe.data.views})")
    return recipe


def _data(doc: Node) -> DataSpec:
    d = DataSpec(root=doc.resolve(DataSpec.root))
    if not doc.has("data"):
        return d
    node = doc.section("data", field_names(DataSpec))
    numbers = dataclass_section(doc, "data", DataSpec, {"seed": 0}, root=d.root)
    return dataclasses.replace(
        numbers, root=node.file_path("root", d.root),
        families=node.get("families", d.families, _families,
                          f"a list of families among {', '.join(FAMILIES)}"))


def _network(doc: Node) -> NetworkSpec:
    spec = dataclass_section(doc, "network", NetworkSpec, {"level": 0})
    if doc.has("network"):
        node = doc.section("network", field_names(NetworkSpec))
        spec = dataclasses.replace(spec, widths=node.get("widths", spec.widths, _ints,
                                                          "a list of positive ints"))
    return spec


def _outputs(doc: Node) -> TrainOutputs:
    default = doc.resolve("train_out" if doc.file.name == _DEFAULTS
                          else f"train_{doc.file.stem}")
    spec = dataclass_section(doc, "outputs", TrainOutputs, {"eval_every": 0}, dir=default)
    if doc.has("outputs"):
        node = doc.section("outputs", field_names(TrainOutputs))
        spec = dataclasses.replace(spec, dir=node.file_path("dir", default))
    return spec


def train_recipe_to_dict(recipe: TrainRecipe) -> dict:
    """The recipe as plain YAML-ready data (paths as strings, tuples as lists)."""
    return dataclass_to_plain(recipe)
