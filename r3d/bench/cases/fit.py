"""Benchmark case of ``r3d fit`` (run by ``r3d bench``): optimisation steps of the default
recipe (``recipes/fit_silhouette.yaml``) on the bundled example's views.

``fit_silhouette_step``: one iteration (the recipe's views per iteration soft-rasterised with
its faces per pixel, silhouette loss, edge/Laplacian/normal regularisers, backward, Adam step)
on an ico-sphere of level 3 (the recipe's middle stage), at S x S pixels (the case's size). The
contenders are the same step with r3d's native kernels and with every op in pure PyTorch
(:func:`r3d._native.torch_only`); iterations per second are 1 / the time.
"""

from __future__ import annotations

import tempfile

import torch

from r3d._native import torch_only
from r3d.bench.contenders import native_available
from r3d.bench.registry import Contender, register_case
from r3d.fit.recipe import Recipe, load_recipe
from r3d.fit.run import fit_step, holdout_split, new_state, prepare_inputs

SIZES = (64, 128, 256)
QUICK_SIZES = (32,)


def _setup(size: int, device: torch.device) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        recipe = load_recipe(None, [f"views.image_size={size}", f"example.image_size={size}",
                                    "init.level=3", "stages=[]", f"outputs.dir={tmp}",
                                    f"device={device}"])
        inputs = prepare_inputs(recipe, mesh=None, views=None, target=None, gt=None,
                                device=device)
        views = inputs.views(size, device)  # loaded now: the folder goes away
    train, _ = holdout_split(len(views), recipe.views.holdout)
    return {"recipe": recipe, "inputs": inputs, "state": new_state(recipe, inputs, device),
            "train": train, "device": device}


def _step(x: dict) -> dict:
    return fit_step(x["recipe"], x["state"], x["inputs"], x["train"], x["device"])


def _step_torch(x: dict) -> dict:
    with torch_only():
        return _step(x)


register_case(
    "fit_silhouette_step",
    sizes=SIZES,
    quick_sizes=QUICK_SIZES,
    setup=_setup,
    size_label="pixels per side",
    description=f"one r3d fit iteration of the default recipe ({Recipe().views.per_iteration} "
    f"views, K={Recipe().renderer.faces_per_pixel}, ico-sphere level 3, forward + backward + "
    "Adam step)",
    contenders=[
        Contender("r3d", _step, "native", native_available),
        Contender("torch", _step_torch, "torch"),
    ],
)
