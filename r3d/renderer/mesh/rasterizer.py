"""Mesh rasterisation with cameras: settings, outputs and the MeshRasterizer module, with
PyTorch3D's names and fields."""

from __future__ import annotations

from dataclasses import dataclass

from r3d._checks import describe
from r3d.errors import InputError
from r3d.renderer.mesh.rasterize_meshes import rasterize_meshes
from r3d.renderer.rasterizer_base import RasterizerBase
from r3d.structures.fragments import Fragments
from r3d.structures.meshes import Meshes


@dataclass
class RasterizationSettings:
    """Settings of mesh rasterisation (PyTorch3D's fields and defaults).

    Attributes:
        image_size: H = W as an int, or (H, W).
        blur_radius: squared NDC distance within which a pixel outside a face still records
            it; 0 for hard edges.
        faces_per_pixel: K, the nearest faces kept per pixel.
        bin_size: side of the native kernels' screen bins in pixels (see rasterize_meshes);
            None: automatic, 0: naive.
        max_faces_per_bin: accepted for compatibility; r3d's bins never drop faces.
        perspective_correct: correct barycentrics for perspective; None lets the rasteriser
            decide from the cameras (True for perspective cameras).
        clip_barycentric_coords: clip barycentrics of pixels outside a face; None means
            ``blur_radius > 0``.
        cull_backfaces: skip faces seen from behind.
        z_clip_value: near-plane depth faces are clipped at; None for no clipping.
        cull_to_frustum: skip faces entirely outside the view frustum.
    """

    image_size: int | tuple[int, int] = 256
    blur_radius: float = 0.0
    faces_per_pixel: int = 1
    bin_size: int | None = None
    max_faces_per_bin: int | None = None
    perspective_correct: bool | None = None
    clip_barycentric_coords: bool | None = None
    cull_backfaces: bool = False
    z_clip_value: float | None = None
    cull_to_frustum: bool = False


class MeshRasterizer(RasterizerBase):
    """Projects meshes with cameras and rasterises them (PyTorch3D's MeshRasterizer).

    Args:
        cameras: a batch of 1 or N cameras (N: one per mesh); may instead be passed to forward.
        raster_settings: :class:`RasterizationSettings` (defaults when None).

    ``forward(meshes_world, cameras=..., raster_settings=..., eps=...)`` overrides the stored
    cameras and settings for one call; the cameras' parameters may be given too (``R=``,
    ``T=``, ``fov=``, ...; R and T then stay on the cameras, as in PyTorch3D: see
    :mod:`r3d.renderer.cameras`). Other keywords are left to the shader or compositor.
    """

    settings_type = RasterizationSettings
    item = "mesh"

    def transform(self, meshes_world: Meshes, **kwargs) -> Meshes:
        """The meshes with vertices in NDC (x, y) and view-space depth (z).

        Args:
            meshes_world: N meshes in world space.
            kwargs: ``cameras`` (1 or N), ``eps`` (clamp of the perspective divisor) and
                the cameras' parameters for this call.
        Returns:
            Meshes sharing faces and textures, vertices (N, V, 3) projected.
        """
        if not isinstance(meshes_world, Meshes):
            raise InputError(
                f"MeshRasterizer: meshes_world must be a Meshes, got {describe(meshes_world)}"
            )
        return meshes_world.update_padded(self._project(meshes_world.verts_padded(), kwargs))

    def forward(self, meshes_world: Meshes, **kwargs) -> Fragments:
        """Rasterises N meshes into N images: :class:`Fragments` of (N, H, W, K) slots.

        perspective_correct None follows the cameras; clip_barycentric_coords None means
        ``blur_radius > 0``; z_clip_value None clips at half the nearest camera's znear when
        the barycentrics are perspective-corrected and the cameras have a znear (as PyTorch3D).
        """
        cameras = self._cameras(kwargs)
        settings = kwargs.get("raster_settings", self.raster_settings)
        meshes_ndc = self.transform(meshes_world, **kwargs)
        perspective = settings.perspective_correct
        if perspective is None:
            perspective = cameras.is_perspective()
        clip = settings.clip_barycentric_coords
        z_clip = settings.z_clip_value
        znear = cameras.get_znear()
        if z_clip is None and perspective and znear is not None:
            z_clip = znear.min() / 2  # stays on the device (rasterize_meshes decides)
        pix_to_face, zbuf, bary, dists = rasterize_meshes(
            meshes_ndc,
            image_size=settings.image_size,
            blur_radius=settings.blur_radius,
            faces_per_pixel=settings.faces_per_pixel,
            bin_size=settings.bin_size,
            max_faces_per_bin=settings.max_faces_per_bin,
            perspective_correct=perspective,
            clip_barycentric_coords=settings.blur_radius > 0 if clip is None else clip,
            cull_backfaces=settings.cull_backfaces,
            z_clip_value=z_clip,
            cull_to_frustum=settings.cull_to_frustum,
        )
        return Fragments(pix_to_face, zbuf, bary, dists)
