"""1-to-4 subdivision of triangle meshes at edge midpoints (PyTorch3D's ``SubdivideMeshes``)."""

from __future__ import annotations

import torch
from torch import nn

from r3d._checks import describe
from r3d.errors import InputError
from r3d.structures import Meshes


def _children(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """The four triangles of every face, PyTorch3D's layout.

    Args:
        v: (F, 3) the new indices of each face's corners v0, v1, v2.
        m: (F, 3) the new indices of its edge midpoints, column k the edge opposite corner k.
    Returns:
        (4, F, 3): the corner triangles (v0, m01, m20), (v1, m12, m01), (v2, m20, m12), then
        the middle one (m12, m20, m01); orientation is preserved.
    """
    return torch.stack([
        torch.stack([v[:, 0], m[:, 2], m[:, 1]], 1),
        torch.stack([v[:, 1], m[:, 0], m[:, 2]], 1),
        torch.stack([v[:, 2], m[:, 1], m[:, 0]], 1),
        m,
    ])


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
    children = _children(old_rows[faces], mid_rows[meshes.faces_packed_to_edges_packed()])
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
    ``feats`` also the features of the new vertices (kept rows, then edge-midpoint means, per
    mesh): see :meth:`subdivide_homogeneous` (used when ``meshes`` was given, as in PyTorch3D)
    and :meth:`subdivide_heterogenerous` (otherwise) for their shapes. Gradients flow to the
    vertices and to feats. Textures are not carried over.

    Attributes:
        precomputed: whether the topology was given to the constructor.
    """

    def __init__(self, meshes: Meshes | None = None) -> None:
        super().__init__()
        self._topology: dict[str, torch.Tensor] | None = None
        self._faces: torch.Tensor | None = None
        self.precomputed = meshes is not None
        if meshes is not None:
            with torch.no_grad():
                first = meshes[0]
                self._faces = first.faces_packed()
                self._num_verts = int(first.num_verts_per_mesh()[0])
                self._topology = _subdivided_topology(first)

    def _homogeneous_topology(self, meshes: Meshes) -> dict[str, torch.Tensor]:
        """The topology of the whole batch from the precomputed one (checked to apply)."""
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
        """:meth:`subdivide_homogeneous` when the constructor was given meshes, else
        :meth:`subdivide_heterogenerous`."""
        if self.precomputed:
            return self.subdivide_homogeneous(meshes, feats)
        return self.subdivide_heterogenerous(meshes, feats)

    def subdivide_faces(self, meshes: Meshes) -> torch.Tensor:
        """The faces of the subdivided batch in PyTorch3D's packed layout.

        Args:
            meshes: the batch to subdivide.
        Returns:
            (4 sum F_i, 3) int64: the corner triangles of every packed face (all first
            corners, then all second, then all third), then the middle ones (see
            :func:`_children`), indexing the packed vertices followed by the midpoints of
            ``edges_packed()`` (the midpoint of edge e is vertex ``sum V_i + e``). The meshes
            this returns, :meth:`forward`'s, group each mesh's vertices and faces instead.
        """
        _check_meshes(meshes)
        with torch.no_grad():
            mids = meshes.faces_packed_to_edges_packed() + len(meshes.verts_packed_to_mesh_idx())
            return _children(meshes.faces_packed(), mids).reshape(-1, 3)

    def subdivide_homogeneous(
        self, meshes: Meshes, feats: torch.Tensor | None = None
    ) -> Meshes | tuple[Meshes, torch.Tensor]:
        """Subdivides a batch of meshes that all have the topology given to the constructor.

        Args:
            meshes: N meshes of V vertices and the constructor's faces.
            feats: optional (N, V, D) or (N * V, D) per-vertex features.
        Returns:
            the subdivided Meshes (each V + E vertices), and with feats their (N, V + E, D)
            features, as PyTorch3D returns them.
        """
        if self._topology is None:
            raise InputError(
                "SubdivideMeshes.subdivide_homogeneous: needs the meshes' topology, given to "
                "the constructor: SubdivideMeshes(meshes)"
            )
        _check_meshes(meshes)
        n = len(meshes)
        if feats is not None:
            if isinstance(feats, torch.Tensor) and feats.dim() == 3:
                feats = feats.reshape(-1, feats.shape[-1])
            _check_feats(meshes, feats, f"({n}, {self._num_verts}, D) or ")
        with torch.no_grad():
            topo = self._homogeneous_topology(meshes)
        new = _subdivide(meshes, topo)
        if feats is None:
            return new
        return new, _subdivide_rows(feats, topo).reshape(n, -1, feats.shape[-1])

    def subdivide_heterogenerous(
        self, meshes: Meshes, feats: torch.Tensor | None = None
    ) -> Meshes | tuple[Meshes, torch.Tensor]:
        """Subdivides a batch of meshes of any topologies (PyTorch3D's spelling).

        Args:
            meshes: the batch.
            feats: optional (sum V_i, D) features, parallel to the packed vertices.
        Returns:
            the subdivided Meshes, and with feats the (sum V_i + E_i, D) features of their
            packed vertices.
        """
        _check_meshes(meshes)
        if feats is not None:
            _check_feats(meshes, feats, "")
        with torch.no_grad():
            topo = _subdivided_topology(meshes)
        new = _subdivide(meshes, topo)
        if feats is None:
            return new
        return new, _subdivide_rows(feats, topo)


def _check_meshes(meshes: object) -> None:
    if not isinstance(meshes, Meshes):
        raise InputError(f"SubdivideMeshes: meshes must be a Meshes, got {describe(meshes)}")


def _check_feats(meshes: Meshes, feats: object, other_shape: str) -> None:
    """Raises InputError unless feats is a (sum V_i, D) tensor."""
    num_verts = int(meshes.num_verts_per_mesh().sum())
    if not isinstance(feats, torch.Tensor) or feats.dim() != 2 or feats.shape[0] != num_verts:
        raise InputError(
            f"SubdivideMeshes: feats must have shape {other_shape}({num_verts}, D) (one row per "
            f"packed vertex), got {describe(feats)}"
        )


def _subdivide(meshes: Meshes, topo: dict[str, torch.Tensor]) -> Meshes:
    """The subdivided Meshes of a batch, given its subdivision topology."""
    verts = _subdivide_rows(meshes.verts_packed(), topo)
    vpm, fpm = topo["verts_per_mesh"], topo["faces_per_mesh"]
    first_vert = torch.cumsum(vpm, 0) - vpm
    faces = topo["faces"] - torch.repeat_interleave(
        first_vert, fpm, output_size=len(topo["faces"])
    )[:, None]
    return Meshes(list(verts.split(vpm.tolist())), list(faces.split(fpm.tolist())))
