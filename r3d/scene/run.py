"""Rendering a :class:`~r3d.scene.scene.Scene`: meshes, point clouds or a volume, cameras,
lights, renderer, files.

:func:`render_scene` is the whole run; the builders it calls are public so that each step can be
used (and tested) on its own. Views are rendered in chunks of :data:`VIEWS_PER_CHUNK` (the mesh
or cloud is batched over the views of a chunk), and each chunk's files are written before the
next is rendered, so memory does not grow with the number of views (a volume is ray marched
one view at a time: its samples take far more memory than a rasterisation).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from r3d.renderer import (
    AlphaCompositor,
    AmbientLights,
    BlendParams,
    DepthShader,
    DirectionalLights,
    FoVPerspectiveCameras,
    Fragments,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    NormalShader,
    NormWeightedCompositor,
    PointFragments,
    PointLights,
    PointsRasterizationSettings,
    PointsRasterizer,
    PointsRendererWithFragments,
    RasterizationSettings,
    SilhouetteShader,
    SoftPhongShader,
    SoftSilhouetteShader,
)
from r3d.runs.devices import resolve_device
from r3d.runs.images import depth_to_uint16, to_uint8, write_gif, write_png
from r3d.runs.machine import machine_info
from r3d.runs.outdir import output_folder
from r3d.scene.geometry import (
    DEFAULT_COLOUR,
    load_meshes,
    load_pointclouds,
    load_volumes,
    view_transforms,
)
from r3d.scene.raymarch import SILHOUETTE_OPACITY, march_volume, volume_features
from r3d.scene.report import MAX_SHOWN, Rendered, write_render_report
from r3d.scene.scene import LightSpec, Outputs, Scene
from r3d.structures import Meshes, Pointclouds, Volumes
from r3d.views import CAMERAS_FILE, cameras_document, write_cameras_json

__all__ = [
    "VIEWS_PER_CHUNK",
    "build_cameras",
    "build_lights",
    "build_renderer",
    "render_scene",
]

VIEWS_PER_CHUNK = 4
SOFT_SIGMA = 1e-4  # blend sigma of the soft shaders
# soft shaders: faces whose coverage sigmoid(-d / sigma) would be below this are not rasterised
SOFT_MIN_COVERAGE = 1e-4

SHADER_CLASSES = {
    "hard_phong": HardPhongShader,
    "soft_phong": SoftPhongShader,
    "hard_flat": HardFlatShader,
    "hard_gouraud": HardGouraudShader,
    "soft_silhouette": SoftSilhouetteShader,
    "depth": DepthShader,
    "normal": NormalShader,
}
COMPOSITOR_CLASSES = {"alpha": AlphaCompositor, "norm_weighted": NormWeightedCompositor}

Progress = Callable[[int, int], None]  # (views done, views in all)
# draws the views of one chunk: (cameras, R, T) -> (N, H, W, 3) colours in [0, 1] and maps
Draw = Callable[[FoVPerspectiveCameras, torch.Tensor, torch.Tensor],
                tuple[torch.Tensor, dict[str, torch.Tensor]]]


# ---- cameras and lights ------------------------------------------------------------------------


def build_cameras(scene: Scene, R: torch.Tensor, T: torch.Tensor) -> FoVPerspectiveCameras:
    """Perspective cameras with the scene's field of view and clip planes, one per (R, T)."""
    c = scene.cameras
    return FoVPerspectiveCameras(znear=c.znear, zfar=c.zfar, fov=c.fov, R=R, T=T,
                                 device=R.device)


def build_lights(spec: LightSpec, R: torch.Tensor, T: torch.Tensor):
    """The light of each view (N = len(R)); with ``follow_camera`` its location and direction
    are in view space and move with the camera: world = (view - T) R^T (directions: view R^T)."""
    device, n = R.device, R.shape[0]

    def colour(rgb):
        return torch.tensor(rgb, dtype=torch.float32, device=device).expand(n, 3)

    def world(vec, is_point: bool):
        v = torch.tensor(vec, dtype=torch.float32, device=device).expand(n, 3)
        if not spec.follow_camera:
            return v
        v = v - T if is_point else v
        return torch.einsum("nj,nij->ni", v, R)

    if spec.type == "ambient":
        return AmbientLights(ambient_color=colour(spec.ambient), device=device)
    colours = {"ambient_color": colour(spec.ambient), "diffuse_color": colour(spec.diffuse),
               "specular_color": colour(spec.specular)}
    if spec.type == "directional":
        return DirectionalLights(direction=world(spec.direction, False), device=device, **colours)
    return PointLights(location=world(spec.location, True), device=device, **colours)


