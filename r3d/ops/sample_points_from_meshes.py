"""Uniform random points on the surfaces of a batch of meshes."""

from __future__ import annotations

import torch

from r3d._checks import check_positive_int, describe
from r3d.errors import InputError
from r3d.structures import Meshes
from r3d.structures.fragments import Fragments
from r3d.structures.packed_padded import packed_to_padded

_OP = "sample_points_from_meshes"


def sample_points_from_meshes(
    meshes: Meshes,
    num_samples: int = 10000,
    return_normals: bool = False,
    return_textures: bool = False,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """Points drawn uniformly over the surface of each mesh.

    Each sample picks a face with probability proportional to its area (faces are chosen
    uniformly in a mesh whose area is 0), then a uniform point of that triangle:
    with u, v ~ U(0, 1), barycentric weights (1 - sqrt(u), sqrt(u) (1 - v), sqrt(u) v).

    Args:
        meshes: a Meshes batch of N meshes.
        num_samples: S, points per mesh.
        return_normals: also return the unit normal of the face each point lies on.
        return_textures: also return the texture features at each point, sampled as the
            renderer samples them: vertex features interpolated with the barycentric weights
            (TexturesVertex), the map(s) looked up at the interpolated UV (TexturesUV, with
            its sampling_mode, padding_mode and align_corners), the face's texel (TexturesAtlas).
        generator: random generator on the meshes' device, for reproducible samples.
    Returns:
        samples (N, S, 3), then normals (N, S, 3) if asked, then textures (N, S, C) if asked
        (a tuple when more than the samples is returned). Meshes without faces get zeros
        (so does a batch with no faces at all, where PyTorch3D raises). Samples, normals and
        textures are differentiable w.r.t. the vertices (and texture data); the face choice
        and barycentric weights are not.
    Raises:
        InputError: bad arguments, or return_textures with meshes without textures.
    """
    if not isinstance(meshes, Meshes):
        raise InputError(f"{_OP}: meshes must be a Meshes, got {describe(meshes)}")
    check_positive_int(_OP, "num_samples", num_samples)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise InputError(f"{_OP}: generator must be a torch.Generator, got "
                         f"{describe(generator)}")
    if return_textures and meshes.textures is None:
        raise InputError(f"{_OP}: return_textures=True needs meshes with textures, got none")

    verts, faces = meshes.verts_packed(), meshes.faces_packed()
    N, S = len(meshes), num_samples
    valid = meshes.valid
    face_idx = _choose_faces(meshes, S, generator)  # (N_valid, S) packed face indices
    bary = _random_barycentric(face_idx.shape[0], S, verts.dtype, verts.device, generator)
    corners = verts[faces[face_idx]]  # (N_valid, S, 3 corners, 3)
    samples = verts.new_zeros((N, S, 3))
    samples[valid] = (bary[..., None] * corners).sum(2)
    out = [samples]
    if return_normals:
        normals = verts.new_zeros((N, S, 3))
        normals[valid] = meshes.faces_normals_packed()[face_idx]
        out.append(normals)
    if return_textures:
        out.append(_sample_textures(meshes, face_idx, bary))
    return out[0] if len(out) == 1 else tuple(out)


def _choose_faces(meshes: Meshes, S: int, generator: torch.Generator | None) -> torch.Tensor:
    """(N_valid, S) int64 packed indices of faces drawn with probability proportional to area,
    for each mesh with faces."""
    first = meshes.mesh_to_faces_packed_first_idx()
    counts = meshes.num_faces_per_mesh()
    valid = meshes.valid
    # detached, not under no_grad: the mesh caches its areas (and normals) for later use
    areas = meshes.faces_areas_packed().detach()
    max_faces = int(counts.max()) if len(meshes) else 0
    padded = packed_to_padded(areas, first, max_faces)[valid]  # (N_valid, F), 0-padded
    if padded.shape[0] == 0:
        return first.new_zeros((0, S))
    # A mesh of zero area (all faces degenerate) draws its faces uniformly.
    in_mesh = torch.arange(max_faces, device=areas.device)[None, :] < counts[valid][:, None]
    flat = (padded.sum(1, keepdim=True) == 0) & in_mesh
    probs = torch.where(flat, torch.ones_like(padded), padded)
    local = torch.multinomial(probs, S, replacement=True, generator=generator)
    return local + first[valid][:, None]


def _random_barycentric(
    n: int, S: int, dtype: torch.dtype, device: torch.device, generator: torch.Generator | None
) -> torch.Tensor:
    """(n, S, 3) barycentric weights of points uniform over a triangle (the sqrt trick)."""
    u, v = torch.rand((2, n, S), dtype=dtype, device=device, generator=generator)
    root = u.sqrt()
    return torch.stack([1 - root, root * (1 - v), root * v], dim=-1)


def _sample_textures(meshes: Meshes, face_idx: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    """(N, S, C) texture features at barycentric points ``bary`` (N_valid, S, 3) of the packed
    faces ``face_idx`` (N_valid, S) of the meshes with faces (zeros for the other meshes): the
    samples are handed to the textures' own sampling as fragments of N images of 1 x S pixels."""
    N, S = len(meshes), face_idx.shape[1]
    pix_to_face = face_idx.new_full((N, S), -1)
    pix_to_face[meshes.valid] = face_idx
    bary_all = bary.new_zeros((N, S, 3))
    bary_all[meshes.valid] = bary
    unused = bary.new_zeros((N, 1, S, 1))
    fragments = Fragments(pix_to_face[:, None, :, None], unused, bary_all[:, None, :, None], unused)
    texels = meshes.textures.sample_textures(fragments, meshes.faces_packed())  # (N, 1, S, 1, C)
    return texels[:, 0, :, 0]
