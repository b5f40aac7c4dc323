"""The geometry of a scene as r3d objects: its meshes joined into one, and its view transforms."""

from __future__ import annotations

import torch

from r3d.errors import InputError
from r3d.io import IO
from r3d.render.scene import MeshSpec, Scene
from r3d.renderer import TexturesAtlas, TexturesUV, TexturesVertex, look_at_view_transform
from r3d.structures import Meshes, join_meshes_as_scene

__all__ = ["DEFAULT_COLOUR", "load_meshes", "view_transforms"]

DEFAULT_COLOUR = (0.75, 0.75, 0.75)  # meshes without textures (or with texture: false)


# ---- meshes ------------------------------------------------------------------------------------


def load_meshes(specs: tuple[MeshSpec, ...], device: torch.device) -> Meshes:
    """The scene's meshes, loaded, placed and coloured, joined into one mesh.

    Meshes that keep their file's textures must all have textures of one kind (UV maps,
    vertex colours or atlases); meshes with a plain colour join any of them.
    """
    io = IO()
    placed, colours = [], []
    for spec in specs:
        mesh = io.load_mesh(spec.file, include_textures=spec.colour is None and spec.texture,
                            device=device)
        placed.append(_placed(mesh, spec))
        colours.append(spec.colour or (None if mesh.textures is not None else DEFAULT_COLOUR))
    kinds = {type(m.textures) for m, c in zip(placed, colours) if c is None}
    if len(kinds) > 1:
        files = ", ".join(s.file.name for s, c in zip(specs, colours) if c is None)
        raise InputError(
            f"the meshes {files} have textures of different kinds "
            f"({', '.join(sorted(k.__name__ for k in kinds))}), which cannot be joined into one "
            "scene; give some of them a colour (or texture: false)"
        )
    kind = kinds.pop() if kinds else TexturesVertex
    for i, colour in enumerate(colours):
        if colour is not None:
            placed[i].textures = _plain(kind, placed[i], colour)
    return join_meshes_as_scene(placed)


def _placed(mesh: Meshes, spec: MeshSpec) -> Meshes:
    """``mesh`` normalised (when asked), scaled, rotated and translated as ``spec`` says."""
    verts = mesh.verts_packed()
    if spec.normalize:
        lo, hi = verts.min(dim=0).values, verts.max(dim=0).values
        verts = verts - (lo + hi) / 2
        radius = verts.norm(dim=1).max()
        verts = verts / radius if radius > 0 else verts
    like = {"dtype": verts.dtype, "device": verts.device}
    rotate = torch.tensor(spec.rotate, **like)
    verts = (verts * torch.tensor(spec.scale, **like)) @ rotate.T + torch.tensor(spec.translate,
                                                                                 **like)
    return mesh.update_padded(verts[None])


def _plain(kind: type, mesh: Meshes, colour: tuple[float, float, float]):
    """Textures of ``kind`` giving the one-mesh batch ``mesh`` a single colour."""
    rgb = torch.tensor(colour, dtype=torch.float32, device=mesh.device)
    faces = mesh.faces_packed()
    if kind is TexturesUV:
        return TexturesUV(maps=[rgb.view(1, 1, 3)], faces_uvs=[torch.zeros_like(faces)],
                          verts_uvs=[torch.full((1, 2), 0.5, device=mesh.device)])
    if kind is TexturesAtlas:
        return TexturesAtlas(atlas=[rgb.expand(faces.shape[0], 1, 1, 3)])
    return TexturesVertex(verts_features=[rgb.expand(mesh.verts_packed().shape[0], 3)])


def view_transforms(scene: Scene, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """World-to-view rotations (N, 3, 3) and translations (N, 3) of the scene's N views."""
    cams = scene.cameras
    if cams.R:
        return (torch.tensor(cams.R, dtype=torch.float32, device=device),
                torch.tensor(cams.T, dtype=torch.float32, device=device))
    views = cams.view_list()
    return look_at_view_transform(
        dist=[v.dist for v in views], elev=[v.elev for v in views],
        azim=[v.azim for v in views], at=[v.at for v in views], up=[v.up for v in views],
        device=device,
    )