# ---- renderer ----------------------------------------------------------------------------------


def build_renderer(scene: Scene,
                   device: torch.device) -> MeshRenderer | PointsRendererWithFragments:
    """The scene's renderer; cameras (and lights) are passed per chunk of views when it is
    called.

    For meshes, the mesh renderer of the scene's shader, material, background and
    antialiasing. For point clouds, a points renderer returning (images, fragments): discs of
    ``points.radius``, ``points.points_per_pixel`` per pixel, composited by
    ``points.compositor`` (pixels that no point covers get the background colour, with alpha 1).
    """
    if scene.pointclouds:
        spec = scene.points
        raster = PointsRasterizationSettings(image_size=scene.image_size, radius=spec.radius,
                                             points_per_pixel=spec.points_per_pixel)
        compositor = COMPOSITOR_CLASSES[spec.compositor](background_color=scene.background)
        return PointsRendererWithFragments(PointsRasterizer(raster_settings=raster),
                                           compositor).to(device)
    soft = scene.shader.startswith("soft")
    raster = RasterizationSettings(
        image_size=scene.image_size,
        blur_radius=math.log(1.0 / SOFT_MIN_COVERAGE - 1.0) * SOFT_SIGMA if soft else 0.0,
        faces_per_pixel=8 if soft else 1,
    )
    m = scene.material
    materials = Materials(ambient_color=[m.ambient], diffuse_color=[m.diffuse],
                          specular_color=[m.specular], shininess=m.shininess, device=device)
    blend = BlendParams(sigma=SOFT_SIGMA, background_color=scene.background)
    shader = SHADER_CLASSES[scene.shader](device=device, materials=materials, blend_params=blend)
    # depths must not be averaged: the depth shader is never supersampled
    antialias = 1 if scene.shader == "depth" else scene.antialias
    return MeshRenderer(rasterizer=MeshRasterizer(raster_settings=raster), shader=shader,
                        antialias=antialias)


# ---- the run -----------------------------------------------------------------------------------


def render_scene(scene: Scene, progress: Progress | None = None,
                 overwrite: bool = False, source: str | os.PathLike | None = None) -> dict:
    """Renders every view of ``scene`` and writes the files its outputs ask for, and
    ``report.html`` (:mod:`r3d.scene.report`), as one run's set of files in
    ``scene.outputs.dir`` (:func:`r3d.runs.outdir.output_folder`: a missing or empty folder, or
    with ``overwrite`` one holding an earlier run's outputs, replaced).

    Args:
        source: the scene file (shown in the report) or the file a turntable was made of;
            None for a scene built in code.

    Returns:
        A JSON-ready summary: files (paths written, in order; report.html last), image_size
        [H, W], views, shader (meshes), points and compositor (point clouds: the number of
        points drawn and how) or voxels [D, H, W] and raymarcher (volumes: the joined grid's
        size, with its empty border), device, seconds, and depth_range (per view [nearest,
        farthest] view-space depth, null for an empty view) when depth maps were written.
    """
    sources = [spec.file for spec in (*scene.meshes, *scene.pointclouds, *scene.volumes)]
    with output_folder(scene.outputs.dir, "r3d render", overwrite=overwrite, keep=sources):
        return _render(scene, progress, None if source is None else Path(source))


