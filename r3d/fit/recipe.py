"""Fit recipes: what ``r3d fit`` optimises, with which losses, for how long; read from YAML.

A recipe file (every key optional; the defaults are those of ``recipes/fit_silhouette.yaml``)::

    model: mesh                   # mesh (vertex offsets of a mesh), points (a point cloud),
                                  # volume (a coloured density grid) or field (an MLP
                                  # radiance field); the last two are ray marched
    input: views                  # views (images with cameras) or target (a point cloud/mesh)
    init: {shape: ico_sphere, level: 2, radius: 1.0, points: 5000}
                                  # the starting shape when the command line gives none
                                  # (point clouds: sphere or ball, points filling it)
    optimise: [shape]             # any of shape, colors, cameras
    colors: vertex                # vertex (per-vertex colours) or texture (a UV map)
    texture_size: 256             # side of the UV map
    views: {image_size: 128, per_iteration: 4, holdout: 4}
                                  # holdout: views kept out of the fit (evenly spaced), scored
    losses: {silhouette: 1.0, rgb: 0.0, depth: 0.0, edge: 1.0, laplacian: 1.0, normal: 0.01,
             chamfer: 0.0, tv: 0.0}
                                  # tv: total variation of a volume's grids
    volume: {resolution: 32, center: auto, size: auto, rays: 1024, points: 128,
             start_density: 0.01, isolevel: 0.02, width: 128, depth: 3, harmonics: 6}
                                  # volume and field models: the cube they fill (auto: where
                                  #   the views look, see r3d.fit.rays.auto_cube), grid
                                  #   voxels per side, rays per view and samples per ray each
                                  #   iteration, the opacity voxels start at, the opacity
                                  #   level fit.obj is extracted at (above the start: voxels
                                  #   no ray saw stay out); the field's MLP
    target: {samples: 5000}       # points sampled per iteration for the chamfer loss
    optim: {type: adam, lr: 0.01, color_lr: 0.05, camera_lr: 0.01, momentum: 0.9,
            schedule: cosine, min_lr: 0.1, step_every: 100, gamma: 0.5}
    iterations: 300
    renderer: {sigma: 1.0e-4, gamma: 1.0e-4, faces_per_pixel: 50, radius: 0.02,
               points_per_pixel: 10}
    stages: [{at: 0.5, subdivide: true, image_size: 128, lr: 0.005, sigma: 2.0e-5}]
                                  # (volumes: resolution: 64 resamples the grid)
                                  # coarse to fine ([] for none); at: where the stage starts,
                                  #   a fraction of the run in (0, 1) (0.5: half way, so the
                                  #   stages scale with iterations) or an iteration (an int)
    pose: {init: {dist: 2.7, elev: 30, azim: 20}, perturb_deg: 0.0}
                                  # camera fits: where the cameras start (default: the views')
    example: {views: 20, image_size: 128, dist: 2.1, fov: 60}
                                  # the bundled example's views (when no input is given)
    outputs: {dir: fit_out, every: 10, checkpoint_every: 50, gif: true, fps: 10}
    up: auto                      # the up axis of the mesh files given (see below)
    seed: 0
    device: cpu

``up`` (``r3d fit --up``) names the up axis of the mesh and point cloud files a run is given
(the start mesh, ``--target``, ``--gt``): ``+y``, ``-y``, ``+z``, ``-z``, ``+x``, ``-x`` or
``auto`` (+Y for every format, see :mod:`r3d.scene.up`). r3d's cameras are +Y up (the views',
as ``r3d render --up`` writes them upright, ``pose.init``, the progress renders'), so they are
turned into the files' frame: the fit is the one of the files turned so that this axis is +Y,
and ``fit.obj`` comes back in the files' frame (it overlays them, and ``--gt`` scores it
there). The bundled example is +Y up and takes no other ``up``.

``optim.schedule`` is constant, cosine (down to ``min_lr`` times the rate) or step (times
``gamma`` every ``step_every`` iterations); ``color_lr``/``camera_lr`` default to ``lr``.
A stage given as a fraction starts at that share of ``iterations``, rounded (always before the
end); one given as an int starts at that iteration, which must be before the end. The
``recipe.yaml`` a run writes gives the stages' iterations (so ``--resume --set iterations=N``
does not move them). Keys can be overridden from the command line with ``key.path=value`` (the
value read as YAML); :func:`quick` makes a recipe a fast, rough look (``r3d fit --quick``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r3d.errors import InputError
from r3d.runs.rendering import RendererSpec
from r3d.scene.up import UP_AXES, check_up
from r3d.schema import (
    REQUIRED,
    Node,
    apply_overrides,
    dataclass_section,
    dataclass_to_plain,
    field_names,
    load_yaml,
    parse_float,
    parse_non_negative,
)

__all__ = [
    "ExampleSpec",
    "InitSpec",
    "LossWeights",
    "OptimSpec",
    "OutputSpec",
    "PoseSpec",
    "Recipe",
    "RendererSpec",
    "StageSpec",
    "ViewsSpec",
    "VolumeSpec",
    "apply_overrides",
    "load_recipe",
    "quick",
    "recipe_from_dict",
    "recipe_to_dict",
    "with_options",
]

MODELS = ("mesh", "points", "volume", "field")
RAY_MARCHED = ("volume", "field")
INPUTS = ("views", "target")
OPTIMISED = ("shape", "colors", "cameras")
COLORS = ("vertex", "texture")
OPTIMISERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine", "step")
INIT_SHAPES = ("ico_sphere", "sphere", "ball")


@dataclass(frozen=True)
class InitSpec:
    """The starting shape, of ``radius``, centred at the origin: an ico-sphere of ``level``
    (meshes); ``points`` points on a sphere (``ico_sphere`` or ``sphere``) or filling a ball
    (``ball``) for point clouds."""

    shape: str = "ico_sphere"
    level: int = 2
    radius: float = 1.0
    points: int = 5000


@dataclass(frozen=True)
class ViewsSpec:
    """Views are resampled to ``image_size`` pixels high; ``per_iteration`` random training
    views are rendered per step; ``holdout`` evenly spaced views are only scored."""

    image_size: int = 64
    per_iteration: int = 4
    holdout: int = 4


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss term; 0 turns a term off."""

    silhouette: float = 1.0
    rgb: float = 0.0
    depth: float = 0.0
    edge: float = 0.3
    laplacian: float = 0.3
    normal: float = 0.01
    chamfer: float = 0.0
    tv: float = 0.0


