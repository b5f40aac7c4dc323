"""1-to-4 subdivision of triangle meshes at edge midpoints (PyTorch3D's ``SubdivideMeshes``)."""

from __future__ import annotations

import torch
from torch import nn

from r3d._checks import describe
from r3d.errors import InputError
from r3d.structures import Meshes


def _subdivided_topology(meshes: Meshes) -> dict[str, torch.Tensor]:
    """Index tensors of the subdivision of a batch.

    Mesh i's new vertices are its own V_i vertices followed by the midpoints of its E_i edges
    (in ``edges_packed`` order); its new faces are, for its faces in order, the corner triangles
    (v0, m01, m20), then (v1, m12, m01), then (v2, m20, m12), then the middle ones
    (m12, m20, m01), PyTorch3D's layout. Orientation is preserved.

    Returns:
        dict with ``edges`` (E, 2) packed vertex pairs, ``old_rows`` (V,) and ``mid_rows``
        (E,) the packed rows of the new vertices, ``faces`` (4 F, 3) new packed faces,
        ``verts_per_mesh`` (N,) and ``faces_per_mesh`` (N,).
    """
    faces = meshes.faces_packed()
    edges = meshes.edges_packed()
    nv, ne, nf = meshes.num_verts_per_mesh(), meshes.num_edges_per_mesh(), \
        meshes.num_faces_per_mesh()
    edge_first = meshes.mesh_to_edges_packed_first_idx()
    vert_end = torch.cumsum(nv, 0)
    old_rows = torch.arange(len(meshes.verts_packed_to_mesh_idx()), device=faces.device) \
        + edge_first[meshes.verts_packed_to_mesh_idx()]
    mid_rows = torch.arange(len(edges), device=faces.device) \
        + vert_end[meshes.edges_packed_to_mesh_idx()]
    v = old_rows[faces]  # (F, 3)
    m = mid_rows[meshes.faces_packed_to_edges_packed()]  # column k: edge opposite corner k
    children = torch.stack([
        torch.stack([v[:, 0], m[:, 2], m[:, 1]], 1),
        torch.stack([v[:, 1], m[:, 0], m[:, 2]], 1),
        torch.stack([v[:, 2], m[:, 1], m[:, 0]], 1),
        m,
    ])  # (4, F, 3)
    # mesh i's faces: its 4 blocks of F_i children, one after the other
    face_first = meshes.mesh_to_faces_packed_first_idx()
    mesh = meshes.faces_packed_to_mesh_idx()
    local = torch.arange(len(faces), device=faces.device) - face_first[mesh]
    rows = 4 * face_first[mesh][None] + torch.arange(4, device=faces.device)[:, None] \
        * nf[mesh][None] + local[None]
    new_faces = torch.empty((4 * len(faces), 3), dtype=torch.int64, device=faces.device)
    new_faces[rows.reshape(-1)] = children.reshape(-1, 3)
    return {
        "edges": edges, "old_rows": old_rows, "mid_rows": mid_rows, "faces": new_faces,
        "verts_per_mesh": nv + ne, "faces_per_mesh": 4 * nf,
    }


def _subdivide_rows(x: torch.Tensor, topo: dict[str, torch.Tensor]) -> torch.Tensor:
    """Packed per-vertex rows (V, ...) -> (V + E, ...): kept rows and edge-midpoint means."""
    mids = x[topo["edges"]].mean(1)
    out = x.new_empty((len(x) + len(mids), *x.shape[1:]))
    return out.index_put((topo["old_rows"],), x).index_put((topo["mid_rows"],), mids)


class SubdivideMeshes(nn.Module):
    """Splits every triangle into four at its edge midpoints.

    Args:
        meshes: optional Meshes whose first mesh's topology is computed once and reused by
            every call on batches of meshes with exactly that topology (checked). Without it,
            each call works out the topology of its own (possibly heterogeneous) batch.

    Calling the module: ``forward(meshes, feats=None)`` returns the subdivided Meshes, and with
    ``feats`` a (sum V_i, D) tensor parallel to the packed vertices also the (sum V_i + E_i, D)
    features of the new packed vertices (kept rows, then edge-midpoint means, per mesh).
    Gradients flow to the vertices and to feats. Textures are not carried over.
    """

    def __init__(self, meshes: Meshes | None = None) -> None:
        super().__init__()
        self._topology: dict[str, torch.Tensor] | None = None
        self._faces: torch.Tensor | None = None
        if meshes is not None:
            with torch.no_grad():
                first = meshes[0]
                self._faces = first.faces_packed()
                self._num_verts = int(first.num_verts_per_mesh()[0])
                self._topology = _subdivided_topology(first)

    def _batch_topology(self, meshes: Meshes) -> dict[str, torch.Tensor]:
        """The topology of the whole batch, from the precomputed one when there is one."""
        if self._topology is None:
            with torch.no_grad():
                return _subdivided_topology(meshes)
        faces = meshes.faces_padded()
        if (meshes.num_verts_per_mesh() != self._num_verts).any() or faces.shape[1:] != \
                self._faces.shape or (faces != self._faces.to(faces.device)).any():
            raise InputError(
                "SubdivideMeshes: the meshes must all have the topology of the mesh given to "
                "the constructor (same vertex count and faces); build SubdivideMeshes() without "
                "meshes for other batches"
            )
        t = {k: v.to(faces.device) for k, v in self._topology.items()}
        N, V, E = len(meshes), self._num_verts, len(t["edges"])
        step = torch.arange(N, device=faces.device)
        return {
            "edges": (t["edges"][None] + V * step[:, None, None]).reshape(-1, 2),
            "old_rows": (t["old_rows"][None] + (V + E) * step[:, None]).reshape(-1),
            "mid_rows": (t["mid_rows"][None] + (V + E) * step[:, None]).reshape(-1),
            "faces": (t["faces"][None] + (V + E) * step[:, None, None]).reshape(-1, 3),
            "verts_per_mesh": t["verts_per_mesh"].repeat(N),
            "faces_per_mesh": t["faces_per_mesh"].repeat(N),
        }

    def forward(
        self, meshes: Meshes, feats: torch.Tensor | None = None
    ) -> Meshes | tuple[Meshes, torch.Tensor]:

        if not isinstance(meshes, Meshes):
            raise InputError(f"SubdivideMeshes: meshes must be a Meshes, got {describe(meshes)}")
        num_verts = int(meshes.num_verts_per_mesh().sum())
        if feats is not None and (not isinstance(feats, torch.Tensor) or feats.dim() != 2
                                  or feats.shape[0] != num_verts):
            raise InputError(
                f"SubdivideMeshes: feats must have shape ({num_verts}, D) (one row per packed "
                f"vertex), got {describe(feats)}"
            )
        topo = self._batch_topology(meshes)
        verts = _subdivide_rows(meshes.verts_packed(), topo)
        vpm, fpm = topo["verts_per_mesh"], topo["faces_per_mesh"]
        first_vert = torch.cumsum(vpm, 0) - vpm
        faces = topo["faces"] - torch.repeat_interleave(
            first_vert, fpm, output_size=len(topo["faces"])
        )[:, None]
        new = Meshes(list(verts.split(vpm.tolist())), list(faces.split(fpm.tolist())))
        if feats is None:
            return new
        return new, _subdivide_rows(feats, topo)