def _render(scene: Scene, progress: Progress | None, source: Path | None) -> dict:
    """:func:`render_scene` in its prepared output folder."""
    start = time.perf_counter()
    device = resolve_device(scene.device)
    out = scene.outputs
    views = _point_views if scene.pointclouds else _volume_views if scene.volumes \
        else _mesh_views
    draw, about, geometry = views(scene, device)
    R, T = view_transforms(scene, device)
    files: list[Path] = []
    frames, depth_ranges = [], []
    shown: dict[str, list] = {}  # the maps of the first MAX_SHOWN views, for the report
    n = R.shape[0]
    for first in range(0, n, VIEWS_PER_CHUNK):
        idx = slice(first, min(first + VIEWS_PER_CHUNK, n))
        with torch.no_grad():
            images, maps = draw(build_cameras(scene, R[idx], T[idx]), R[idx], T[idx])
        for k in range(images.shape[0]):
            view = first + k
            rgb = to_uint8(images[k])
            frames.append(rgb)
            if out.png:
                files.append(write_png(out.dir / f"view_{view:03d}.png", rgb))
            for kind, pixels in maps.items():
                if kind == "depth":
                    levels, depth_range = depth_to_uint16(pixels[k])
                    depth_ranges.append(depth_range)
                else:
                    levels = to_uint8(pixels[k])
                files.append(write_png(out.dir / f"{kind}_{view:03d}.png", levels))
                if view < MAX_SHOWN:
                    shown.setdefault(kind, []).append(levels)
        if progress is not None:
            progress(idx.stop, n)
    if out.cameras:
        files.append(_write_cameras(scene, R, T))
    if out.gif is not None:
        files.append(write_gif(out.gif_path(), frames, out.fps))
    files.append(out.dir / "report.html")
    summary = {
        "files": [str(f) for f in files],
        "image_size": list(scene.image_size),
        "views": n,
        **about,
        "device": str(device),
        "seconds": round(time.perf_counter() - start, 3),
    }
    if out.depth:
        summary["depth_range"] = [list(r) if r else None for r in depth_ranges]
    center = -(T[0] @ R[0].transpose(0, 1))  # X_view = X_world R + T is 0 at the centre
    looks_at = (scene.cameras.view_list() or (None,))[0]
    target = looks_at.at if looks_at is not None else (0.0, 0.0, 0.0)
    rendered = Rendered(frames[:MAX_SHOWN], shown, geometry,
                        (center.double().cpu().numpy(), np.asarray(target)))
    write_render_report(out.dir, scene=scene, source=source, summary=summary,
                        rendered=rendered, machine=machine_info(device))
    return summary


def _mesh_views(scene: Scene, device: torch.device) -> tuple[Draw, dict[str, Any], Meshes]:
    """The drawing of a chunk of views of the scene's meshes, the summary's shader, and the
    joined mesh."""
    mesh = load_meshes(scene.meshes, device)
    renderer = build_renderer(scene, device)

    def draw(cameras, R, T):
        batch = mesh.extend(R.shape[0])
        images = renderer(batch, cameras=cameras, lights=build_lights(scene.lights, R, T))
        maps = _maps(scene.outputs, batch, renderer.rasterizer(batch, cameras=cameras)) \
            if _needs_maps(scene.outputs) else {}
        colours = torch.stack([_display(scene.shader, image, scene.background)
                               for image in images])
        return colours, maps

    return draw, {"shader": scene.shader}, mesh


def _point_views(scene: Scene,
                 device: torch.device) -> tuple[Draw, dict[str, Any], Pointclouds]:
    """The drawing of a chunk of views of the scene's point clouds (one rasterisation gives the
    image and the maps), the summary's points and compositor, and the joined cloud.

    The points' colours get an alpha of 1, so that where the discs' soft edges leave a pixel
    partly covered (alpha a < 1) the background shows through: colour + (1 - a) background.
    """
    joined = load_pointclouds(scene.pointclouds, device, normals=scene.outputs.normal)
    colours = joined.features_packed()
    cloud = Pointclouds(joined.points_list(), normals=joined.normals_list(),
                        features=[torch.cat([colours, torch.ones_like(colours[:, :1])], dim=1)])
    renderer = build_renderer(scene, device)
    background = torch.tensor(scene.background, dtype=colours.dtype, device=device)

    def draw(cameras, R, T):
        batch = cloud.extend(R.shape[0])
        images, fragments = renderer(batch, cameras=cameras)
        rgb = images[..., :3] + (1.0 - images[..., 3:]) * background
        return rgb, _point_maps(scene.outputs, batch, fragments)

    return draw, {"points": colours.shape[0], "compositor": scene.points.compositor}, joined


def _volume_views(scene: Scene, device: torch.device) -> tuple[Draw, dict[str, Any], Volumes]:
    """The drawing of a chunk of views of the scene's voxel grid, one view at a time
    (:func:`r3d.scene.raymarch.march_volume`), blended over the background; the summary's
    voxels and raymarcher; and the grid as a Volumes."""
    grid = load_volumes(scene.volumes, device)
    features = volume_features(grid)
    background = torch.tensor(scene.background, dtype=torch.float32, device=device)
    m = scene.material
    materials = Materials(ambient_color=[m.ambient], diffuse_color=[m.diffuse],
                          specular_color=[m.specular], shininess=m.shininess, device=device)
    plain = torch.tensor(scene.volumes[0].colour or DEFAULT_COLOUR, device=device)

    def draw(cameras, R, T):
        views = [march_volume(grid, features, cameras[k], scene.volume, scene.image_size,
                              build_lights(scene.lights, R[k:k + 1], T[k:k + 1]), materials)
                 for k in range(R.shape[0])]
        found = {key: torch.cat([v[key] for v in views]) for key in views[0]}
        alpha = found["opacity"][..., None]
        colour = found.get("colour", plain.expand(alpha.shape[:-1] + (3,)))
        rgb = colour * alpha + (1.0 - alpha) * background
        return rgb, _volume_maps(scene.outputs, found)

    about = {"voxels": list(grid.densities.shape), "raymarcher": scene.volume.raymarcher}
    return draw, about, grid.to_volumes()


