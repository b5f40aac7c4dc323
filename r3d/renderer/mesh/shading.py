"""Shading: the colour of each fragment under lights (PyTorch3D's phong, gouraud and flat).

All functions return (N, H, W, K, C) colours ``(ambient + diffuse) * texel + specular`` with
``ambient = material.ambient * light.ambient``, ``diffuse = material.diffuse * light.diffuse``
and ``specular = material.specular * light.specular`` (see :mod:`r3d.renderer.lighting`); they
differ in where the lights are evaluated. Colours have C channels (3 for RGB): the materials',
the lights' and the texture's channel counts must be equal or 1 (PyTorch3D's broadcasting; an
:class:`AmbientLights` of C channels lights C-channel textures).
"""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.renderer.properties import expand_like
from r3d.structures.fragments import Fragments
from r3d.structures.meshes import Meshes
from r3d.structures.texture_sampling import sample_vertex_features
from r3d.transforms._common import broadcast_batch

__all__ = ["apply_lighting", "flat_shading", "gouraud_shading", "phong_shading"]


def apply_lighting(
    points: torch.Tensor, normals: torch.Tensor, lights, cameras, materials
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ambient, diffuse and specular light reflected at points (N, ..., 3) with normals
    (N, ..., 3); each broadcastable to (N, ..., C)."""
    broadcast_batch(
        "apply_lighting", "the channel counts of the materials' and the lights' colours",
        [materials.ambient_color.shape[-1], lights.ambient_color.shape[-1]],
    )
    light_diffuse = lights.diffuse(normals=normals, points=points)
    light_specular = lights.specular(
        normals=normals, points=points, camera_position=cameras.get_camera_center(),
        shininess=materials.shininess,
    )
    ambient = expand_like(materials.ambient_color * lights.ambient_color, points)
    diffuse = expand_like(materials.diffuse_color, points) * light_diffuse
    specular = expand_like(materials.specular_color, points) * light_specular
    return ambient, diffuse, specular


def _shade(op: str, colors: torch.Tensor, ambient, diffuse, specular) -> torch.Tensor:
    """``(ambient + diffuse) * colors + specular``, after checking that the channel counts of
    the texture's colours and of the light are equal or 1."""
    broadcast_batch(
        op, "the channel counts of the texture's colours and of the materials and lights",
        [colors.shape[-1], ambient.shape[-1]],
    )
    return (ambient + diffuse) * colors + specular


def phong_shading(
    meshes: Meshes, fragments: Fragments, lights, cameras, materials, texels: torch.Tensor
) -> torch.Tensor:
    """Per-pixel lighting with interpolated positions and vertex normals.

    Args:
        meshes: N meshes (world space), fragments: their (N, H, W, K) fragments.
        lights, cameras, materials: batches of 1 or N.
        texels: (N, H, W, K, C) texture colours.
    Returns:
        (N, H, W, K, C).
    """
    return phong_colors_and_points(meshes, fragments, lights, cameras, materials, texels)[0]


def phong_colors_and_points(
    meshes: Meshes, fragments: Fragments, lights, cameras, materials, texels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`phong_shading`'s colours (N, H, W, K, 3) and the world points (N, H, W, K, 3)
    they were lit at (interpolated from the vertices; 0 in empty slots)."""
    faces = meshes.faces_packed()
    points = sample_vertex_features(fragments, meshes.verts_packed()[faces])
    normals = sample_vertex_features(fragments, meshes.verts_normals_packed()[faces])
    lit = apply_lighting(points, normals, lights, cameras, materials)
    return _shade("phong_shading", texels, *lit), points


def gouraud_shading(
    meshes: Meshes, fragments: Fragments, lights, cameras, materials
) -> torch.Tensor:
    """Per-vertex lighting: each face corner's texture colour lit at its vertex, then the
    corner colours interpolated (for TexturesVertex exactly PyTorch3D's Gouraud shading).

    Args: as :func:`phong_shading` without texels (the meshes' textures give the colours).
    Returns:
        (N, H, W, K, C).
    """
    verts = meshes.verts_padded()
    lit = apply_lighting(verts, meshes.verts_normals_padded(), lights, cameras, materials)
    to_packed = meshes.verts_padded_to_packed_idx()

    def packed(light: torch.Tensor) -> torch.Tensor:
        """(N, V, C) (or broadcastable to it) per-vertex light -> (V_packed, C)."""
        channels = light.shape[-1]
        return light.expand(*verts.shape[:-1], channels).reshape(-1, channels)[to_packed]

    if meshes.textures is None:
        raise InputError("gouraud_shading: meshes must have textures (the vertex colours)")
    faces = meshes.faces_packed()
    corner_colors = meshes.textures.faces_verts_textures_packed(faces)
    face_colors = _shade("gouraud_shading", corner_colors, *(packed(x)[faces] for x in lit))
    return sample_vertex_features(fragments, face_colors)


def flat_shading(
    meshes: Meshes, fragments: Fragments, lights, cameras, materials, texels: torch.Tensor
) -> torch.Tensor:
    """Per-face lighting at the face centroid with the face normal.

    Args: as :func:`phong_shading`.
    Returns:
        (N, H, W, K, C).
    """
    faces_verts = meshes.verts_packed()[meshes.faces_packed()]
    covered = (fragments.pix_to_face >= 0)[..., None]
    face = fragments.pix_to_face.clamp(min=0)
    points = faces_verts.mean(dim=1)[face] * covered
    normals = meshes.faces_normals_packed()[face] * covered
    lit = apply_lighting(points, normals, lights, cameras, materials)
    return _shade("flat_shading", texels, *lit)
