"""Batches of triangle meshes of different sizes: :class:`Meshes` and the join functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from r3d._native.core import load_aware_threads
from r3d.errors import InputError
from r3d.structures.display import NotebookView
from r3d.structures.laplacian_matrices import laplacian
from r3d.structures.mesh_face_areas_normals import mesh_face_areas_normals
from r3d.structures.utils import (
    BatchLayout,
    RowField,
    as_index_list,
    bounding_boxes,
    cacheable,
    check_float_tensor,
    check_positive_int,
    check_tensor_list,
    describe,
    item_index,
    map_tensors,
    offset_packed,
    resolve_device,
    scale_packed,
    split_batch,
)

__all__ = ["Meshes", "join_meshes_as_batch", "join_meshes_as_scene"]

_NORMAL_EPS = 1e-6


def _first_bad(mask: torch.Tensor) -> int:
    return int(mask.nonzero()[0, 0])


def _bad_faces(
    given: torch.Tensor, faces: torch.Tensor, limit: torch.Tensor | int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Which face rows are padding and which are invalid.

    Args:
        given: (..., 3) faces as given (integer, or float holding whole numbers).
        faces: ``given`` cast to int64.
        limit: the vertex count the indices must stay below (broadcast against faces[..., 0]).
    Returns:
        (...,) bool: rows of -1 (padding), and rows with an index that is negative, at least
        ``limit`` or (float faces) not a whole number, padding excluded.
    """
    pad = (faces == -1).all(-1)
    bad = (faces < 0).any(-1) | (faces >= limit).any(-1)
    if given.is_floating_point():
        bad = bad | (given != given.trunc()).any(-1)
    return pad, ~pad & bad