def _volume_maps(out: Outputs, found: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The maps of :func:`_maps` for a volume, where the opacity exceeds
    SILHOUETTE_OPACITY: expected depth (-1 elsewhere), normal as colours (black elsewhere),
    silhouette in {0, 1}."""
    covered = found["opacity"] > SILHOUETTE_OPACITY
    maps = {}
    if out.depth:
        maps["depth"] = torch.where(covered, found["depth"], -1.0)
    if out.normal:
        maps["normal"] = torch.where(covered[..., None], (found["normal"] + 1.0) / 2.0, 0.0)
    if out.silhouette:
        maps["silhouette"] = covered.float()
    return maps


def _write_cameras(scene: Scene, R: torch.Tensor, T: torch.Tensor) -> Path:
    """``cameras.json`` of every view: its camera, ``view_XXX.png`` and, when silhouettes are
    written, ``silhouette_XXX.png`` as its mask."""
    n = R.shape[0]
    masks = [f"silhouette_{i:03d}.png" for i in range(n)] if scene.outputs.silhouette else None
    doc = cameras_document(build_cameras(scene, R, T), scene.image_size,
                           [f"view_{i:03d}.png" for i in range(n)], masks)
    return write_cameras_json(scene.outputs.dir / CAMERAS_FILE, doc)


def _needs_maps(out: Outputs) -> bool:
    return out.depth or out.normal or out.silhouette


def _maps(out: Outputs, batch: Meshes, fragments: Fragments) -> dict[str, torch.Tensor]:
    """The per-view maps ``out`` asks for, from fragments at the image size (no supersampling:
    depths must not be averaged): depth (N, H, W) (-1 where empty), normal (N, H, W, 3) as
    colours on black, silhouette (N, H, W) in {0, 1}."""
    maps = {}
    if out.depth:
        maps["depth"] = DepthShader()(fragments, batch)[..., 0]
    if out.normal:
        black = BlendParams(background_color=(0.0, 0.0, 0.0))
        maps["normal"] = NormalShader(blend_params=black)(fragments, batch)[..., :3]
    if out.silhouette:
        maps["silhouette"] = SilhouetteShader()(fragments, batch)[..., 0]
    return maps


def _point_maps(out: Outputs, batch: Pointclouds,
                fragments: PointFragments) -> dict[str, torch.Tensor]:
    """The maps of :func:`_maps` for point clouds, from each pixel's nearest point: its depth
    (-1 where empty), its normal (as colours on black) and coverage (any point) in {0, 1}."""
    nearest = fragments.idx[..., 0]
    covered = nearest >= 0
    maps = {}
    if out.depth:
        maps["depth"] = torch.where(covered, fragments.zbuf[..., 0], -1.0)
    if out.normal:
        normals = (batch.normals_packed()[nearest.clamp(min=0)] + 1.0) / 2.0
        maps["normal"] = torch.where(covered[..., None], normals, 0.0)
    if out.silhouette:
        maps["silhouette"] = covered.to(fragments.zbuf.dtype)
    return maps


def _display(shader: str, image: torch.Tensor, background: tuple) -> torch.Tensor:
    """The (H, W, 3) colour image in [0, 1] shown for one view of a shader's output (H, W, C):
    the silhouette in the background's inverse colour (black on white) and depth in grey (near
    bright) on the background colour."""
    bg = torch.tensor(background, dtype=image.dtype, device=image.device)
    if shader == "soft_silhouette":
        return torch.lerp(bg, 1 - bg, image[..., 3:4])
    if shader == "depth":
        levels, _ = depth_to_uint16(image[..., 0])
        grey = torch.from_numpy(levels.astype("float32")).to(image)[..., None] / 65535.0
        return torch.where(grey > 0, grey.expand(*grey.shape[:-1], 3), bg)
    return image[..., :3]