@dataclass(frozen=True)
class OptimSpec:
    """Optimiser, learning rates (per parameter group) and schedule."""

    type: str = "adam"
    lr: float = 0.02
    color_lr: float | None = None
    camera_lr: float | None = None
    momentum: float = 0.9
    schedule: str = "cosine"
    min_lr: float = 0.1
    step_every: int = 100
    gamma: float = 0.5




@dataclass(frozen=True)
class StageSpec:
    """From ``at`` on (a fraction of the run in (0, 1), or an iteration, an int): subdivide the
    mesh and/or change the image size, the learning rate and the soft rasteriser's ``sigma``
    (smaller: sharper silhouettes, whose 0.5 level lies closer to the true outline, but
    gradients from fewer pixels)."""

    at: int | float
    subdivide: bool = False
    image_size: int | None = None
    lr: float | None = None
    sigma: float | None = None
    resolution: int | None = None


@dataclass(frozen=True)
class VolumeSpec:
    """The cube a volume or field model fills (``center`` (3,) and side ``size`` in world
    units; None: found from the views' cameras), the grid's voxels per side, rays per view and
    samples per ray each iteration, the opacity voxels start at, the opacity level of the
    surface written to ``fit.obj``, and the field's MLP (``width`` units, ``depth`` layers,
    ``harmonics`` frequencies)."""

    resolution: int = 32
    center: tuple[float, float, float] | None = None
    size: float | None = None
    rays: int = 1024
    points: int = 128
    start_density: float = 0.01
    isolevel: float = 0.02
    width: int = 128
    depth: int = 3
    harmonics: int = 6


@dataclass(frozen=True)
class LookAtSpec:
    """A camera at ``dist`` from the origin, elevation and azimuth in degrees."""

    dist: float = 2.7
    elev: float = 0.0
    azim: float = 0.0


