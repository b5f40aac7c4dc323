"""Recipes of ``r3d fit``: defaults, the bundled recipes, ``--set`` overrides, unknown keys with
suggestions, bad types and values, inconsistent combinations, and the YAML round trip."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from r3d.errors import FileFormatError, InputError
from r3d.fit.recipe import (
    QUICK_ITERATIONS,
    LookAtSpec,
    PoseSpec,
    Recipe,
    StageSpec,
    apply_overrides,
    load_recipe,
    quick,
    recipe_to_dict,
)

ROOT = Path(__file__).parents[1]
RECIPES = ROOT / "recipes"
FIT_RECIPES = sorted(p for p in RECIPES.glob("*.yaml")
                     if p.name.startswith(("fit_", "deform_", "camera_")))


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def same_but_dir(a: Recipe, b: Recipe) -> bool:
    """Whether two recipes are equal but for their output folders."""
    return dataclasses.replace(a, outputs=dataclasses.replace(a.outputs, dir=b.outputs.dir)) == b


# ---- defaults and the bundled recipes ------------------------------------------------------------


def test_defaults_are_fit_silhouette_yaml():
    defaults = load_recipe(None)
    bundled = load_recipe(RECIPES / "fit_silhouette.yaml")
    assert same_but_dir(defaults, bundled)
    assert defaults.outputs.dir != bundled.outputs.dir
    assert bundled.outputs.dir == (ROOT / "fit_silhouette").resolve()
    # and both are the dataclass defaults
    assert same_but_dir(Recipe(), defaults)


def test_default_output_dir_is_in_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_recipe(None).outputs.dir == (tmp_path / "fit_out").resolve()


def test_there_are_fit_recipes():
    names = {p.name for p in FIT_RECIPES}
    assert {"fit_silhouette.yaml", "fit_textured.yaml", "deform_to_pointcloud.yaml",
            "camera_pose.yaml"} <= names


@pytest.mark.parametrize("path", FIT_RECIPES, ids=lambda p: p.stem)
def test_bundled_recipe_loads(path):
    recipe = load_recipe(path)
    assert isinstance(recipe, Recipe)
    assert recipe.iterations > 0
    assert all(s.at < recipe.iterations for s in recipe.stages)
    # the output folder is relative to the recipe's folder
    assert recipe.outputs.dir.parent == ROOT.resolve()


def test_bundled_recipes_say_what_they_do():
    textured = load_recipe(RECIPES / "fit_textured.yaml")
    assert textured.optimise == ("shape", "colors") and textured.losses.rgb > 0
    assert textured.optim.color_lr == 0.05
    deform = load_recipe(RECIPES / "deform_to_pointcloud.yaml")
    assert deform.input == "target" and deform.losses.chamfer > 0 and deform.stages == ()
    assert deform.optim.type == "sgd" and deform.target_samples == 5000
    pose = load_recipe(RECIPES / "camera_pose.yaml")
    assert pose.optimise == ("cameras",)
    assert pose.pose.init == LookAtSpec(dist=2.6, elev=40.0, azim=130.0)


# ---- --set overrides -----------------------------------------------------------------------------


def test_override_nested_key():
    recipe = load_recipe(None, ["optim.lr=0.05", "views.image_size=32"])
    assert recipe.optim.lr == 0.05
    assert recipe.views.image_size == 32
    assert recipe.views.per_iteration == 4  # the rest of the section keeps its defaults
    assert recipe.optim.schedule == "cosine"


def test_override_applies_over_a_file(tmp_path):
    path = write(tmp_path, "iterations: 40\noptim: {lr: 0.2, schedule: step}\nstages: []\n")
    recipe = load_recipe(path, ["optim.lr=0.3", "iterations=50"])
    assert recipe.iterations == 50
    assert recipe.optim.lr == 0.3 and recipe.optim.schedule == "step"


def test_later_override_wins():
    assert load_recipe(None, ["iterations=200", "iterations=250"]).iterations == 250


def test_override_makes_a_new_section():
    recipe = load_recipe(None, ["pose.init.dist=3.5", "pose.init.azim=90"])
    assert recipe.pose == PoseSpec(init=LookAtSpec(dist=3.5, elev=0.0, azim=90.0))


def test_override_values_are_yaml():
    recipe = load_recipe(None, [
        "stages=[{at: 10, subdivide: true, image_size: 64}, {at: 20, lr: 0.001}]",
        "optimise=[shape, colors]", "losses.rgb=0.5", "outputs.gif=false",
        "views.holdout=0", "optim.lr=1.0e-3", "device=cuda", "colors=texture",
        "iterations=30",
    ])
    assert recipe.stages == (StageSpec(at=10, subdivide=True, image_size=64),
                             StageSpec(at=20, lr=0.001))
    assert recipe.optimise == ("shape", "colors")
    assert recipe.losses.rgb == 0.5
    assert recipe.outputs.gif is False
    assert recipe.views.holdout == 0
    assert recipe.optim.lr == pytest.approx(1e-3)
    assert recipe.device == "cuda" and recipe.colors == "texture"


def test_override_empty_stages():
    assert load_recipe(None, ["stages=[]"]).stages == ()
    assert load_recipe(None, ["stages="]).stages == ()  # null: none either


def test_override_value_with_equals_sign():
    data = apply_overrides({}, ["device=a=b"])
    assert data == {"device": "a=b"}


def test_apply_overrides_copies():
    data = {"optim": {"lr": 0.1}}
    new = apply_overrides(data, ["optim.lr=0.2", "a.b.c=1"])
    assert new == {"optim": {"lr": 0.2}, "a": {"b": {"c": 1}}}
    assert data == {"optim": {"lr": 0.1}}


@pytest.mark.parametrize("item", ["optim.lr", "iterations", "=5", "optim..lr=1", ".lr=1",
                                  "optim.=1"])
def test_malformed_override(item):
    with pytest.raises(InputError, match="key.path=value") as info:
        load_recipe(None, [item])
    assert repr(item) in str(info.value)


def test_override_value_not_yaml():
    with pytest.raises(InputError, match="not valid YAML"):
        load_recipe(None, ["stages=[{at: 1"])


def test_override_descending_into_a_value(tmp_path):
    path = write(tmp_path, "iterations: 40\nstages: []\n")
    with pytest.raises(InputError, match="iterations is not a section"):
        load_recipe(path, ["iterations.x=1"])
    with pytest.raises(InputError, match="optim.lr is not a section"):
        load_recipe(None, ["optim.lr=0.1", "optim.lr.x=1"])


def test_override_into_a_missing_key_without_file():
    # a section made where a number belongs: caught by the schema, naming the key
    with pytest.raises(InputError, match="iterations must be a positive int"):
        load_recipe(None, ["iterations.x=1"])


# ---- unknown keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("item, key, hint", [
    ("optim.lrr=0.1", "lrr", "lr"),
    ("iteration=5", "iteration", "iterations"),
    ("views.image_sise=32", "image_sise", "image_size"),
    ("losses.silhouete=1", "silhouete", "silhouette"),
    ("init.levl=1", "levl", "level"),
    ("target.sample=10", "sample", "samples"),
    ("renderer.faces_per_pixl=4", "faces_per_pixl", "faces_per_pixel"),
    ("outputs.checkpoint=5", "checkpoint", "checkpoint_every"),
    ("pose.perturb=5", "perturb", "perturb_deg"),
    ("pose.init.distance=3", "distance", "dist"),
    ("example.view=3", "view", "views"),
    ("stages=[{at: 10, subdivde: true}]", "subdivde", "subdivide"),
])
def test_unknown_key_suggests_the_nearest(item, key, hint):
    with pytest.raises(InputError) as info:
        load_recipe(None, [item, "iterations=300"] if not item.startswith("iteration=")
                    else [item])
    message = str(info.value)
    assert f"unknown key '{key}'" in message
    assert f"did you mean '{hint}'?" in message


def test_unknown_key_in_file_names_file_and_section(tmp_path):
    path = write(tmp_path, "optim: {type: adam, lrr: 0.1}\n")
    with pytest.raises(InputError) as info:
        load_recipe(path)
    message = str(info.value)
    assert str(path) in message
    assert "unknown key 'lrr' in optim" in message and "'lr'" in message


def test_unknown_key_far_from_any_lists_the_valid_ones():
    with pytest.raises(InputError) as info:
        load_recipe(None, ["zzzzzz=1"])
    message = str(info.value)
    assert "unknown key 'zzzzzz'" in message
    assert "valid keys:" in message and "iterations" in message and "optim" in message


# ---- wrong types and values ----------------------------------------------------------------------


@pytest.mark.parametrize("items, pattern", [
    (["losses.edge=-1"], r"losses\.edge must be a number >= 0, got -1"),
    (["losses.silhouette=abc"], r"losses\.silhouette must be a number >= 0"),
    (["optim.schedule=cosin"], r"optim\.schedule must be one of constant, cosine, step.*"
                               r"did you mean 'cosine'\?"),
    (["optim.type=adamw"], r"optim\.type must be one of adam, sgd.*did you mean 'adam'\?"),
    (["model=mseh"], r"model must be one of mesh, points.*did you mean 'mesh'\?"),
    (["optim.min_lr=2"], r"optim\.min_lr must be a fraction of the learning rate in \(0, 1\]"),
    (["optim.min_lr=0"], r"optim\.min_lr must be a positive number"),
    (["optim.lr=-0.1"], r"optim\.lr must be a positive number"),
    (["optim.lr=fast"], r"optim\.lr must be a positive number, got 'fast'"),
    (["iterations=0"], r"iterations must be a positive int"),
    (["iterations=2.5"], r"iterations must be a positive int"),
    (["iterations=true"], r"iterations must be a positive int"),
    (["seed=-1"], r"seed must be an int >= 0"),
    (["views.holdout=-1"], r"views\.holdout must be an int >= 0"),
    (["views.image_size=0"], r"views\.image_size must be a positive int"),
    (["outputs.gif=yes please"], r"outputs\.gif must be true or false"),
    (["optimise=[shape, colour]"], r"optimise must be a non-empty list of shape, colors, "
                                   r"cameras"),
    (["optimise=[]"], r"optimise must be a non-empty list"),
    (["init.shape=cube"], r"init\.shape must be one of ico_sphere, sphere"),
    (["optim=0.1"], r"optim must be a mapping with keys among type, lr"),
    (["stages={at: 3}"], r"stages must be a non-empty list"),
    (["stages=[{subdivide: true}]"], r"stages\[0\]\.at is required"),
    (["stages=[{at: 5}, {at: 2}]"], r"stages must be in increasing order of 'at', got \[5, 2\]"),
    (["stages=[{at: 5}, {at: 5}]"], r"stages must be in increasing order of 'at', got \[5, 5\]"),
    (["iterations=10", "stages=[{at: 100}, {at: 200}]"],
     r"stages at \[100, 200\] start after the last iteration \(10\); give 'at' as a fraction"),
    (["iterations=200", "stages=[{at: 0.25}, {at: 200}]"],
     r"stages at \[200\] start after the last iteration \(200\)"),
    (["stages=[{at: 150}, {at: 0.25}]"],
     r"stages must be in increasing order of 'at', got \[150, 0.25\]"),
    (["stages=[{at: 1.5}]"], r"stages\[0\]\.at must be a fraction of the run in \(0, 1\) or an "
                             r"iteration \(an int >= 1\), got 1.5"),
    (["stages=[{at: 0}]"], r"stages\[0\]\.at must be a fraction"),
    (["stages=[{at: 0.0}]"], r"stages\[0\]\.at must be a fraction"),
    (["stages=[{at: 1.0}]"], r"stages\[0\]\.at must be a fraction"),
    (["stages=[{at: -0.5}]"], r"stages\[0\]\.at must be a fraction"),
    (["stages=[{at: true}]"], r"stages\[0\]\.at must be a fraction"),
    (["stages=[{at: half}]"], r"stages\[0\]\.at must be a fraction"),
    (["optimise=[shape, colors]"], r"optimise: colors needs losses\.rgb > 0"),
    (["input=target"], r"input: target needs losses\.chamfer > 0"),
    (["input=target", "losses.chamfer=1", "optimise=[shape, cameras]"],
     r"input: target fits the shape only"),
    (["losses.silhouette=0"], r"input: views needs a silhouette, rgb or depth loss"),
    (["model=points", "colors=texture", "stages=[]"], r"point clouds have vertex colours only"),
    (["model=points"], r"point clouds .* cannot be subdivided"),
    (["model=points", "input=target", "losses.chamfer=1", "stages=[]"],
     r"model: points fits views"),
])
def test_bad_values(items, pattern):
    with pytest.raises(InputError, match=pattern):
        load_recipe(None, items)


# ---- where a message says the value came from -----------------------------------------------


@pytest.mark.parametrize("items, message", [
    (["iterations=abc"], "--set iterations=abc: iterations must be a positive int, got 'abc'"),
    (["optim.lrr=0.1"], "--set optim.lrr=0.1: unknown key 'lrr' in optim; did you mean 'lr'?"),
    (["optim={lr: -1}"], "--set optim={lr: -1}: optim.lr must be a positive number, got -1"),
    (["optim.lr=-1", "optim={lr: -2}"], "--set optim={lr: -2}: optim.lr must be a positive "
                                        "number, got -2"),
    (["iterations.x=1"], "--set iterations.x=1: iterations must be a positive int"),
    (["stages=[{at: 2.5}]"], "--set stages=[{at: 2.5}]: stages[0].at must be a fraction"),
    (["losses.silhouette=0"], "the default recipe with --set losses.silhouette=0: input: views "
                              "needs a silhouette"),
    (["iterations=5", "stages=[{at: 9}]"], "the default recipe with --set iterations=5, --set "
                                           "stages=[{at: 9}]: stages at [9] start after"),
])
def test_messages_name_the_set_or_the_defaults(items, message):
    """No fake path (such as <cwd>/<recipe defaults>): the --set that gave the value, or the
    default recipe."""
    with pytest.raises(InputError) as info:
        load_recipe(None, items)
    assert str(info.value).startswith(message), str(info.value)
    assert str(Path.cwd()) not in str(info.value)


def test_messages_name_the_file_or_the_set(tmp_path):
    path = write(tmp_path, "optim: {lr: -1}\niterations: 20\nstages: []\n")
    with pytest.raises(InputError, match=f"^{path}: optim.lr must be a positive number"):
        load_recipe(path)
    with pytest.raises(InputError, match="^--set optim.type=adamw: optim.type must be one"):
        load_recipe(path, ["optim.lr=0.1", "optim.type=adamw"])
    with pytest.raises(InputError) as info:
        load_recipe(path, ["optim.lr=0.1", "losses.rgb=0", "optimise=[shape, colors]"])
    assert str(info.value).startswith(f"{path} with --set optim.lr=0.1, --set losses.rgb=0, "
                                      "--set optimise=[shape, colors]: optimise: colors needs")


def test_bad_value_in_file_names_the_file(tmp_path):
    path = write(tmp_path, "losses: {edge: -1}\n")
    with pytest.raises(InputError, match=f"^{path}: losses.edge must be"):
        load_recipe(path)


def test_stage_lr_and_image_size_are_checked():
    with pytest.raises(InputError, match=r"stages\[1\]\.lr must be a positive number"):
        load_recipe(None, ["stages=[{at: 1}, {at: 2, lr: 0}]"])
    with pytest.raises(InputError, match=r"stages\[0\]\.image_size must be a positive int"):
        load_recipe(None, ["stages=[{at: 1, image_size: -3}]"])


def test_missing_or_bad_recipe_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_recipe(tmp_path / "nope.yaml")
    bad = write(tmp_path, "optim: [\n")
    with pytest.raises(FileFormatError, match="not valid YAML"):
        load_recipe(bad)
    with pytest.raises(InputError, match="mapping"):
        load_recipe(write(tmp_path, "- a\n- b\n", "list.yaml"))


def test_empty_recipe_file_is_refused_with_a_message(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(InputError, match=f"^{path}: the document must be a mapping"):
        load_recipe(path)


# ---- stages as fractions of the run, --quick ---------------------------------------------------


@pytest.mark.parametrize("iterations, starts", [
    (300, [100, 200]), (30, [10, 20]), (7, [2, 5]), (2, [1, 1]), (1, [0, 0])])
def test_default_stages_scale_with_iterations(iterations, starts):
    recipe = load_recipe(None, [f"iterations={iterations}"])
    assert [recipe.stage_start(s) for s in recipe.stages] == starts
    resolved = recipe.resolved()
    assert [s.at for s in resolved.stages] == starts
    assert resolved.image_size_at(iterations) == recipe.image_size_at(iterations) == 128


def test_an_int_stage_is_an_iteration():
    recipe = load_recipe(None, ["iterations=50", "stages=[{at: 0.5, lr: 0.01}, {at: 40}]"])
    assert [recipe.stage_start(s) for s in recipe.stages] == [25, 40]
    assert [s.at for s in recipe.started_stages(39)] == [0.5]


@pytest.mark.parametrize("iterations", [30, 3, 1])
@pytest.mark.parametrize("path", FIT_RECIPES, ids=lambda p: p.stem)
def test_bundled_recipes_take_any_iterations(path, iterations):
    recipe = load_recipe(path, [f"iterations={iterations}"])
    assert recipe.iterations == iterations
    assert all(0 <= recipe.stage_start(s) < iterations for s in recipe.stages)


def test_quick_caps_iterations_and_image_sizes():
    recipe = quick(load_recipe(None))
    assert recipe.iterations == QUICK_ITERATIONS == 100
    assert [recipe.stage_start(s) for s in recipe.stages] == [33, 67]
    assert recipe.views.image_size == 32 and recipe.example.image_size == 64
    assert [s.image_size for s in recipe.stages] == [32, None]
    # what is already small stays; int stages keep their share of the run
    small = quick(load_recipe(None, ["iterations=10", "views.image_size=16",
                                     "stages=[{at: 5, image_size: 24}]"]))
    assert small.iterations == 10 and small.views.image_size == 16
    assert small.stages[0].image_size == 24 and small.stage_start(small.stages[0]) == 5
    long = quick(load_recipe(None, ["iterations=1000", "stages=[{at: 250}]"]))
    assert long.stage_start(long.stages[0]) == 25


# ---- the YAML round trip -------------------------------------------------------------------------


ROUND_TRIP_OVERRIDES = [
    [],
    ["optim.color_lr=0.02", "optim.camera_lr=0.003", "pose.init.dist=2.5",
     "pose.perturb_deg=5", "stages=[{at: 10, subdivide: true, image_size: 64, lr: 0.001}]",
     "iterations=20", "outputs.gif=false", "views.holdout=0", "optim.type=sgd", "model=mesh",
     "init.shape=ico_sphere", "losses.tv=0"],
    ["model=points", "input=views", "losses.silhouette=1.0", "stages=[]",
     "optimise=[shape, colors]", "losses.rgb=1", "renderer.radius=0.05", "losses.tv=0"],
]


@pytest.mark.parametrize("source", [None, *FIT_RECIPES],
                         ids=lambda p: "defaults" if p is None else p.stem)
@pytest.mark.parametrize("overrides", ROUND_TRIP_OVERRIDES, ids=["plain", "all-keys", "points"])
def test_round_trip(tmp_path, source, overrides):
    recipe = load_recipe(source, overrides)
    data = recipe_to_dict(recipe)
    text = yaml.safe_dump(data, sort_keys=False)
    path = write(tmp_path, text, "written.yaml")
    again = load_recipe(path)
    assert again == recipe
    assert recipe_to_dict(again) == data
    # plain YAML data: strings for paths, lists for tuples
    assert isinstance(data["outputs"]["dir"], str)
    assert isinstance(data["stages"], list) and isinstance(data["optimise"], list)
    assert data["target"] == {"samples": recipe.target_samples}


def test_exponent_numbers_without_a_dot_are_numbers():
    """YAML 1.1 reads 1e-3 as a string; recipes take it as the number."""
    recipe = load_recipe(None, ["renderer.sigma=1e-3", "optim.lr=5E-2"])
    assert recipe.renderer.sigma == pytest.approx(1e-3)
    assert recipe.optim.lr == pytest.approx(5e-2)
    with pytest.raises(InputError, match="renderer.sigma"):
        load_recipe(None, ["renderer.sigma=1e-3x"])
