"""Rendering a shape's views with the dataset's fixed camera and light settings.

Views: azimuth uniform in [0, 360) degrees, elevation uniform in [-10, 40], distance uniform in
[2.5, 2.7], fov uniform in [45, 60] degrees, cameras looking at the origin with +y up; one
directional light fixed in the world (from above, front and right), hard Phong shading, no
anti-aliasing (so the silhouettes, depths and colours cover the same pixels). Every shape fits
the view of every camera (``SHAPE_RADIUS`` / distance < sin(fov / 2)).
"""

from __future__ import annotations

import torch

from r3d.datasets.procedural.families import SHAPE_RADIUS
from r3d.renderer import (
    BlendParams,
    DirectionalLights,
    FoVPerspectiveCameras,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRendererWithFragments,
    RasterizationSettings,
    look_at_view_transform,
)
from r3d.structures import Meshes

# the fixed view and light settings (recorded in dataset.json under "render")
ELEVATION = (-10.0, 40.0)  # degrees
DISTANCE = (2.5, 2.7)
FOV = (45.0, 60.0)  # degrees
ZNEAR, ZFAR = 0.1, 10.0
LIGHT_DIRECTION = (0.4, 1.0, 0.6)  # towards the light, world space
LIGHT = {"ambient": 0.45, "diffuse": 0.6, "specular": 0.15}
SHININESS = 32.0
BACKGROUND = (1.0, 1.0, 1.0)


def render_views(
    mesh: Meshes, views: int, image_size: int, generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, FoVPerspectiveCameras]:
    """Random views of one mesh with vertex colours (the dataset's camera and light settings).

    Args:
        mesh: Meshes of one mesh with a TexturesVertex.
        views: V, the number of views.
        image_size: S, the side of the square images in pixels.
        generator: a CPU generator drawing the cameras.
        device: where to render.
    Returns:
        images (V, S, S, 3) in [0, 1] (white background), masks (V, S, S) in {0, 1}, depths
        (V, S, S) view-space depth (0 on the background), all float32 on the CPU, and the V
        cameras (on the CPU).
    """
    def draw(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(views, generator=generator, dtype=torch.float64)

    azim, elev = draw(0.0, 360.0), draw(*ELEVATION)
    dist, fov = draw(*DISTANCE), draw(*FOV)
    R, T = look_at_view_transform(dist.float(), elev.float(), azim.float())
    cameras = FoVPerspectiveCameras(znear=ZNEAR, zfar=ZFAR, fov=fov.float(), R=R, T=T)
    dev = torch.device(device)
    lights = DirectionalLights(
        ambient_color=[[LIGHT["ambient"]] * 3], diffuse_color=[[LIGHT["diffuse"]] * 3],
        specular_color=[[LIGHT["specular"]] * 3], direction=[LIGHT_DIRECTION], device=dev)
    materials = Materials(specular_color=[[1.0] * 3], shininess=SHININESS, device=dev)
    renderer = MeshRendererWithFragments(
        rasterizer=MeshRasterizer(raster_settings=RasterizationSettings(image_size=image_size)),
        shader=HardPhongShader(device=dev, lights=lights, materials=materials,
                               blend_params=BlendParams(background_color=BACKGROUND)),
    )
    with torch.no_grad():
        images, fragments = renderer(mesh.to(dev).extend(views), cameras=cameras.clone().to(dev))
    covered = fragments.pix_to_face[..., 0] >= 0
    depths = torch.where(covered, fragments.zbuf[..., 0], torch.zeros_like(fragments.zbuf[..., 0]))
    return (images[..., :3].clamp(0, 1).float().cpu(), covered.float().cpu(),
            depths.float().cpu(), cameras)


def render_settings() -> dict:
    """The fixed camera, light and shader settings of the views, as ``dataset.json`` records
    them."""
    return {"azimuth": [0.0, 360.0], "elevation": list(ELEVATION), "distance": list(DISTANCE),
            "fov": list(FOV), "znear": ZNEAR, "zfar": ZFAR, "shader": "hard_phong",
            "light": {"type": "directional", "direction": list(LIGHT_DIRECTION), **LIGHT},
            "shininess": SHININESS, "background": list(BACKGROUND),
            "shape_radius": SHAPE_RADIUS}