@dataclass(frozen=True)
class PoseSpec:
    """Where fitted cameras start: ``init`` (one look-at for every view) or the views' own
    cameras, rotated by a random ``perturb_deg`` degrees about their look-at target."""

    init: LookAtSpec | None = None
    perturb_deg: float = 0.0


@dataclass(frozen=True)
class ExampleSpec:
    """The bundled example: the textured cow rendered from ``views`` views (``image_size``
    pixels, perspective ``fov`` in degrees, ``dist`` from its centre)."""

    views: int = 20
    image_size: int = 128
    dist: float = 2.1
    fov: float = 60.0


@dataclass(frozen=True)
class OutputSpec:
    """Output folder, a progress frame every ``every`` iterations, checkpoints."""

    dir: Path = Path("fit_out")
    every: int = 10
    checkpoint_every: int = 50
    gif: bool = True
    fps: float = 10.0


@dataclass(frozen=True)
class Recipe:
    """Everything one fit needs (see the module docstring)."""

    model: str = "mesh"
    input: str = "views"
    init: InitSpec = field(default_factory=InitSpec)
    optimise: tuple[str, ...] = ("shape",)
    colors: str = "vertex"
    texture_size: int = 256
    views: ViewsSpec = field(default_factory=ViewsSpec)
    losses: LossWeights = field(default_factory=LossWeights)
    target_samples: int = 5000
    optim: OptimSpec = field(default_factory=OptimSpec)
    iterations: int = 300
    renderer: RendererSpec = field(default_factory=RendererSpec)
    volume: VolumeSpec = field(default_factory=VolumeSpec)
    stages: tuple[StageSpec, ...] = (
        StageSpec(at=0.333, subdivide=True, image_size=128, sigma=3e-5),
        StageSpec(at=0.667, subdivide=True, sigma=1e-5),
    )
    pose: PoseSpec = field(default_factory=PoseSpec)
    example: ExampleSpec = field(default_factory=ExampleSpec)
    outputs: OutputSpec = field(default_factory=OutputSpec)
    up: str = "auto"
    seed: int = 0
    device: str = "cpu"

    def stage_start(self, stage: StageSpec) -> int:
        """The iteration ``stage`` starts at: its ``at`` (an int), or that fraction of
        ``iterations`` rounded, at most the last iteration (a float)."""
        if isinstance(stage.at, int):
            return stage.at
        return min(round(stage.at * self.iterations), self.iterations - 1)

    def started_stages(self, iteration: int) -> list[StageSpec]:
        """The stages started by ``iteration`` (those starting at it included), in order."""
        return [s for s in self.stages if self.stage_start(s) <= iteration]

    def resolved(self) -> Recipe:
        """This recipe with each stage's ``at`` the iteration it starts at."""
        return dataclasses.replace(self, stages=tuple(
            dataclasses.replace(s, at=self.stage_start(s)) for s in self.stages))

    def image_size_at(self, iteration: int) -> int:
        """The height in pixels views are rendered at in ``iteration`` (stages may change it;
        ``iterations`` gives the final size, at which the fit is scored)."""
        size = self.views.image_size
        for stage in self.started_stages(iteration):
            if stage.image_size is not None:
                size = stage.image_size
        return size

    def resolution_at(self, iteration: int) -> int:
        """The voxels per side of a volume model's grid in ``iteration``."""
        size = self.volume.resolution
        for stage in self.started_stages(iteration):
            if stage.resolution is not None:
                size = stage.resolution
        return size

    def renderer_at(self, iteration: int) -> RendererSpec:
        """The renderer settings of ``iteration`` (stages may change sigma)."""
        spec = self.renderer
        for stage in self.started_stages(iteration):
            if stage.sigma is not None:
                spec = dataclasses.replace(spec, sigma=stage.sigma)
        return spec


# ---- reading --------------------------------------------------------------------------------


_DEFAULTS = "the default recipe"  # stands for the file in messages when no recipe is given
_TOP = ("model", "input", "init", "optimise", "colors", "texture_size", "views", "losses",
        "target", "optim", "iterations", "renderer", "volume", "stages", "pose", "example",
        "outputs", "up", "seed", "device")