class Meshes(NotebookView):
    """A batch of N triangle meshes, each with its own number of vertices and faces.

    Every per-vertex or per-face quantity is available in three forms:

    - list: N tensors, one per mesh (``verts_list()[i]`` is (V_i, 3));
    - padded: one (N, max V_i, 3) tensor, rows past V_i are 0 (faces: -1);
    - packed: one (sum V_i, 3) tensor, the meshes one after the other. Packed faces index
      packed vertices (mesh i's faces are offset by ``mesh_to_verts_packed_first_idx()[i]``).

    Views are computed lazily from whichever form was given and cached; methods ending in ``_``
    change the batch in place and drop the caches they invalidate. Gradients flow from the
    vertices given to every view derived from them.

    Args:
        verts: list of N (V_i, 3) float tensors, or a padded (N, V, 3) float tensor (then every
            mesh has V vertices).
        faces: list of N (F_i, 3) integer tensors indexing the mesh's own vertices, or a padded
            (N, F, 3) integer tensor in which rows of -1 at the end of a mesh are padding.
            Rows of -1 in a list entry are dropped. Stored as int64; float tensors holding
            whole numbers are cast, as PyTorch3D does.
        textures: optional textures object with one entry per mesh.
        verts_normals: optional vertex normals, a list of N (V_i, 3) tensors or a padded
            (N, max V_i, 3) tensor, used instead of the computed ones.

    Meshes with no vertices (and so no faces) and meshes with vertices but no faces are
    allowed; ``valid[i]`` is False for both. An empty list entry may be given as
    ``torch.tensor([])``, PyTorch3D's idiom: it is stored as a (0, 3) tensor like the others
    (float verts of the batch's dtype, int64 faces).

    Attributes:
        valid: (N,) bool, whether each mesh has at least one face.
        equisized: whether all meshes have the same numbers of vertices and of faces.
        textures: the textures object (or None), carried through every method.
        device: the device of every tensor.
    """

    def __init__(
        self,
        verts: Sequence[torch.Tensor] | torch.Tensor,
        faces: Sequence[torch.Tensor] | torch.Tensor,
        textures: Any = None,
        *,
        verts_normals: Sequence[torch.Tensor] | torch.Tensor | None = None,
    ) -> None:
        if isinstance(verts, (list, tuple)) and isinstance(faces, (list, tuple)):
            self._init_from_lists(verts, faces)
        elif isinstance(verts, torch.Tensor) and isinstance(faces, torch.Tensor):
            self._init_from_padded(verts, faces)
        else:
            raise InputError(
                "Meshes: verts and faces must both be lists of tensors or both padded tensors "
                f"(N, V, 3) and (N, F, 3), got verts {describe(verts)} and faces {describe(faces)}"
            )
        self._finish_init()
        self.textures = textures
        if textures is not None:
            self._check_textures(textures)
        if verts_normals is not None:
            self._given_normals = self._parse_verts_normals(verts_normals)

    # ---- construction ------------------------------------------------------------------------
    def _init_from_lists(self, verts: Sequence[torch.Tensor], faces: Sequence[torch.Tensor]):
        verts = check_tensor_list("verts", verts, row_dim=3, floating=True)
        if len(faces) != len(verts):
            raise InputError(
                f"Meshes: faces must be a list of {len(verts)} tensors like verts, "
                f"got {len(faces)}"
            )
        device = verts[0].device if len(verts) else torch.device("cpu")
        faces = check_tensor_list("faces", faces, row_dim=3, floating=False, device=device)
        dtype = verts[0].dtype if len(verts) else torch.get_default_dtype()
        nv = [v.shape[0] for v in verts]
        layout = BatchLayout([f.shape[0] for f in faces], device)
        given = layout.list_to_packed(faces, (3,), torch.int64)
        packed = given.to(torch.int64)
        with load_aware_threads():  # passes over every face index
            limit = torch.tensor(nv, dtype=torch.int64, device=device)[layout.packed_to_item()]
            pad, bad = _bad_faces(given, packed, limit[:, None])
            any_bad, any_pad = torch.stack([bad.any(), pad.any()]).tolist()
        if any_bad:
            row = _first_bad(bad)
            mesh = int(layout.packed_to_item()[row])
            local = row - layout.first_idx()[mesh].item()
            raise InputError(
                f"Meshes: faces[{mesh}] row {local} is {given[row].tolist()}: face indices must "
                f"be whole numbers in [0, {nv[mesh] - 1}] (the mesh has {nv[mesh]} verts), or "
                "the whole row be -1 (padding)"
            )
        faces = [f.to(torch.int64) for f in faces]
        if any_pad:
            faces = [f[~(f == -1).all(1)] for f in faces]
        self._N = len(verts)
        self.device = device
        self._vl = BatchLayout(nv, device)
        self._fl = BatchLayout([f.shape[0] for f in faces], device)
        self._verts = RowField(self._vl, list_=verts, row_shape=(3,), dtype=dtype)
        self._faces = RowField(
            self._fl, list_=faces, pad_value=-1, row_shape=(3,), dtype=torch.int64
        )

    def _init_from_padded(self, verts: torch.Tensor, faces: torch.Tensor) -> None:
        if not verts.is_floating_point() or verts.dim() != 3 or verts.shape[2] != 3:
            raise InputError(
                f"Meshes: padded verts must be a float tensor of shape (N, V, 3), "
                f"got {describe(verts)}"
            )
        if faces.is_complex() or faces.dtype == torch.bool or faces.dim() != 3 \
                or faces.shape[2] != 3:
            raise InputError(
                f"Meshes: padded faces must be an integer (or whole-number float) tensor of "
                f"shape (N, F, 3), got {describe(faces)}"
            )
        if faces.shape[0] != verts.shape[0]:
            raise InputError(
                f"Meshes: faces must have batch size {verts.shape[0]} like verts, "
                f"got {describe(faces)}"
            )
        if faces.device != verts.device:
            raise InputError(
                f"Meshes: faces must be on {verts.device} like verts, got {describe(faces)}"
            )
        given, faces = faces, faces.to(torch.int64)
        n, v = verts.shape[:2]
        pad, bad = _bad_faces(given, faces, v)
        not_at_end = (pad[:, :-1] & ~pad[:, 1:]).any(1)
        counts = (~pad).sum(1)
        stats = torch.cat([counts, bad.any()[None], not_at_end.any()[None]]).tolist()
        nf, any_bad, any_gap = stats[:n], stats[n], stats[n + 1]
        if any_bad:
            mesh, row = bad.nonzero()[0].tolist()
            raise InputError(
                f"Meshes: faces[{mesh}, {row}] is {given[mesh, row].tolist()}: face indices must "
                f"be whole numbers in [0, {v - 1}] (verts has {v} per mesh), or the whole row be "
                "-1 (padding)"
            )
        if any_gap:
            mesh = _first_bad(not_at_end)
            raise InputError(
                f"Meshes: padding rows (all -1) of faces[{mesh}] must come after its real faces"
            )
        self._N = n
        self.device = verts.device
        self._vl = BatchLayout([v] * n, verts.device, max_size=v)
        self._fl = BatchLayout(nf, verts.device, max_size=faces.shape[1])
        self._verts = RowField(self._vl, padded=verts)
        self._faces = RowField(self._fl, padded=faces, pad_value=-1)

    def _finish_init(self) -> None:
        nv, nf = self._vl.lengths, self._fl.lengths
        self._V = self._vl.max_size
        self._F = max(nf, default=0)
        self.valid = torch.tensor(
            [a > 0 and b > 0 for a, b in zip(nv, nf)], dtype=torch.bool, device=self.device
        )
        self.equisized = self._N > 0 and self._vl.equisized and self._fl.equisized
        self._given_normals: RowField | None = None
        self._topo: dict[str, Any] = {}  # depends on the faces only
        self._geom: dict[str, Any] = {}  # depends on the vertex positions

    def _check_textures(self, textures: Any) -> None:
        try:
            n = len(textures)
        except TypeError:
            raise InputError(
                f"Meshes: textures must be a textures object with len(), got {describe(textures)}"
            ) from None
        if n != self._N:
            raise InputError(
                f"Meshes: textures must have batch size {self._N} like verts, got {n}"
            )
        ok = textures.check_shapes(self._vl.lengths, self._fl.lengths)
        if ok is False:
            raise InputError(
                "Meshes: textures do not match the meshes: expected verts per mesh "
                f"{self._vl.lengths} and faces per mesh {self._fl.lengths}"
            )

    def _parse_verts_normals(self, normals: Any) -> RowField:
        if isinstance(normals, (list, tuple)):
            normals = check_tensor_list("verts_normals", normals, row_dim=3, floating=True,
                                        device=self.device)
            got = [n.shape[0] for n in normals]
            if got != self._vl.lengths:
                raise InputError(
                    f"Meshes: verts_normals must have {self._vl.lengths} rows per mesh like "
                    f"verts, got {got}"
                )
            return RowField(self._vl, list_=normals, row_shape=(3,), dtype=self._verts.dtype)
        if isinstance(normals, torch.Tensor):
            want = (self._N, self._vl.max_size, 3)
            if not normals.is_floating_point() or tuple(normals.shape) != want:
                raise InputError(
                    f"Meshes: padded verts_normals must be a float tensor of shape {want}, "
                    f"got {describe(normals)}"
                )
            if normals.device != self.device:
                raise InputError(
                    f"Meshes: verts_normals must be on {self.device}, got {describe(normals)}"
                )
            return RowField(self._vl, padded=normals)
        raise InputError(
            f"Meshes: verts_normals must be a list of tensors or a padded tensor, "
            f"got {describe(normals)}"
        )

    # ---- sizes and flags ---------------------------------------------------------------------
    def __len__(self) -> int:
        """N, the number of meshes."""
        return self._N

    def __repr__(self) -> str:
        return (
            f"Meshes(N={self._N}, verts={self._vl.lengths if self._N <= 8 else '...'}, "
            f"faces={self._fl.lengths if self._N <= 8 else '...'}, device={self.device})"
        )

    def isempty(self) -> bool:
        """True when the batch has no meshes or no mesh has a face."""
        return self._N == 0 or not any(self._fl.lengths)

    def num_verts_per_mesh(self) -> torch.Tensor:
        """(N,) int64 number of vertices of each mesh."""
        return self._vl.lengths_tensor()

    def num_faces_per_mesh(self) -> torch.Tensor:
        """(N,) int64 number of faces of each mesh."""
        return self._fl.lengths_tensor()

    # ---- vertices ----------------------------------------------------------------------------
    def verts_list(self) -> list[torch.Tensor]:
        """List of N (V_i, 3) vertex tensors."""
        return self._verts.list()

    def verts_packed(self) -> torch.Tensor:
        """(sum V_i, 3) packed vertices."""
        return self._verts.packed()

    def verts_padded(self) -> torch.Tensor:
        """(N, max V_i, 3) vertices, zero-padded."""
        return self._verts.padded()

    def verts_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum V_i,) int64 mesh index of every packed vertex."""
        return self._vl.packed_to_item()

    def mesh_to_verts_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 index of each mesh's first vertex in verts_packed."""
        return self._vl.first_idx()

    def verts_padded_to_packed_idx(self) -> torch.Tensor:
        """(sum V_i,) int64: ``verts_packed() == verts_padded().view(-1, 3)[idx]``."""
        return self._vl.padded_to_packed_idx()

    # ---- faces -------------------------------------------------------------------------------
    def faces_list(self) -> list[torch.Tensor]:
        """List of N (F_i, 3) int64 faces, indexing each mesh's own vertices."""
        return self._faces.list()

    def faces_padded(self) -> torch.Tensor:
        """(N, max F_i, 3) int64 faces in each mesh's own vertex indices, padded with -1."""
        return self._faces.padded()

    def faces_packed(self) -> torch.Tensor:
        """(sum F_i, 3) int64 faces indexing verts_packed()."""
        t = self._topo.get("faces_packed")
        if t is None:
            offset = self._vl.first_idx()[self._fl.packed_to_item()]
            t = self._keep(self._topo, "faces_packed", self._faces.packed() + offset[:, None])
        return t

    @staticmethod
    def _keep(cache: dict, key: str, value: Any) -> Any:
        """Stores ``value`` (a tensor, or a dict or RowField of them) in ``cache`` unless it is
        being traced (see :func:`cacheable`); returns it."""
        t = value
        if isinstance(value, dict):
            t = next(iter(value.values()))
        elif isinstance(value, RowField):
            t = value.packed()
        elif isinstance(value, tuple):
            t = value[0]
        if cacheable(t):
            cache[key] = value
        return value

    def faces_packed_to_mesh_idx(self) -> torch.Tensor:
        """(sum F_i,) int64 mesh index of every packed face."""
        return self._fl.packed_to_item()

    def mesh_to_faces_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 index of each mesh's first face in faces_packed."""
        return self._fl.first_idx()

    def faces_padded_to_packed_idx(self) -> torch.Tensor:
        """(sum F_i,) int64: ``faces_packed`` rows are rows ``idx`` of the padded faces viewed as
        (N * max F_i, 3) (before the packed vertex offset is added)."""
        return self._fl.padded_to_packed_idx()

    # ---- edges -------------------------------------------------------------------------------
    def _edges(self) -> dict[str, torch.Tensor]:
        e = self._topo.get("edges")
        if e is not None:
            return e
        faces = self.faces_packed()
        nf = faces.shape[0]
        nv = self._vl.total
        # edge k of a face is the one opposite its corner k: (v1, v2), (v2, v0), (v0, v1)
        all_edges = torch.cat([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], 0)
        all_edges = all_edges.sort(dim=1).values
        key = all_edges[:, 0] * max(nv, 1) + all_edges[:, 1]
        unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
        edges = torch.stack([unique // max(nv, 1), unique % max(nv, 1)], dim=1)
        to_mesh = self._vl.packed_to_item()[edges[:, 0]]
        counts = torch.bincount(to_mesh, minlength=self._N)
        first = torch.cumsum(counts, 0) - counts
        e = {
            "edges": edges,
            "to_mesh": to_mesh,
            "faces_to_edges": inverse.reshape(3, nf).t(),
            "num": counts,
            "first": first,
        }
        return self._keep(self._topo, "edges", e)

    def edges_packed(self) -> torch.Tensor:
        """(E, 2) int64 unique undirected edges of all meshes, each as (v0 < v1) in packed
        vertex indices, sorted by (v0, v1)."""
        return self._edges()["edges"]

    def edges_packed_to_mesh_idx(self) -> torch.Tensor:
        """(E,) int64 mesh index of every packed edge."""
        return self._edges()["to_mesh"]

    def mesh_to_edges_packed_first_idx(self) -> torch.Tensor:
        """(N,) int64 index of each mesh's first edge in edges_packed."""
        return self._edges()["first"]

    def num_edges_per_mesh(self) -> torch.Tensor:
        """(N,) int64 number of unique edges of each mesh."""
        return self._edges()["num"]

    def faces_packed_to_edges_packed(self) -> torch.Tensor:
        """(sum F_i, 3) int64: for face (v0, v1, v2), the edges_packed indices of its edges
        (v1, v2), (v2, v0) and (v0, v1), i.e. column k is the edge opposite corner k."""
        return self._edges()["faces_to_edges"]

    def laplacian_packed(self) -> torch.Tensor:
        """(sum V_i, sum V_i) sparse uniform Laplacian: L[i, j] = 1 / deg(i) for every edge
        (i, j), L[i, i] = -1; rows of isolated vertices hold only the -1."""
        lap = self._topo.get("laplacian")
        if lap is None:
            lap = self._keep(self._topo, "laplacian",
                             laplacian(self.verts_packed(), self.edges_packed()))
        return lap

    # ---- normals and areas -------------------------------------------------------------------
    def _face_areas_normals(self) -> tuple[torch.Tensor, torch.Tensor]:
        an = self._geom.get("face_areas_normals")
        if an is None:
            an = self._keep(self._geom, "face_areas_normals",
                            mesh_face_areas_normals(self.verts_packed(), self.faces_packed()))
        return an

    def faces_areas_packed(self) -> torch.Tensor:
        """(sum F_i,) area of every packed face."""
        return self._face_areas_normals()[0]

    def _faces_normals_field(self) -> RowField:
        f = self._geom.get("faces_normals")
        if f is None:
            f = self._keep(self._geom, "faces_normals",
                           RowField(self._fl, packed=self._face_areas_normals()[1]))
        return f

    def faces_normals_packed(self) -> torch.Tensor:
        """(sum F_i, 3) unit normal of every packed face (zero for degenerate faces)."""
        return self._faces_normals_field().packed()

    def faces_normals_list(self) -> list[torch.Tensor]:
        """List of N (F_i, 3) face normals."""
        return self._faces_normals_field().list()

    def faces_normals_padded(self) -> torch.Tensor:
        """(N, max F_i, 3) face normals, zero-padded."""
        return self._faces_normals_field().padded()

    def _verts_normals_field(self) -> RowField:
        if self._given_normals is not None:
            return self._given_normals
        f = self._geom.get("verts_normals")
        if f is None:
            verts, faces = self.verts_packed(), self.faces_packed()
            v0, v1, v2 = verts[faces].unbind(1)
            # |cross| is twice the face area, so summing weights faces by their area
            n = torch.cross(v1 - v0, v2 - v0, dim=1)
            acc = torch.zeros_like(verts).index_add(
                0, faces.reshape(-1), n.repeat_interleave(3, dim=0)
            )
            f = self._keep(self._geom, "verts_normals",
                           RowField(self._vl, packed=F.normalize(acc, dim=1, eps=_NORMAL_EPS)))
        return f

    def has_verts_normals(self) -> bool:
        """Whether vertex normals were given or have already been computed."""
        return self._given_normals is not None or "verts_normals" in self._geom

    def verts_normals_packed(self) -> torch.Tensor:
        """(sum V_i, 3) vertex normals: the given ones, or the normalised area-weighted sum of
        the normals of the faces around each vertex (zero for vertices in no face)."""
        return self._verts_normals_field().packed()

    def verts_normals_list(self) -> list[torch.Tensor]:
        """List of N (V_i, 3) vertex normals."""
        return self._verts_normals_field().list()

    def verts_normals_padded(self) -> torch.Tensor:
        """(N, max V_i, 3) vertex normals, zero-padded."""
        return self._verts_normals_field().padded()

    def get_bounding_boxes(self) -> torch.Tensor:
        """(N, 3, 2) per-mesh bounds: ``[i, :, 0]`` the minima, ``[i, :, 1]`` the maxima of mesh
        i's vertices (zeros for a mesh with no vertices)."""
        return bounding_boxes(self._vl, self.verts_padded())

    # ---- copies ------------------------------------------------------------------------------
    def _map(
        self, fn: Callable[[torch.Tensor], torch.Tensor], textures: Any, device: torch.device
    ) -> Meshes:
        """A new Meshes whose every stored tensor is ``fn(t)``, with ``textures``."""
        new = map_tensors(self, fn, device)
        new.textures = textures
        return new

    def clone(self) -> Meshes:
        """Deep copy: every tensor cloned (gradients still flow to the original), textures
        cloned."""
        tex = None if self.textures is None else self.textures.clone()
        return self._map(lambda t: t.clone(), tex, self.device)

    def detach(self) -> Meshes:
        """Copy whose tensors are detached from the autograd graph (storage shared)."""
        tex = None if self.textures is None else self.textures.detach()
        return self._map(lambda t: t.detach(), tex, self.device)

    def to(self, device: torch.device | str, copy: bool = False) -> Meshes:
        """The batch on ``device``: self when already there (unless ``copy``), else a copy."""
        device = resolve_device(device)
        if device == self.device and not copy:
            return self
        if device == self.device:
            return self.clone()
        tex = None if self.textures is None else self.textures.to(device)
        return self._map(lambda t: t.to(device), tex, device)

    def cpu(self) -> Meshes:
        """The batch on the CPU."""
        return self.to("cpu")

    def cuda(self) -> Meshes:
        """The batch on the current CUDA device."""
        return self.to("cuda")

    # ---- selection, batching -----------------------------------------------------------------
    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> Meshes:
        """A new Meshes of the selected meshes (int, slice, list of ints, (N,) bool tensor or
        1-d int64 tensor); textures and given vertex normals follow."""
        idx = as_index_list(index, self._N)
        verts, faces = self.verts_list(), self.faces_list()
        normals = None
        if self._given_normals is not None:
            given = self._given_normals.list()
            normals = [given[i] for i in idx]
        out = Meshes(
            verts=[verts[i] for i in idx],
            faces=[faces[i] for i in idx],
            textures=None if self.textures is None else self.textures[idx],
            verts_normals=normals,
        )
        if not idx:  # an empty selection keeps the dtype and device
            out._verts.dtype = self._verts.dtype
            out = out.to(self.device)
        return out

    def get_mesh_verts_faces(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Vertices (V_i, 3) and faces (F_i, 3) of mesh ``index``."""
        index = item_index("get_mesh_verts_faces", index, self._N)
        return self.verts_list()[index], self.faces_list()[index]

    def split(self, split_sizes: Sequence[int]) -> list[Meshes]:
        """Splits the batch into consecutive Meshes of ``split_sizes`` meshes each (the sizes
        must add up to N)."""
        return split_batch(self, split_sizes)

    def extend(self, N: int) -> Meshes:
        """A batch of len(self) * N meshes: each mesh repeated N times in a row (cloned)."""
        check_positive_int("extend", "N", N)
        verts = [v.clone() for v in self.verts_list() for _ in range(N)]
        faces = [f.clone() for f in self.faces_list() for _ in range(N)]
        normals = None
        if self._given_normals is not None:
            normals = [n.clone() for n in self._given_normals.list() for _ in range(N)]
        tex = None if self.textures is None else self.textures.extend(N)
        return Meshes(verts=verts, faces=faces, textures=tex, verts_normals=normals)

    # ---- changing the vertices -----------------------------------------------------------------
    def _set_verts_packed(self, verts_packed: torch.Tensor, keep_normals: bool) -> None:
        self._verts = RowField(self._vl, packed=verts_packed)
        self._geom = {}
        if not keep_normals:
            self._given_normals = None

    def offset_verts_(self, vert_offsets_packed: torch.Tensor) -> Meshes:
        """Adds offsets to the vertices in place; returns self.

        Args:
            vert_offsets_packed: (3,) offset for every vertex, or (sum V_i, 3) per-vertex
                offsets. Per-vertex offsets drop given vertex normals (they are recomputed).
        """
        new, per_vertex = offset_packed(
            "offset_verts_", "vert_offsets_packed", self.verts_packed(), vert_offsets_packed,
            self.device,
        )
        self._set_verts_packed(new, keep_normals=not per_vertex)
        return self

    def offset_verts(self, vert_offsets_packed: torch.Tensor) -> Meshes:
        """Out-of-place :meth:`offset_verts_`: a batch with offset vertices (see
        :meth:`_with_verts_packed` for what it shares with this one)."""
        new, per_vertex = offset_packed(
            "offset_verts", "vert_offsets_packed", self.verts_packed(), vert_offsets_packed,
            self.device,
        )
        return self._with_verts_packed(new, keep_normals=not per_vertex)

    def _with_verts_packed(self, verts_packed: torch.Tensor, keep_normals: bool) -> Meshes:
        """A batch with vertices ``verts_packed`` (sum V_i, 3) and textures cloned, sharing
        with this one what depends on the faces and sizes only: the faces, the layouts and the
        topology cache (packed faces, edges), so that a loop deforming one mesh computes them
        once and does no host work for them."""
        new = Meshes.__new__(Meshes)
        new.__dict__.update(self.__dict__)
        new.textures = None if self.textures is None else self.textures.clone()
        new._set_verts_packed(verts_packed, keep_normals)
        return new

    def scale_verts_(self, scale: float | torch.Tensor) -> Meshes:
        """Multiplies each mesh's vertices by a scale in place; returns self.

        Args:
            scale: a float, a 0-d tensor, or an (N,) tensor with one scale per mesh.
        """
        new = scale_packed("scale_verts_", self.verts_packed(), self._vl, scale, self.device)
        self._set_verts_packed(new, keep_normals=True)
        return self

    def scale_verts(self, scale: float | torch.Tensor) -> Meshes:
        """Out-of-place :meth:`scale_verts_`: a batch with scaled vertices (sharing what
        :meth:`offset_verts` shares)."""
        new = scale_packed("scale_verts", self.verts_packed(), self._vl, scale, self.device)
        return self._with_verts_packed(new, keep_normals=True)

    def update_padded(self, new_verts_padded: torch.Tensor) -> Meshes:
        """A new Meshes with the same faces (shared), textures (shared) and sizes, whose
        vertices are ``new_verts_padded`` (N, max V_i, 3); rows past V_i are ignored."""
        op = "update_padded"
        check_float_tensor(op, "new_verts_padded", new_verts_padded, self.device)
        want = (self._N, self._vl.max_size, 3)
        if tuple(new_verts_padded.shape) != want:
            raise InputError(
                f"{op}: new_verts_padded must have shape {want}, got {describe(new_verts_padded)}"
            )
        new = Meshes.__new__(Meshes)
        new.__dict__.update(self.__dict__)  # the topology cache too: computed once for all
        new._verts = RowField(self._vl, padded=new_verts_padded)
        new._geom = {}
        new._given_normals = None
        return new

    # ---- misc --------------------------------------------------------------------------------
    def sample_textures(self, fragments: Any) -> torch.Tensor:
        """The textures looked up at rasterised fragments of this batch (image n shows mesh n).

        Returns:
            (N, H, W, K, C): ``textures.sample_textures(fragments, faces_packed)``.
        """
        if self.textures is None:
            raise InputError("Meshes.sample_textures: the meshes have no textures")
        return self.textures.sample_textures(fragments, faces_packed=self.faces_packed())

    def submeshes(
        self, face_indices: Sequence[Sequence[torch.Tensor]] | Sequence[torch.Tensor] |
        torch.Tensor
    ) -> Meshes:
        """A batch of submeshes, each made of chosen faces of one mesh and the vertices they use.

        Args:
            face_indices: one entry per mesh: a list of 1-d int64 tensors of face indices (one
                per submesh), or a (num_submeshes_i, k) tensor; or an (N, S, k) tensor.
        Returns:
            Meshes with one item per submesh, ordered by mesh then submesh; vertices keep
            their order in the original mesh. Textures follow (``textures.submeshes``), and so
            do given vertex normals.
        """
        if len(face_indices) != self._N:
            raise InputError(
                f"submeshes: face_indices must have one entry per mesh ({self._N}), "
                f"got {len(face_indices)}"
            )
        given = None if self._given_normals is None else self._given_normals.list()
        verts_out, faces_out, normals_out, verts_ids, faces_ids = [], [], [], [], []
        for i, (per_mesh, verts, faces) in enumerate(
            zip(face_indices, self.verts_list(), self.faces_list())
        ):
            verts_ids.append([])
            faces_ids.append([])
            for sel in per_mesh:
                if not isinstance(sel, torch.Tensor) or sel.is_floating_point():
                    raise InputError(
                        f"submeshes: face_indices[{i}] must hold integer tensors, "
                        f"got {describe(sel)}"
                    )
                sel = sel.to(device=faces.device, dtype=torch.int64).reshape(-1)
                used, local = torch.unique(faces[sel], sorted=True, return_inverse=True)
                verts_out.append(verts[used])
                faces_out.append(local.reshape(-1, 3))
                if given is not None:
                    normals_out.append(given[i][used])
                verts_ids[-1].append(used)
                faces_ids[-1].append(sel)
        textures = None
        if self.textures is not None:
            textures = self.textures.submeshes(verts_ids, faces_ids)
        return Meshes(verts=verts_out, faces=faces_out, textures=textures,
                      verts_normals=None if given is None else normals_out)


def join_meshes_as_batch(meshes: Sequence[Meshes], include_textures: bool = True) -> Meshes:
    """Concatenates a list of Meshes into one batch (sum of the lengths).

    Args:
        meshes: list of Meshes on one device.
        include_textures: join the textures too (they must all be None or all set, of one
            type); when False the result has no textures.
    Returns:
        Meshes whose items are the items of every input in order.
    """
    if isinstance(meshes, Meshes) or not isinstance(meshes, (list, tuple)):
        raise InputError(
            f"join_meshes_as_batch: meshes must be a list of Meshes, got {describe(meshes)}"
        )
    for i, m in enumerate(meshes):
        if not isinstance(m, Meshes):
            raise InputError(f"join_meshes_as_batch: meshes[{i}] must be Meshes, got {describe(m)}")
    if len({m.device for m in meshes}) > 1:
        raise InputError(
            "join_meshes_as_batch: meshes must be on one device, got "
            f"{sorted({str(m.device) for m in meshes})}"
        )
    verts = [v for m in meshes for v in m.verts_list()]
    faces = [f for m in meshes for f in m.faces_list()]
    normals = None
    if meshes and all(m._given_normals is not None for m in meshes):
        normals = [n for m in meshes for n in m._given_normals.list()]
    tex = None
    if include_textures and meshes:
        have = [m.textures is not None for m in meshes]
        if any(have) and not all(have):
            raise InputError(
                "join_meshes_as_batch: either all meshes or none must have textures, got "
                f"textures on meshes {[i for i, h in enumerate(have) if h]} only"
            )
        if all(have):
            first = meshes[0].textures
            kinds = {type(m.textures).__name__ for m in meshes}
            if len(kinds) > 1:
                raise InputError(
                    f"join_meshes_as_batch: textures must all be of one type, got {sorted(kinds)}"
                )
            tex = first.join_batch([m.textures for m in meshes[1:]])
    return Meshes(verts=verts, faces=faces, textures=tex, verts_normals=normals)


def join_meshes_as_scene(
    meshes: Meshes | Sequence[Meshes], include_textures: bool = True
) -> Meshes:
    """Merges all meshes into a single mesh (one scene).

    Args:
        meshes: a Meshes batch, or a list of them (joined as a batch first).
        include_textures: merge the textures too (``textures.join_scene()``).
    Returns:
        Meshes of length 1 whose vertices are verts_packed() and faces faces_packed() of the
        batch; the batch itself when it already holds one mesh.
    """
    if not isinstance(meshes, Meshes):
        meshes = join_meshes_as_batch(meshes, include_textures=include_textures)
    if len(meshes) == 1:
        return meshes
    tex = None
    if include_textures and meshes.textures is not None:
        tex = meshes.textures.join_scene()
    normals = None
    if meshes._given_normals is not None:
        normals = [meshes._given_normals.packed()]
    return Meshes(
        verts=[meshes.verts_packed()],
        faces=[meshes.faces_packed()],
        textures=tex,
        verts_normals=normals,
    )
