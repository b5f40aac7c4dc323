"""The bundled example of ``r3d fit``: the textured cow rendered from views around it.

The views are written by ``r3d render`` (PNGs, silhouettes and ``cameras.json``) into
``<out>/example_views/``, exactly the input format a user gives with ``--views``. The cow is
rendered as its file has it (not normalised): the cameras look at the centre of its bounding
sphere from ``dist`` times its radius, so the views, the fit and its outputs are in the frame of
``r3d/assets/cow/cow.obj``, the ground truth the fit is scored against (``r3d fit --views
fit_out/example_views --gt r3d/assets/cow/cow.obj`` is the same fit).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

from r3d.fit.frame import Frame, bounding_sphere
from r3d.fit.recipe import ExampleSpec
from r3d.io import load_obj
from r3d.scene.run import render_scene
from r3d.scene.scene import CameraSpec, LightSpec, LookAt, MaterialSpec, MeshSpec, Outputs, Scene

__all__ = ["COW", "cow_sphere", "example_scene", "example_views"]

COW = Path(__file__).resolve().parents[1] / "assets" / "cow" / "cow.obj"
# a light fixed in the world, no highlights: the shading the fitted colours bake in does not
# change with the view
LIGHT = LightSpec(type="directional", direction=(0.4, 1.0, 0.8), ambient=(0.55, 0.55, 0.55),
                  diffuse=(0.45, 0.45, 0.45), specular=(0.0, 0.0, 0.0))


@functools.cache
def cow_sphere() -> Frame:
    """(centre (3,), radius) of the cow's bounding sphere, in its file's frame."""
    verts, _, _ = load_obj(COW, load_textures=False)
    return bounding_sphere(verts)


def _views(spec: ExampleSpec) -> tuple[LookAt, ...]:
    """Views on a spiral around the cow's centre, ``spec.dist`` times its radius away: a full
    turn of azimuth (starting at its face), elevation swinging between -10 and 40 degrees."""
    centre, radius = cow_sphere()
    return tuple(
        LookAt(dist=spec.dist * radius, azim=180.0 + 360.0 * i / spec.views,
               elev=15.0 + 25.0 * math.sin(4.0 * math.pi * i / spec.views),
               at=tuple(centre.tolist()))
        for i in range(spec.views)
    )


def example_scene(spec: ExampleSpec, out: Path, device: str) -> Scene:
    """The render of the example views into ``out``."""
    return Scene(
        meshes=(MeshSpec(file=COW),),
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
    """Renders the example views into ``out`` (replacing an earlier render there, as a resumed
    fit renders them again); returns the folder."""
    render_scene(example_scene(spec, out, device), overwrite=True)
    return out