def load_recipe(path: str | os.PathLike | None, overrides: list[str] = ()) -> Recipe:
    """The recipe of a YAML file (None: the defaults) with ``key.path=value`` overrides.

    Raises InputError naming the file and key path for unknown keys (with the nearest valid
    key), wrong types or values, and malformed overrides; FileFormatError for a missing file.
    """
    return recipe_from_dict(load_yaml(path, overrides, defaults_name=_DEFAULTS))


def recipe_from_dict(doc: Node) -> Recipe:
    """The checked :class:`Recipe` of a parsed document node."""
    doc.mapping(_TOP)
    d = Recipe()
    model = doc.choice("model", MODELS, d.model)
    recipe = Recipe(
        model=model,
        input=doc.choice("input", INPUTS, d.input),
        init=_init(doc),
        optimise=_optimise(doc),
        colors=doc.choice("colors", COLORS, d.colors),
        texture_size=doc.integer("texture_size", d.texture_size),
        views=dataclass_section(doc, "views", ViewsSpec, {"holdout": 0}),
        losses=dataclass_section(doc, "losses", LossWeights,
                                 dict.fromkeys(field_names(LossWeights), 0)),
        target_samples=_target(doc),
        optim=_optim(doc),
        iterations=doc.integer("iterations", d.iterations),
        renderer=dataclass_section(doc, "renderer", RendererSpec),
        volume=_volume(doc),
        stages=_stages(doc),
        pose=_pose(doc),
        example=dataclass_section(doc, "example", ExampleSpec),
        outputs=_outputs(doc),
        up=doc.get("up", d.up, check_up, f"one of {', '.join(UP_AXES)}"),
        seed=doc.integer("seed", d.seed, minimum=0),
        device=doc.string("device", d.device),
    )
    _check_consistent(recipe, doc)
    return recipe


def _init(doc: Node) -> InitSpec:
    spec = dataclass_section(doc, "init", InitSpec, {"level": 0})
    if doc.has("init"):
        spec = dataclasses.replace(spec, shape=doc.section("init", field_names(InitSpec)).choice(
            "shape", INIT_SHAPES, spec.shape))
    return spec


