"""The bundled example of ``r3d fit``: the textured cow rendered from views around it.

The views are written by ``r3d render`` (PNGs, silhouettes and ``cameras.json``) into
``<out>/example_views/``, exactly the input format a user gives with ``--views``; the cow,
centred and scaled into the unit sphere, is the ground truth the fit is scored against.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from r3d.fit.recipe import ExampleSpec
from r3d.scene.geometry import load_meshes
from r3d.scene.run import render_scene
from r3d.scene.scene import CameraSpec, LightSpec, LookAt, MaterialSpec, MeshSpec, Outputs, Scene
from r3d.structures import Meshes

__all__ = ["COW", "example_scene", "example_views", "ground_truth"]

COW = Path(__file__).resolve().parents[1] / "assets" / "cow" / "cow.obj"
# a light fixed in the world, no highlights: the shading the fitted colours bake in does not
# change with the view
LIGHT = LightSpec(type="directional", direction=(0.4, 1.0, 0.8), ambient=(0.55, 0.55, 0.55),
                  diffuse=(0.45, 0.45, 0.45), specular=(0.0, 0.0, 0.0))


def _views(spec: ExampleSpec) -> tuple[LookAt, ...]:
    """Views on a spiral around the cow: a full turn of azimuth (starting at its face),
    elevation swinging between -10 and 40 degrees."""
    return tuple(
        LookAt(dist=spec.dist, azim=180.0 + 360.0 * i / spec.views,
               elev=15.0 + 25.0 * math.sin(4.0 * math.pi * i / spec.views))
        for i in range(spec.views)
    )


def example_scene(spec: ExampleSpec, out: Path, device: str) -> Scene:
    """The render of the example views into ``out``."""
    return Scene(
        meshes=(MeshSpec(file=COW, normalize=True),),
        cameras=CameraSpec(fov=spec.fov, look_at=_views(spec)),
        outputs=Outputs(dir=out, silhouette=True),
        lights=LIGHT,
        material=MaterialSpec(specular=(0.0, 0.0, 0.0)),
        shader="hard_phong",
        image_size=(spec.image_size, spec.image_size),
        antialias=2,
        background=(0.0, 0.0, 0.0),
        device=device,
    )


def example_views(spec: ExampleSpec, out: Path, device: str) -> Path:
    """Renders the example views into ``out``; returns the folder."""
    render_scene(example_scene(spec, out, device))
    return out


def ground_truth(device: torch.device) -> Meshes:
    """The cow as the example's views show it (centred, in the unit sphere, textured)."""
    return load_meshes((MeshSpec(file=COW, normalize=True),), device)