def _optimise(doc: Node) -> tuple[str, ...]:
    def parse(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items or any(i not in OPTIMISED for i in items):
            raise ValueError(value)
        return tuple(dict.fromkeys(items))

    return doc.get("optimise", Recipe.optimise, parse,
                   f"a non-empty list of {', '.join(OPTIMISED)}")


def _target(doc: Node) -> int:
    if not doc.has("target"):
        return Recipe.target_samples
    return doc.section("target", ("samples",)).integer("samples", Recipe.target_samples)


def _optim(doc: Node) -> OptimSpec:
    d = OptimSpec()
    if not doc.has("optim"):
        return d
    node = doc.section("optim", field_names(OptimSpec))
    min_lr = node.number("min_lr", d.min_lr, positive=True)
    if min_lr > 1:
        raise node.error("min_lr", "a fraction of the learning rate in (0, 1]")
    return OptimSpec(
        type=node.choice("type", OPTIMISERS, d.type),
        lr=node.number("lr", d.lr, positive=True),
        color_lr=node.number("color_lr", None, positive=True),
        camera_lr=node.number("camera_lr", None, positive=True),
        momentum=node.get("momentum", d.momentum, parse_non_negative, "a number >= 0"),
        schedule=node.choice("schedule", SCHEDULES, d.schedule),
        min_lr=min_lr,
        step_every=node.integer("step_every", d.step_every),
        gamma=node.number("gamma", d.gamma, positive=True),
    )


def _stages(doc: Node) -> tuple[StageSpec, ...]:
    if "stages" not in doc.value:
        return Recipe.stages
    if doc.value["stages"] in (None, []):
        return ()
    stages = []
    for node in doc.items("stages"):
        node.mapping(field_names(StageSpec))
        stages.append(StageSpec(
            at=node.get("at", REQUIRED, _parse_at, "a fraction of the run in (0, 1) or an "
                        "iteration (an int >= 1)"),
            subdivide=node.boolean("subdivide", False),
            image_size=node.integer("image_size", None),
            lr=node.number("lr", None, positive=True),
            sigma=node.number("sigma", None, positive=True),
            resolution=node.integer("resolution", None, minimum=2),
        ))
    return tuple(stages)


def _volume(doc: Node) -> VolumeSpec:
    if not doc.has("volume"):
        return VolumeSpec()
    node = doc.section("volume", field_names(VolumeSpec))
    d = VolumeSpec()

    def fraction(key: str, default: float) -> float:
        value = node.number(key, default, positive=True)
        if value >= 1:
            raise node.error(key, "an opacity in (0, 1)")
        return value

    def auto(key: str, parse) -> Any:
        return None if node.value.get(key) in ("auto", None) else parse(key)

    return VolumeSpec(
        resolution=node.integer("resolution", d.resolution, minimum=2),
        center=auto("center", node.vector),
        size=auto("size", lambda key: node.number(key, positive=True)),
        rays=node.integer("rays", d.rays),
        points=node.integer("points", d.points, minimum=2),
        start_density=fraction("start_density", d.start_density),
        isolevel=fraction("isolevel", d.isolevel),
        width=node.integer("width", d.width),
        depth=node.integer("depth", d.depth),
        harmonics=node.integer("harmonics", d.harmonics),
    )


def _parse_at(value: Any) -> int | float:
    """A stage's ``at``: an int >= 1 (an iteration) or a number in (0, 1) (a fraction)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(value)
        return value
    fraction = parse_float(value)
    if not 0 < fraction < 1:
        raise ValueError(value)
    return fraction


def _pose(doc: Node) -> PoseSpec:
    if not doc.has("pose"):
        return PoseSpec()
    node = doc.section("pose", field_names(PoseSpec))
    init = None
    if node.has("init"):
        look = node.section("init", field_names(LookAtSpec))
        init = LookAtSpec(dist=look.number("dist", 2.7, positive=True),
                          elev=look.number("elev", 0.0), azim=look.number("azim", 0.0))
    return PoseSpec(init=init, perturb_deg=node.get("perturb_deg", 0.0, parse_non_negative,
                                                    "a number >= 0"))


def _outputs(doc: Node) -> OutputSpec:
    default_dir = doc.resolve("fit_out" if doc.file.name == _DEFAULTS else f"fit_{doc.file.stem}")
    spec = dataclass_section(doc, "outputs", OutputSpec, dir=default_dir)
    if doc.has("outputs"):
        spec = dataclasses.replace(
            spec, dir=doc.section("outputs", field_names(OutputSpec)).file_path("dir", spec.dir))
    return spec


def _check_consistent(r: Recipe, doc: Node) -> None:
    """Combinations of keys that cannot work, named."""
    where = f"{doc.label}:"
    image_losses = r.losses.silhouette + r.losses.rgb + r.losses.depth
    if r.input == "views" and image_losses == 0:
        raise InputError(f"{where} input: views needs a silhouette, rgb or depth loss weight > 0")
    if r.input == "target" and r.losses.chamfer == 0:
        raise InputError(f"{where} input: target needs losses.chamfer > 0")
    if r.input == "target" and ("colors" in r.optimise or "cameras" in r.optimise):
        raise InputError(f"{where} input: target fits the shape only; optimise must be [shape]")
    if "colors" in r.optimise and r.losses.rgb == 0:
        raise InputError(f"{where} optimise: colors needs losses.rgb > 0")
    if r.model == "points" and (r.colors == "texture" or any(s.subdivide for s in r.stages)):
        raise InputError(f"{where} point clouds have vertex colours only and cannot be "
                         "subdivided")
    if r.model == "mesh" and r.init.shape != "ico_sphere":
        raise InputError(f"{where} init.shape {r.init.shape} is for point clouds; meshes start "
                         "as an ico_sphere")
    if r.model == "points" and r.losses.depth > 0:
        raise InputError(f"{where} the depth loss is for meshes; set losses.depth: 0 for "
                         "model: points")
    if r.model == "points" and r.input == "target":
        raise InputError(f"{where} model: points fits views; use model: mesh for a target")
    if r.model in RAY_MARCHED:
        _check_ray_marched(r, where)
    elif r.losses.tv > 0 or any(s.resolution is not None for s in r.stages):
        raise InputError(f"{where} losses.tv and stages' resolution are for model: volume")
    _check_stages(r, where)


def _check_ray_marched(r: Recipe, where: str) -> None:
    """What volume and field models cannot do, named."""
    if r.input != "views":
        raise InputError(f"{where} model: {r.model} fits views (input: views)")
    if "cameras" in r.optimise or r.losses.depth > 0:
        raise InputError(f"{where} model: {r.model} fits shape and colours only (no cameras, "
                         "no depth loss)")
    if any(s.subdivide or s.sigma is not None for s in r.stages):
        raise InputError(f"{where} model: {r.model} has no mesh to subdivide or soft "
                         "rasteriser (stages take image_size, lr and, for volumes, resolution)")
    if r.model == "field" and (r.losses.tv > 0 or any(s.resolution for s in r.stages)):
        raise InputError(f"{where} model: field has no grid: losses.tv and stages' resolution "
                         "are for model: volume")


def _check_stages(r: Recipe, where: str) -> None:
    """Stages in order, each starting before the end of the run."""
    ats, starts = [s.at for s in r.stages], [r.stage_start(s) for s in r.stages]
    if starts != sorted(starts) or len(set(ats)) < len(ats):
        raise InputError(f"{where} stages must be in increasing order of 'at', got {ats}")
    late = [s.at for s in r.stages if isinstance(s.at, int) and s.at >= r.iterations]
    if late:
        raise InputError(f"{where} stages at {late} start after the last iteration "
                         f"({r.iterations}); give 'at' as a fraction of the run (e.g. 0.5) to "
                         "have a stage move with iterations")


# ---- settings of a run ----------------------------------------------------------------------


def with_options(recipe: Recipe, *, out: Path | None = None, device: str | None = None
                 ) -> Recipe:
    """``recipe`` writing into the folder ``out`` and running on ``device``, each when given
    (``r3d fit --out`` and ``--device``)."""
    if out is not None:
        recipe = dataclasses.replace(recipe, outputs=dataclasses.replace(recipe.outputs,
                                                                         dir=Path(out)))
    return recipe if device is None else dataclasses.replace(recipe, device=device)


# ---- a quick look ---------------------------------------------------------------------------


QUICK_ITERATIONS = 100  # --quick: iterations at most
QUICK_IMAGE_SIZE = 32  # --quick: pixels of the views and stages at most
QUICK_EXAMPLE_SIZE = 64  # --quick: pixels of the bundled example's renders at most


def quick(recipe: Recipe) -> Recipe:
    """``recipe`` made a fast, rough look (``r3d fit --quick``): at most
    :data:`QUICK_ITERATIONS` iterations (each stage keeps its share of the run), views and
    stages at most :data:`QUICK_IMAGE_SIZE` pixels high, the bundled example rendered at most
    :data:`QUICK_EXAMPLE_SIZE` pixels high."""
    def small(size: int | None) -> int | None:
        return None if size is None else min(size, QUICK_IMAGE_SIZE)

    stages = tuple(dataclasses.replace(
        s, at=s.at if isinstance(s.at, float) else recipe.stage_start(s) / recipe.iterations,
        image_size=small(s.image_size)) for s in recipe.stages)
    return dataclasses.replace(
        recipe, iterations=min(recipe.iterations, QUICK_ITERATIONS), stages=stages,
        views=dataclasses.replace(recipe.views, image_size=small(recipe.views.image_size)),
        example=dataclasses.replace(recipe.example, image_size=min(recipe.example.image_size,
                                                                   QUICK_EXAMPLE_SIZE)))


# ---- writing --------------------------------------------------------------------------------


def recipe_to_dict(recipe: Recipe) -> dict:
    """The recipe as plain YAML-ready data (paths as strings), as written to ``recipe.yaml``."""
    data = dataclass_to_plain(recipe)
    data["target"] = {"samples": data.pop("target_samples")}
    return data
