"""Texture containers for batches of meshes.

Three representations, as in PyTorch3D:

* :class:`TexturesVertex`: a feature vector (usually RGB) per vertex.
* :class:`TexturesUV`: an image per mesh (or several, each face picking one with
  ``maps_ids``) plus UV coordinates indexed per face corner.
* :class:`TexturesAtlas`: an ``R x R`` grid of features per face.

All three hold one tensor (or a few) per mesh and share one base class,
:class:`TexturesBase`, which implements the batch protocol that :class:`r3d.structures.Meshes`
uses: ``len``, indexing with a list of ints, ``clone``, ``detach``, ``to``, ``extend``,
``join_batch``, ``join_scene`` and ``check_shapes``. Tensors are stored as given (no copies), so
gradients flow from anything computed through the accessors back to the tensors passed in.

``sample_textures(fragments, faces_packed)`` looks the textures up at rasterised fragments
(the lookups live in :mod:`r3d.structures.texture_sampling`) and
``faces_verts_textures_packed(faces_packed)`` gives the texture at each face corner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

from r3d.errors import BatchIndexError, InputError, warn
from r3d.structures import texture_sampling
from r3d.structures.texture_sampling import PADDING_MODES, axis_modes, wrap_texel_index
from r3d.structures.utils import as_index_list, is_empty_item, item_index

__all__ = [
    "TexturesBase",
    "TexturesVertex",
    "TexturesUV",
    "TexturesAtlas",
    "pack_texture_maps",
    "pack_maps_for_faces",
    "atlas_barycentric_grid",
]


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype} on {value.device}"
    return type(value).__name__


def _as_tensor_list(
    cls_name: str, arg: str, value, item_dims: int, shape_doc: str,
    empty_tail: tuple[int, ...] | None = None,
) -> tuple[list[torch.Tensor], bool]:
    """Splits ``value`` (a list of tensors or one padded tensor) into per-mesh tensors.

    With ``empty_tail``, a list item may be ``torch.tensor([])`` (PyTorch3D's empty mesh, see
    :func:`r3d.structures.utils.is_empty_item`): it becomes a (0, *tail) tensor like the other
    items (their trailing shape, dtype and device; ``empty_tail`` and float when all are empty).

    Returns the list and whether ``value`` was a padded tensor (whose rows past each mesh's real
    count may be trimmed later by ``check_shapes``).
    """
    if isinstance(value, torch.Tensor):
        if value.dim() != item_dims + 1:
            raise InputError(
                f"{cls_name}: {arg} must be a list of {shape_doc} tensors or one padded tensor "
                f"with a leading batch axis ({item_dims + 1} dims), got {_describe(value)}"
            )
        return list(value.unbind(0)), True
    if not isinstance(value, (list, tuple)):
        raise InputError(
            f"{cls_name}: {arg} must be a list of {shape_doc} tensors or a padded tensor, "
            f"got {_describe(value)}"
        )
    items = list(value)
    empty = [empty_tail is not None and is_empty_item(item) for item in items]
    for i, item in enumerate(items):
        if not empty[i] and (not isinstance(item, torch.Tensor) or item.dim() != item_dims):
            raise InputError(
                f"{cls_name}: {arg}[{i}] must be a {shape_doc} tensor, got {_describe(item)}"
            )
    if any(empty):
        ref = next((t for t, e in zip(items, empty) if not e), None)
        fill = (torch.zeros((0,) + tuple(empty_tail)) if ref is None
                else ref.new_zeros((0,) + tuple(ref.shape[1:])))
        items = [fill if e else t for t, e in zip(items, empty)]
    return items, False


def _check_same(cls_name: str, arg: str, items: list[torch.Tensor], dims: Sequence[int]) -> None:
    """All items share device, dtype and the sizes of the listed dims."""
    if not items:
        return
    ref = items[0]
    for i, item in enumerate(items[1:], start=1):
        if item.device != ref.device:
            raise InputError(
                f"{cls_name}: {arg}[{i}] is on {item.device} but {arg}[0] is on {ref.device}"
            )
        if item.dtype != ref.dtype:
            raise InputError(
                f"{cls_name}: {arg}[{i}] has dtype {item.dtype} but {arg}[0] has {ref.dtype}"
            )
        for d in dims:
            if item.shape[d] != ref.shape[d]:
                raise InputError(
                    f"{cls_name}: {arg}[{i}] has shape {tuple(item.shape)}, incompatible with "
                    f"{arg}[0] of shape {tuple(ref.shape)} (dim {d} must match)"
                )


class TexturesBase:
    """Shared batch logic of the texture classes.

    A subclass stores, for each of its fields, one tensor per mesh in ``self._data[field]``.
    It declares which fields have one row per vertex (``_vertex_fields``) and which have one row
    per face (``_face_fields``; a declared field an object does not hold, such as an optional
    one left out, is skipped); everything else (indexing, cloning, moving, extending, joining,
    shape checks) is done here on those lists.
    """

    _fields: tuple[str, ...] = ()
    _vertex_fields: tuple[str, ...] = ()
    _face_fields: tuple[str, ...] = ()

    # -- construction helpers -------------------------------------------------------------------

    def _set_data(
        self,
        data: dict[str, list[torch.Tensor]],
        padded: dict[str, list[bool]],
        proto: dict[str, torch.Tensor],
    ) -> None:
        """Installs per-mesh lists, per-item 'came from a padded tensor' flags and prototypes.

        ``proto[field]`` is an empty tensor with the field's trailing shape, dtype and device; it
        describes the field when the batch holds no mesh.
        """
        sizes = {len(v) for v in data.values()}
        if len(sizes) > 1:
            counts = ", ".join(f"{k}: {len(v)}" for k, v in data.items())
            raise InputError(
                f"{type(self).__name__}: every argument must describe the same number of "
                f"meshes, got {counts}"
            )
        self._data = data
        self._padded = padded
        self._proto = proto

    def _config(self) -> dict:
        """Constructor options other than the tensors (e.g. sampling settings)."""
        return {}

    def _signature(self) -> tuple:
        """What must agree between two texture objects for them to join into one batch."""
        return (type(self), tuple(sorted(self._config().items())))

    def _new(
        self,
        data: dict[str, list[torch.Tensor]],
        padded: dict[str, list[bool]] | None = None,
        proto: dict[str, torch.Tensor] | None = None,
    ) -> TexturesBase:
        """A new object of this class and configuration holding ``data``."""
        out = object.__new__(type(self))
        for key, value in self._config().items():
            setattr(out, f"_cfg_{key}", value)
        if padded is None:
            padded = {k: [False] * len(v) for k, v in data.items()}
        if proto is None:
            proto = self._proto
        out._set_data(data, padded, proto)
        return out

    def _map_tensors(self, fn) -> TexturesBase:
        data = {k: [fn(t) for t in v] for k, v in self._data.items()}
        proto = {k: fn(v) for k, v in self._proto.items()}
        return self._new(data, {k: list(v) for k, v in self._padded.items()}, proto)

    # -- the batch protocol ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(next(iter(self._data.values())))

    @property
    def device(self) -> torch.device:
        """Device of the stored tensors."""
        return next(iter(self._proto.values())).device

    def __getitem__(self, idx: int | slice | list[int] | torch.Tensor) -> TexturesBase:
        """The textures of meshes ``idx``: an int (a batch of one), a slice, a list of ints
        (negatives count from the end), an (N,) bool tensor or a 1-d integer tensor, as
        :class:`r3d.structures.Meshes` takes them; :class:`r3d.errors.BatchIndexError`
        otherwise."""
        picked = as_index_list(idx, len(self))
        data = {k: [v[i] for i in picked] for k, v in self._data.items()}
        padded = {k: [v[i] for i in picked] for k, v in self._padded.items()}
        return self._new(data, padded)

    def isempty(self) -> bool:
        """True when the batch holds no mesh."""
        return len(self) == 0

    def submeshes(
        self,
        vertex_ids_list: Sequence[Sequence[torch.Tensor]] | None,
        faces_ids_list: Sequence[Sequence[torch.Tensor]] | None,
    ) -> TexturesBase:
        """The textures of submeshes, as :meth:`r3d.structures.Meshes.submeshes` makes them.

        Args:
            vertex_ids_list: one entry per mesh, a list of 1-d int64 tensors: the vertices of
                the mesh that each of its submeshes keeps, in the submesh's order. Only read
                when the class has per-vertex data (TexturesVertex); may be None otherwise.
            faces_ids_list: likewise, the faces each submesh keeps. Only read when the class
                has per-face data (TexturesUV, TexturesAtlas).
        Returns:
            An object of this class with one item per submesh, ordered by mesh then submesh:
            per-vertex and per-face rows are those kept; the rest (maps, UV coordinates) is
            the mesh's own, shared.
        """
        name = f"{type(self).__name__}.submeshes"
        ids_of: dict[str, list[list[torch.Tensor]]] = {}
        for kind, arg, ids, fields in (
            ("vertex", "vertex_ids_list", vertex_ids_list, self._vertex_fields),
            ("face", "faces_ids_list", faces_ids_list, self._face_fields),
        ):
            if not any(f in self._data for f in fields):
                continue
            if not isinstance(ids, (list, tuple)) or len(ids) != len(self):
                raise BatchIndexError(
                    f"{name}: {arg} must be a list with one entry per mesh ({len(self)}), "
                    f"got {_describe(ids)}"
                    + (f" of length {len(ids)}" if isinstance(ids, (list, tuple)) else ""))
            ids_of[kind] = [[torch.as_tensor(t).reshape(-1) for t in per_mesh]
                            for per_mesh in ids]
        counts = {tuple(len(per_mesh) for per_mesh in v) for v in ids_of.values()}
        if len(counts) != 1:
            raise InputError(f"{name}: vertex_ids_list and faces_ids_list must list as many "
                             "submeshes for each mesh")
        data: dict[str, list[torch.Tensor]] = {k: [] for k in self._data}
        for i, count in enumerate(counts.pop()):
            for j in range(count):
                for field, items in self._data.items():
                    kind = ("vertex" if field in self._vertex_fields else
                            "face" if field in self._face_fields else None)
                    data[field].append(items[i] if kind is None else items[i][ids_of[kind][i][j]])
        return self._new(data)

    def clone(self) -> TexturesBase:
        """A deep copy; gradients flow back to the original tensors."""
        return self._map_tensors(lambda t: t.clone())

    def detach(self) -> TexturesBase:
        """A copy whose tensors are detached from the autograd graph (storage is shared)."""
        return self._map_tensors(lambda t: t.detach())

    def to(self, device: str | torch.device) -> TexturesBase:
        """The same textures on ``device`` (``self`` if they are there already)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return self._map_tensors(lambda t: t.to(device))

    def cpu(self) -> TexturesBase:
        """The same textures on the CPU."""
        return self.to("cpu")

    def extend(self, N: int) -> TexturesBase:
        """Each mesh's textures repeated ``N`` times consecutively: m0 x N, m1 x N, ...

        The repeats share the original tensors (no copy), so gradients from every repeat
        accumulate on them.
        """
        if not isinstance(N, int) or isinstance(N, bool) or N < 1:
            raise InputError(f"{type(self).__name__}.extend: N must be an int >= 1, got {N!r}")
        data = {k: [t for t in v for _ in range(N)] for k, v in self._data.items()}
        padded = {k: [p for p in v for _ in range(N)] for k, v in self._padded.items()}
        return self._new(data, padded)

    def join_batch(self, others: list[TexturesBase]) -> TexturesBase:
        """One object with this batch's meshes followed by those of each object in ``others``.

        Every object must be of the same class, configuration and number of channels.
        """
        if isinstance(others, TexturesBase):
            others = [others]
        mine = self._signature()
        for i, other in enumerate(others):
            if not isinstance(other, TexturesBase) or other._signature() != mine:
                got = other._signature() if isinstance(other, TexturesBase) else type(other)
                raise InputError(
                    f"{type(self).__name__}.join_batch: others[{i}] is incompatible: expected "
                    f"{mine}, got {got}"
                )
            if other.device != self.device:
                raise InputError(
                    f"{type(self).__name__}.join_batch: others[{i}] is on {other.device}, "
                    f"expected {self.device}"
                )
        data = {k: list(v) for k, v in self._data.items()}
        padded = {k: list(v) for k, v in self._padded.items()}
        for other in others:
            for k in data:
                data[k].extend(other._data[k])
                padded[k].extend(other._padded[k])
        return self._new(data, padded)

    def join_scene(self) -> TexturesBase:
        """A one-mesh object whose rows are every mesh's rows, concatenated in batch order."""
        data = {k: [self._cat(k)] for k in self._data}
        return self._new(data)

    def check_shapes(
        self, num_verts_per_mesh: Sequence[int], num_faces_per_mesh: Sequence[int]
    ) -> None:
        """Checks the textures against a batch's mesh sizes; raises InputError on a mismatch.

        Args:
            num_verts_per_mesh: N ints, V_i.
            num_faces_per_mesh: N ints, F_i.

        A per-mesh tensor that was given inside one padded tensor may have more rows than its
        mesh: those padding rows are dropped here, so the ``*_list`` accessors return the real
        rows from then on.
        """
        name = type(self).__name__
        nv = [int(x) for x in num_verts_per_mesh]
        nf = [int(x) for x in num_faces_per_mesh]
        if len(nv) != len(self) or len(nf) != len(self):
            raise InputError(
                f"{name}: the textures describe {len(self)} meshes but the batch has "
                f"{len(nv)} meshes ({len(nf)} face counts)"
            )
        for fields, counts, what in (
            (self._vertex_fields, nv, "vertices"),
            (self._face_fields, nf, "faces"),
        ):
            for field in (f for f in fields if f in self._data):
                items = self._data[field]
                for i, (t, want) in enumerate(zip(items, counts)):
                    have = t.shape[0]
                    if have == want:
                        continue
                    if have > want and self._padded[field][i]:
                        items[i] = t[:want]
                        continue
                    raise InputError(
                        f"{name}: {field} of mesh {i} has {have} rows but the mesh has {want} "
                        f"{what}"
                    )
        # the sizes are known from now on: padding rows were dropped, later checks are strict
        self._padded = {k: [False] * len(v) for k, v in self._data.items()}
        self._check_contents()

    def _check_contents(self) -> None:
        """Subclass hook: validates values (e.g. index ranges) after the row counts match."""

    # -- sampling -------------------------------------------------------------------------------

    def sample_textures(self, fragments, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """The texture at each fragment.

        Args:
            fragments: :class:`r3d.renderer.Fragments` of N images (image n shows mesh n);
                pix_to_face (N, H, W, K) indexes the batch's packed faces.
            faces_packed: (F, 3) packed faces of the meshes (needed by TexturesVertex).
        Returns:
            (N, H, W, K, C) texels, zero in empty slots.
        """
        raise NotImplementedError

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """(F, 3, C): the texture at each packed face's corners (faces_packed as in
        :meth:`sample_textures`)."""
        raise NotImplementedError

    def _check_fragments(self, fragments) -> None:
        n = fragments.pix_to_face.shape[0]
        if n != len(self):
            raise InputError(
                f"{type(self).__name__}.sample_textures: fragments hold {n} images but the "
                f"textures describe {len(self)} meshes"
            )

    # -- helpers for the accessors -----------------------------------------------------------

    def _list(self, field: str) -> list[torch.Tensor]:
        return list(self._data[field])

    def _cat(self, field: str) -> torch.Tensor:
        items = self._data[field]
        if not items:
            return self._proto[field]
        return torch.cat(items, dim=0)

    def _pad(self, field: str, pad_value: float = 0.0) -> torch.Tensor:
        """(N, max rows, ...) tensor of the field, ``pad_value`` past each mesh's rows."""
        items = self._data[field]
        proto = self._proto[field]
        if not items:
            return proto.new_zeros((0,) + tuple(proto.shape))
        rows = max(t.shape[0] for t in items)
        out = proto.new_full((len(items), rows) + tuple(proto.shape[1:]), pad_value)
        for i, t in enumerate(items):
            out[i, : t.shape[0]] = t
        return out

    def __repr__(self) -> str:
        parts = []
        for k, v in self._data.items():
            shapes = ", ".join(str(tuple(t.shape)) for t in v[:3]) + (", ..." if len(v) > 3 else "")
            parts.append(f"{k}=[{shapes}]")
        return f"{type(self).__name__}(N={len(self)}, {', '.join(parts)})"


def _proto_of(value, items: list[torch.Tensor], default_tail: tuple) -> torch.Tensor:
    """An empty (0, ...) tensor with the items' trailing shape, dtype and device.

    ``value`` is what the user passed (a list or a padded tensor); with no item to copy from,
    a padded tensor still gives the trailing shape, otherwise ``default_tail`` is used.
    """
    if items:
        ref = items[0]
        return ref.new_zeros((0,) + tuple(ref.shape[1:]))
    if isinstance(value, torch.Tensor):
        return value.new_zeros((0,) + tuple(value.shape[2:]))
    return torch.zeros((0,) + default_tail)


class TexturesVertex(TexturesBase):
    """A feature vector per vertex (e.g. RGB colours in [0, 1]).

    Args:
        verts_features: list of N tensors of shape (V_i, C), or a padded (N, V, C) tensor
            (rows past V_i are trimmed once a Meshes calls ``check_shapes``). All items share C,
            dtype and device. Stored without copying; gradients flow to them. An empty mesh's
            item may be ``torch.tensor([])`` (so may its ``atlas``, ``faces_uvs`` and
            ``verts_uvs`` item in the other classes): it is stored as (0, C).
    """

    _fields = ("verts_features",)
    _vertex_fields = ("verts_features",)

    def __init__(self, verts_features) -> None:
        name = type(self).__name__
        items, was_padded = _as_tensor_list(name, "verts_features", verts_features, 2, "(V_i, C)",
                                             empty_tail=(3,))
        _check_same(name, "verts_features", items, [1])
        for i, t in enumerate(items):
            if not t.is_floating_point():
                raise InputError(
                    f"{name}: verts_features[{i}] must be floating point, got {t.dtype}"
                )
        proto = _proto_of(verts_features, items, (3,))
        self._set_data(
            {"verts_features": items},
            {"verts_features": [was_padded] * len(items)},
            {"verts_features": proto},
        )

    def _signature(self) -> tuple:
        p = self._proto["verts_features"]
        return super()._signature() + (p.shape[1:], p.dtype)

    def verts_features_list(self) -> list[torch.Tensor]:
        """List of N (V_i, C) tensors."""
        return self._list("verts_features")

    def verts_features_packed(self) -> torch.Tensor:
        """(sum V_i, C) tensor: every mesh's rows in batch order."""
        return self._cat("verts_features")

    def verts_features_padded(self) -> torch.Tensor:
        """(N, max V_i, C) tensor, zero past each mesh's vertices."""
        return self._pad("verts_features")

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """(F, 3, C) features of each face's corners; faces_packed (F, 3) is required."""
        if not isinstance(faces_packed, torch.Tensor):
            raise InputError(
                f"{type(self).__name__}: faces_packed (F, 3) is required to look up vertex "
                f"features, got {_describe(faces_packed)}"
            )
        return self.verts_features_packed()[faces_packed]

    def sample_textures(self, fragments, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """Vertex features interpolated with the fragments' barycentrics: (N, H, W, K, C)."""
        self._check_fragments(fragments)
        return texture_sampling.sample_vertex_features(
            fragments, self.faces_verts_textures_packed(faces_packed)
        )


class TexturesAtlas(TexturesBase):
    """An R x R grid of features per face.

    Args:
        atlas: list of N tensors of shape (F_i, R, R, C), or a padded (N, F, R, R, C) tensor.

    Texel ``atlas[f, row, col]`` stores the feature at barycentric coordinates (w0, w1, w2) of
    face f given by :func:`atlas_barycentric_grid` (w0 grows with ``col``, w1 with ``row``;
    texels with ``row + col >= R`` cover the upper triangle mirrored), PyTorch3D's layout.
    """

    _fields = ("atlas",)
    _face_fields = ("atlas",)

    def __init__(self, atlas) -> None:
        name = type(self).__name__
        items, was_padded = _as_tensor_list(name, "atlas", atlas, 4, "(F_i, R, R, C)",
                                             empty_tail=(1, 1, 3))
        _check_same(name, "atlas", items, [1, 2, 3])
        for i, t in enumerate(items):
            if t.shape[1] != t.shape[2]:
                raise InputError(
                    f"{name}: atlas[{i}] must have shape (F_i, R, R, C), got {tuple(t.shape)}"
                )
            if not t.is_floating_point():
                raise InputError(f"{name}: atlas[{i}] must be floating point, got {t.dtype}")
        proto = _proto_of(atlas, items, (1, 1, 3))
        self._set_data({"atlas": items}, {"atlas": [was_padded] * len(items)}, {"atlas": proto})

    def _signature(self) -> tuple:
        p = self._proto["atlas"]
        return super()._signature() + (p.shape[1:], p.dtype)

    def atlas_list(self) -> list[torch.Tensor]:
        """List of N (F_i, R, R, C) tensors."""
        return self._list("atlas")

    def atlas_packed(self) -> torch.Tensor:
        """(sum F_i, R, R, C) tensor."""
        return self._cat("atlas")

    def atlas_padded(self) -> torch.Tensor:
        """(N, max F_i, R, R, C) tensor, zero past each mesh's faces."""
        return self._pad("atlas")

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """(F, 3, C): each face's texels at its corners (faces_packed is not needed)."""
        atlas = self.atlas_packed()
        corners = torch.eye(3, dtype=atlas.dtype, device=atlas.device)
        row, col = texture_sampling.atlas_texel_index(corners, atlas.shape[1])
        return atlas[:, row, col]

    def sample_textures(self, fragments, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """The texel of each fragment's face holding its barycentrics (nearest lookup):
        (N, H, W, K, C). faces_packed is not needed."""
        self._check_fragments(fragments)
        return texture_sampling.sample_atlas(fragments, self.atlas_packed())


_SAMPLING_MODES = ("bilinear", "nearest")


def _index_tensors(
    cls_name: str, arg: str, items: list[torch.Tensor], shape_doc: str, cols: int | None = None
) -> list[torch.Tensor]:
    """Checks that ``items`` are index tensors (with ``cols`` columns); returns them as int64.

    Float tensors holding whole numbers are cast (PyTorch3D stores them as given, then fails
    when it indexes with them); any other value raises InputError.
    """
    out = []
    for i, t in enumerate(items):
        if t.is_complex() or t.dtype == torch.bool or (cols is not None and t.shape[1] != cols):
            raise InputError(
                f"{cls_name}: {arg}[{i}] must be an integer {shape_doc} tensor, got {_describe(t)}"
            )
        if t.is_floating_point() and bool((t != t.trunc()).any()):
            raise InputError(
                f"{cls_name}: {arg}[{i}] holds values that are not whole numbers, so they are "
                "not indices"
            )
        out.append(t if t.dtype == torch.int64 else t.long())
    return out


def _padding_mode(cls_name: str, value) -> str | tuple[str, str]:
    """A checked padding mode: one of PADDING_MODES, or a (u mode, v mode) pair of them (a
    pair of equal modes becomes that mode, so that equal settings join)."""
    pair = tuple(value) if isinstance(value, (list, tuple)) else None
    if pair is not None and len(pair) == 2 and all(m in PADDING_MODES for m in pair):
        return pair[0] if pair[0] == pair[1] else pair
    if isinstance(value, str) and value in PADDING_MODES:
        return value
    raise InputError(
        f"{cls_name}: padding_mode must be one of {PADDING_MODES} or a (u mode, v mode) pair "
        f"of them, got {value!r}"
    )


def _resize_maps(maps: torch.Tensor, h: int, w: int, align_corners: bool) -> torch.Tensor:
    """(..., H, W, C) images resized bilinearly to (..., h, w, C) (returned as is if equal)."""
    if maps.shape[-3] == h and maps.shape[-2] == w:
        return maps
    lead, c = tuple(maps.shape[:-3]), maps.shape[-1]
    images = maps.reshape((-1,) + tuple(maps.shape[-3:])).permute(0, 3, 1, 2)
    images = F.interpolate(images, size=(h, w), mode="bilinear", align_corners=align_corners)
    return images.permute(0, 2, 3, 1).reshape(lead + (h, w, c))


class TexturesUV(TexturesBase):
    """Images per mesh, mapped by UV coordinates indexed per face corner.

    One map per mesh (``maps_ids=None``) or several, each face picking its own with
    ``maps_ids`` (e.g. one map per material).

    Args:
        maps: without ``maps_ids``: (N, H, W, C) float tensor, or a list of N (H_i, W_i, C)
            tensors (sizes may differ). With ``maps_ids``: (N, M, H, W, C), or a list of N
            (M_i, H_i, W_i, C) tensors (M_i >= 1 maps of one size per mesh). Row 0 is the top
            of an image.
        faces_uvs: list of N (F_i, 3) integer tensors, or padded (N, F, 3): for each face
            corner, the row of ``verts_uvs`` holding its UV. Float tensors holding whole
            numbers are cast to int64 (so are ``maps_ids``).
        verts_uvs: list of N (T_i, 2) float tensors, or padded (N, T, 2): (u, v) with u to the
            right and v up, (0, 0) the bottom-left corner of the image.
        padding_mode: how samples outside [0, 1] behave: "zeros", "border" (clamp) or
            "reflection" (mirrored repeat; torch.grid_sample's), or "repeat" (the map tiles
            the plane); one mode for both axes, or a (u mode, v mode) pair (glTF's wrapS and
            wrapT: REPEAT is "repeat", MIRRORED_REPEAT "reflection", CLAMP_TO_EDGE "border").
        align_corners: True: u = 0 and u = 1 are the centres of the first and last texels;
            False: they are the outer edges of those texels (torch.grid_sample's meaning).
        sampling_mode: "bilinear" or "nearest".
        maps_ids: None, or a list of N (F_i,) integer tensors, or padded (N, F): the map
            (in [0, M_i)) each face of mesh i samples. Rows of a padded tensor past a
            mesh's faces are dropped (when ``faces_uvs`` is a list, or by ``check_shapes``).
    """

    _fields = ("maps", "faces_uvs", "verts_uvs", "maps_ids")
    _face_fields = ("faces_uvs", "maps_ids")

    def __init__(
        self,
        maps,
        faces_uvs,
        verts_uvs,
        padding_mode: str | tuple[str, str] = "border",
        align_corners: bool = True,
        sampling_mode: str = "bilinear",
        maps_ids=None,
    ) -> None:
        name = type(self).__name__
        if sampling_mode not in _SAMPLING_MODES:
            raise InputError(
                f"{name}: sampling_mode must be one of {_SAMPLING_MODES}, got {sampling_mode!r}"
            )
        self._cfg_padding_mode = _padding_mode(name, padding_mode)
        self._cfg_align_corners = bool(align_corners)
        self._cfg_sampling_mode = sampling_mode

        multi = maps_ids is not None
        if not multi and isinstance(maps, torch.Tensor) and maps.dim() == 5:
            raise InputError(
                f"{name}: maps of shape {tuple(maps.shape)} hold several maps per mesh "
                "(N, M, H, W, C): pass maps_ids, the (N, F) map index of each face"
            )
        map_dims = 4 if multi else 3
        map_items, _ = _as_tensor_list(
            name, "maps", maps, map_dims, "(M_i, H_i, W_i, C)" if multi else "(H_i, W_i, C)"
        )
        fuv, fuv_padded = _as_tensor_list(name, "faces_uvs", faces_uvs, 2, "(F_i, 3)",
                                          empty_tail=(3,))
        vuv, _ = _as_tensor_list(name, "verts_uvs", verts_uvs, 2, "(T_i, 2)", empty_tail=(2,))
        _check_same(name, "maps", map_items, [map_dims - 1])
        _check_same(name, "verts_uvs", vuv, [1])
        for i, m in enumerate(map_items):
            if not m.is_floating_point():
                raise InputError(f"{name}: maps[{i}] must be floating point, got {m.dtype}")
            if multi and m.shape[0] == 0:
                raise InputError(f"{name}: maps[{i}] must hold at least one map, got none")
        fuv = _index_tensors(name, "faces_uvs", fuv, "(F_i, 3)", cols=3)
        for i, t in enumerate(vuv):
            if t.shape[1] != 2 or not t.is_floating_point():
                raise InputError(
                    f"{name}: verts_uvs[{i}] must be a float (T_i, 2) tensor, got {_describe(t)}"
                )
        data = {"maps": map_items, "faces_uvs": fuv, "verts_uvs": vuv}
        padded = {
            "maps": [False] * len(map_items),
            "faces_uvs": [fuv_padded] * len(fuv),
            "verts_uvs": [False] * len(vuv),
        }
        if multi:
            ids, ids_padded = _as_tensor_list(name, "maps_ids", maps_ids, 1, "(F_i,)")
            ids = _index_tensors(name, "maps_ids", ids, "(F_i,)")
            # faces_uvs gives each mesh's face count (a different mesh count fails below)
            if ids_padded and not fuv_padded and len(ids) == len(fuv):
                ids = [t[: f.shape[0]] for t, f in zip(ids, fuv)]
                ids_padded = False
            data["maps_ids"] = ids
            padded["maps_ids"] = [ids_padded] * len(ids)
        devices = {t.device for items in data.values() for t in items}
        if len(devices) > 1:
            raise InputError(f"{name}: {', '.join(data)} must share one device, "
                             f"got {sorted(str(d) for d in devices)}")
        ref = map_items[0] if map_items else (maps if isinstance(maps, torch.Tensor) else None)
        map_proto = (
            torch.zeros((0,) * (map_dims - 1) + (3,)) if ref is None
            else ref.new_zeros((0,) * (map_dims - 1) + (ref.shape[-1],))
        )
        device = map_proto.device
        index_proto = torch.zeros((0, 3), dtype=torch.int64, device=device)
        proto = {
            "maps": map_proto,
            "faces_uvs": index_proto,
            "verts_uvs": vuv[0].new_zeros((0, 2)) if vuv else map_proto.new_zeros((0, 2)),
        }
        if multi:
            proto["maps_ids"] = index_proto[:, 0]
        self._set_data(data, padded, proto)
        self._check_contents()

    def _config(self) -> dict:
        return {
            "padding_mode": self._cfg_padding_mode,
            "align_corners": self._cfg_align_corners,
            "sampling_mode": self._cfg_sampling_mode,
        }

    @property
    def padding_mode(self) -> str | tuple[str, str]:
        """How samples outside [0, 1] behave ("zeros", "border", "reflection" or "repeat"), or
        a (u mode, v mode) pair when the axes differ."""
        return self._cfg_padding_mode

    @property
    def align_corners(self) -> bool:
        """Whether UV 0 and 1 are texel centres (True) or texel edges (False)."""
        return self._cfg_align_corners

    @property
    def sampling_mode(self) -> str:
        """"bilinear" or "nearest"."""
        return self._cfg_sampling_mode

    @property
    def has_maps_ids(self) -> bool:
        """Whether each mesh holds several maps, picked per face by ``maps_ids``."""
        return "maps_ids" in self._data

    def _signature(self) -> tuple:
        m = self._proto["maps"]
        return super()._signature() + (
            m.shape[-1], m.dtype, self._proto["verts_uvs"].dtype, self.has_maps_ids
        )

    def _check_contents(self) -> None:
        """UV indices within verts_uvs; map indices within the maps, one per face."""
        name = type(self).__name__
        fuv, padded = self._data["faces_uvs"], self._padded
        for i, (f, v) in enumerate(zip(fuv, self._data["verts_uvs"])):
            if padded["faces_uvs"][i] or f.numel() == 0:
                continue
            lo, hi = int(f.min()), int(f.max())
            if lo < 0 or hi >= v.shape[0]:
                raise InputError(
                    f"{name}: faces_uvs of mesh {i} holds indices in [{lo}, {hi}] but verts_uvs "
                    f"of that mesh has {v.shape[0]} rows"
                )
        if not self.has_maps_ids:
            return
        for i, (ids, f, m) in enumerate(zip(self._data["maps_ids"], fuv, self._data["maps"])):
            if padded["maps_ids"][i]:
                continue
            if not padded["faces_uvs"][i] and ids.shape[0] != f.shape[0]:
                raise InputError(
                    f"{name}: maps_ids of mesh {i} must have one row per face, like faces_uvs "
                    f"({f.shape[0]} rows), got shape {tuple(ids.shape)}"
                )
            if ids.numel() == 0:
                continue
            lo, hi = int(ids.min()), int(ids.max())
            if lo < 0 or hi >= m.shape[0]:
                raise InputError(
                    f"{name}: maps_ids of mesh {i} holds indices in [{lo}, {hi}] but maps[{i}] "
                    f"holds {m.shape[0]} maps"
                )

    def check_shapes(
        self, num_verts_per_mesh: Sequence[int], num_faces_per_mesh: Sequence[int]
    ) -> None:
        """Checks faces_uvs (and maps_ids) rows against the faces and indices against
        verts_uvs (and the maps).

        Args:
            num_verts_per_mesh: N ints, V_i (UV textures do not depend on them).
            num_faces_per_mesh: N ints, F_i; faces_uvs (and maps_ids) of mesh i must have F_i
                rows.
        """
        super().check_shapes(num_verts_per_mesh, num_faces_per_mesh)

    # -- accessors ------------------------------------------------------------------------

    def maps_list(self) -> list[torch.Tensor]:
        """List of N images as given: (H_i, W_i, C), or (M_i, H_i, W_i, C) with maps_ids."""
        return self._list("maps")

    def maps_padded(self) -> torch.Tensor:
        """(N, H, W, C) tensor, or (N, M, H, W, C) with maps_ids (zero maps past each mesh's
        M_i); maps of other sizes are resized (bilinearly) to the largest H and W."""
        items = self._data["maps"]
        if not items:
            return self._proto["maps"].new_zeros((0,) + tuple(self._proto["maps"].shape))
        h = max(m.shape[-3] for m in items)
        w = max(m.shape[-2] for m in items)
        resized = [_resize_maps(m, h, w, self._cfg_align_corners) for m in items]
        if self.has_maps_ids:
            return pad_sequence(resized, batch_first=True)
        return torch.stack(resized)

    def maps_ids_list(self) -> list[torch.Tensor] | None:
        """List of N (F_i,) int64 map indices, or None without maps_ids."""
        return self._list("maps_ids") if self.has_maps_ids else None

    def maps_ids_padded(self) -> torch.Tensor | None:
        """(N, max F_i) int64 tensor, 0 past each mesh's faces, or None without maps_ids."""
        return self._pad("maps_ids", 0) if self.has_maps_ids else None

    def maps_ids_packed(self) -> torch.Tensor | None:
        """(sum F_i,) int64 map index of each packed face, or None without maps_ids."""
        return self._cat("maps_ids") if self.has_maps_ids else None

    def faces_uvs_list(self) -> list[torch.Tensor]:
        """List of N (F_i, 3) int64 tensors."""
        return self._list("faces_uvs")

    def faces_uvs_padded(self) -> torch.Tensor:
        """(N, max F_i, 3) int64 tensor, 0 past each mesh's faces."""
        return self._pad("faces_uvs", 0)

    def verts_uvs_list(self) -> list[torch.Tensor]:
        """List of N (T_i, 2) float tensors."""
        return self._list("verts_uvs")

    def verts_uvs_padded(self) -> torch.Tensor:
        """(N, max T_i, 2) tensor, 0 past each mesh's UVs."""
        return self._pad("verts_uvs")

    def faces_verts_uvs_packed(self) -> torch.Tensor:
        """(F, 3, 2) UVs of each packed face's corners."""
        vuv = self._data["verts_uvs"]
        if not vuv:
            return self._proto["verts_uvs"].new_zeros((0, 3, 2))
        return torch.cat([v[f] for v, f in zip(vuv, self._data["faces_uvs"])], dim=0)

    def faces_verts_textures_packed(self, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """(F, 3, C): each face's map sampled at its corners' UVs (faces_packed is not
        needed)."""
        fuv = self._data["faces_uvs"]
        corners = [v[f] for v, f in zip(self._data["verts_uvs"], fuv)]
        channels = self._proto["maps"].shape[-1]
        if sum(f.shape[0] for f in fuv) == 0:
            return self._proto["maps"].new_zeros((0, 3, channels))
        ids = self.maps_ids_padded()
        texels = texture_sampling.sample_maps(
            self.maps_padded(), pad_sequence(corners, batch_first=True),
            self._cfg_padding_mode, self._cfg_align_corners, self._cfg_sampling_mode,
            None if ids is None else ids[..., None].expand(-1, -1, 3),
        )
        return torch.cat([t[: f.shape[0]] for t, f in zip(texels, fuv)], dim=0)

    def sample_textures(self, fragments, faces_packed: torch.Tensor | None = None) -> torch.Tensor:
        """UVs interpolated with the fragments' barycentrics, then image n's map (with
        maps_ids: the map of the fragment's face) sampled (v up: v = 0 is the map's bottom
        row): (N, H, W, K, C). faces_packed is not needed."""
        self._check_fragments(fragments)
        return texture_sampling.sample_uv(
            fragments, self.maps_padded(), self.faces_verts_uvs_packed(),
            self._cfg_padding_mode, self._cfg_align_corners, self._cfg_sampling_mode,
            self.maps_ids_packed(),
        )

    def centers_for_image(self, index: int) -> torch.Tensor:
        """Where mesh ``index``'s UV coordinates land in its texture image, for plotting.

        Args:
            index: the mesh (PyTorch3D takes batches of one mesh only; any mesh works here, and
                with ``maps_ids`` its maps share one size).
        Returns:
            (T_i, 2) float tensor on the CPU, without gradients: the (column, row) pixel
            coordinates of each row of ``verts_uvs_list()[index]``, row 0 at the top (u = 0 is
            column 0 and v = 0 the last row with align_corners). UVs outside the image follow
            the padding mode, as a texel lookup there would.
        """
        i = item_index("TexturesUV.centers_for_image", index, len(self))
        image = self._data["maps"][i]
        h, w = image.shape[-3], image.shape[-2]
        uvs = self._data["verts_uvs"][i]
        cols = torch.arange(w, dtype=uvs.dtype, device=uvs.device).expand(h, w)
        rows = torch.arange(h, dtype=uvs.dtype, device=uvs.device)[:, None].expand(h, w)
        with torch.no_grad():
            centers = texture_sampling.sample_maps(
                torch.stack([cols, rows], dim=-1)[None], uvs[None, :, None],
                self._cfg_padding_mode, self._cfg_align_corners, self._cfg_sampling_mode,
            )
        return centers[0, :, 0].cpu()

    def join_batch(self, others: list[TexturesBase]) -> TexturesBase:
        """As :meth:`TexturesBase.join_batch`; UV textures whose padding modes differ join
        too: each is first turned into padding_mode "border" by :meth:`resolve_wrap`."""
        items = [others] if isinstance(others, TexturesBase) else list(others)
        modes = {t._cfg_padding_mode for t in items if isinstance(t, TexturesUV)}
        if modes - {self._cfg_padding_mode}:
            return TexturesBase.join_batch(
                self.resolve_wrap(),
                [t.resolve_wrap() if isinstance(t, TexturesUV) else t for t in items],
            )
        return super().join_batch(items)

    def resolve_wrap(self) -> TexturesUV:
        """The same colours with padding_mode "border" (self when it has it already).

        With align_corners and every UV in [0, 1], every mode samples the same, so only the
        setting changes; otherwise each mesh's used maps are packed by
        :func:`pack_maps_for_faces` (one map per mesh, no maps_ids).
        """
        if self._cfg_padding_mode == "border":
            return self
        uvs = self._data["verts_uvs"]
        if self._cfg_align_corners and all(bool(((v >= 0) & (v <= 1)).all()) for v in uvs):
            out = self._new(self._data, self._padded)
            out._cfg_padding_mode = "border"
            return out
        maps, faces_uvs, verts_uvs = [], [], []
        for i in range(len(self)):
            one = self[[i]]
            images, slots = one._used_maps()
            packed = pack_maps_for_faces(
                images, [axis_modes(self._cfg_padding_mode)] * len(images), slots[0],
                one._data["faces_uvs"][0], uvs[i], self._cfg_align_corners,
            )
            for out, item in zip((maps, faces_uvs, verts_uvs), packed):
                out.append(item)
        return TexturesUV(maps, faces_uvs, verts_uvs, padding_mode="border",
                          align_corners=self._cfg_align_corners,
                          sampling_mode=self._cfg_sampling_mode)

    def join_scene(self) -> TexturesUV:
        """One mesh whose single map packs the maps of every mesh.

        Returns:
            TexturesUV of batch 1 without maps_ids. When the faces use a single map, that map
            with the UVs unchanged and the same settings. Otherwise a map from
            :func:`pack_maps_for_faces`: every used map, wrapped as ``padding_mode`` says as
            far as its faces' UVs reach, packed into one image; faces_uvs (sum F_i, 3) and
            verts_uvs (T', 2) remapped into it, and padding_mode "border".

        Sampling the result on the joined faces gives the colours each face had in its own
        map (see :func:`pack_maps_for_faces` for the exceptions). Only maps some face uses are
        packed, and a map shared by several meshes (the same tensor, e.g. after ``extend``)
        is packed once. Gradients flow to the packed maps and to the UVs.
        """
        if len(self) == 0:
            raise InputError("TexturesUV.join_scene: the batch holds no mesh")
        fuv, vuv = self._data["faces_uvs"], self._data["verts_uvs"]
        images, face_slots = self._used_maps()
        offsets = torch.tensor([0] + [v.shape[0] for v in vuv[:-1]],
                               device=fuv[0].device).cumsum(0)
        faces_uvs = torch.cat([f + o for f, o in zip(fuv, offsets)])
        verts_uvs = torch.cat(vuv)
        settings = {"align_corners": self._cfg_align_corners,
                    "sampling_mode": self._cfg_sampling_mode}
        if len(images) == 1:
            rows, inverse = torch.unique(faces_uvs.reshape(-1), return_inverse=True)
            return TexturesUV([images[0]], [inverse.reshape(-1, 3)], [verts_uvs[rows]],
                              padding_mode=self._cfg_padding_mode, **settings)
        atlas, faces_uvs, verts_uvs = pack_maps_for_faces(
            images, [axis_modes(self._cfg_padding_mode)] * len(images), torch.cat(face_slots),
            faces_uvs, verts_uvs, self._cfg_align_corners,
        )
        return TexturesUV([atlas], [faces_uvs], [verts_uvs], padding_mode="border", **settings)

    def _used_maps(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The maps some face uses, each once (keyed by tensor and index), and each mesh's
        (F_i,) int64 index of its faces' maps in that list (at least one map is returned)."""
        maps, multi = self._data["maps"], self.has_maps_ids
        face_maps = self.maps_ids_list() or [f.new_zeros(f.shape[0])
                                             for f in self._data["faces_uvs"]]
        images: list[torch.Tensor] = []
        slot_of: dict[tuple[int, int], int] = {}
        face_slots = []
        for stack, ids in zip(maps, face_maps):
            table = torch.full((stack.shape[0] if multi else 1,), -1, dtype=torch.int64)
            for m in torch.unique(ids).tolist():
                key = (id(stack), m)
                if key not in slot_of:
                    slot_of[key] = len(images)
                    images.append(stack[m] if multi else stack)
                table[m] = slot_of[key]
            face_slots.append(table.to(ids.device)[ids])
        if not images:  # no face at all: any map will do
            images.append(maps[0][0] if multi else maps[0])
        return images, face_slots


def atlas_barycentric_grid(R: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Barycentric coordinates of the texel centres of an R x R face atlas.

    Args:
        R: atlas resolution.
    Returns:
        (R, R, 3) tensor; entry [row, col] = (w0, w1, w2). For ``row + col < R``:
        w0 = (col + 1/3) / R, w1 = (row + 1/3) / R; otherwise the texel mirrors into the upper
        triangle: w0 = (R - col - 1/3) / R, w1 = (R - row - 1/3) / R. w2 = 1 - w0 - w1.
    """
    if not isinstance(R, int) or R < 1:
        raise InputError(f"atlas_barycentric_grid: R must be an int >= 1, got {R!r}")
    idx = torch.arange(R, device=device, dtype=dtype)
    row = idx[:, None].expand(R, R)
    col = idx[None, :].expand(R, R)
    lower = (row + col) < R
    w0 = torch.where(lower, col + 1.0 / 3.0, R - col - 1.0 / 3.0) / R
    w1 = torch.where(lower, row + 1.0 / 3.0, R - row - 1.0 / 3.0) / R
    return torch.stack([w0, w1, 1.0 - w0 - w1], dim=-1)


def pack_texture_maps(
    maps: Sequence[torch.Tensor], align_corners: bool = True, gutter: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Packs images into one image (shelf packing), each surrounded by a replicated border.

    Args:
        maps: K float tensors of shape (H_k, W_k, C), same C, dtype and device.
        align_corners: the UV convention the returned transforms are for (see TexturesUV).
        gutter: pixels of edge replication around each image, so that bilinear samples near
            an image's border never read its neighbour.
    Returns:
        atlas: (H, W, C) tensor (differentiable w.r.t. every map; zero where nothing is packed).
        transforms: (K, 4) float64 tensor of (su, ou, sv, ov): a UV (u, v) of map k becomes
            (u * su + ou, v * sv + ov) in the atlas (see :func:`remap_uvs`).
    """
    if len(maps) == 0:
        raise InputError("pack_texture_maps: maps is empty")
    _check_same("pack_texture_maps", "maps", list(maps), [2])
    sizes = [(int(m.shape[0]) + 2 * gutter, int(m.shape[1]) + 2 * gutter) for m in maps]
    order = sorted(range(len(maps)), key=lambda k: (-sizes[k][0], -sizes[k][1], k))
    target = max(max(w for _, w in sizes), math.ceil(math.sqrt(sum(h * w for h, w in sizes))))
    pos: list[tuple[int, int]] = [(0, 0)] * len(maps)
    x = y = shelf = width = 0
    for k in order:
        h, w = sizes[k]
        if x > 0 and x + w > target:
            y += shelf
            x = shelf = 0
        pos[k] = (y, x)
        x += w
        shelf = max(shelf, h)
        width = max(width, x)
    height = y + shelf
    ref = maps[0]
    atlas = ref.new_zeros((height, width, ref.shape[2]))
    transforms = torch.zeros((len(maps), 4), dtype=torch.float64)
    for k, m in enumerate(maps):
        y0, x0 = pos[k]
        ph, pw = sizes[k]
        if gutter:
            img = F.pad(m.permute(2, 0, 1)[None], (gutter,) * 4, mode="replicate")
            img = img[0].permute(1, 2, 0)
        else:
            img = m
        atlas[y0 : y0 + ph, x0 : x0 + pw] = img
        h, w = int(m.shape[0]), int(m.shape[1])
        iy, ix = y0 + gutter, x0 + gutter
        if align_corners:
            su = (w - 1) / (width - 1) if width > 1 else 0.0
            ou = ix / (width - 1) if width > 1 else 0.5
            sv = (h - 1) / (height - 1) if height > 1 else 0.0
            ov = 1.0 - (iy + h - 1) / (height - 1) if height > 1 else 0.5
        else:
            su, ou = w / width, ix / width
            sv, ov = h / height, 1.0 - (iy + h) / height
        transforms[k] = torch.tensor([su, ou, sv, ov], dtype=torch.float64)
    return atlas, transforms


def remap_uvs(verts_uvs: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """Applies :func:`pack_texture_maps`' transforms to UVs.

    Args:
        verts_uvs: (T, 2) float tensor.
        transform: (4,) tensor (su, ou, sv, ov) for every UV, or (T, 4): one per UV.
    Returns:
        (T, 2) tensor of the same dtype, differentiable w.r.t. ``verts_uvs``.
    """
    t = transform.to(device=verts_uvs.device, dtype=verts_uvs.dtype)
    return verts_uvs * t[..., [0, 2]] + t[..., [1, 3]]


# -- packing maps whose UVs leave [0, 1] ------------------------------------------------------
#
# One packed image cannot repeat or mirror each of its maps, so the wrap is resolved before
# packing. Each face is first moved by whole tiles (a multiple of 2 for mirrored repeat, so
# that it keeps its tile's parity; none for clamp and zeros) so that its UVs start in [0, 1).
# Each map is then replaced by a raster of its extension over the plane (repeated, mirrored,
# clamped or zero, texel by texel, as sampling with its mode would read it) covering the map
# and the UVs its moved faces reach, plus one texel all round, and these rasters are packed.
# Most faces
# lie in one tile, so most rasters are the map with a border of a few wrapped texels (faces
# straddling a seam reach a little past it); a face spanning n tiles (a floor with a tiling
# texture) makes its map's raster n tiles wide. Sampling the raster bilinearly at a moved
# UV is sampling the map with its mode at the face's own UV, so the packed texture gives
# each face its own colours.

_TILE_EPS = 1e-5  # UVs this close past a whole number count as on it (float noise)
MIN_RASTER_TEXELS = 1 << 22  # rasters are never shrunk below this many texels ...
RASTER_GROWTH = 4  # ... or below this many times their map's texels


def _face_shifts(corners: torch.Tensor, modes: torch.Tensor) -> torch.Tensor:
    """Whole tiles each face is moved by.

    Args:
        corners: (F, 3, 2) UVs of each face's corners.
        modes: (F, 2) int64 per face and axis: 0 no move, 1 repeat, 2 mirrored repeat.
    Returns:
        (F, 2) int64: repeat moves the face's lowest UV into [0, 1), mirrored repeat into
        [0, 2).
    """
    low = corners.amin(dim=1) + _TILE_EPS
    repeat = torch.floor(low)
    mirrored = 2 * torch.floor(low / 2)
    shift = torch.where(modes == 1, repeat, torch.where(modes == 2, mirrored, 0.0))
    return shift.long()


def _axis_span(size: int, low: float, high: float, align_corners: bool) -> tuple[int, int]:
    """(first, last) texel positions of a raster along one axis covering coordinates
    [low, high] of a map of ``size`` texels, plus one texel each side."""
    period = size - 1 if align_corners else size
    shift = 0.0 if align_corners else 0.5  # texel position of s: s * period - shift
    return math.floor(low * period - shift) - 1, math.ceil(high * period - shift) + 1


def _axis_raster(size: int, span: tuple[int, int], samples: int, mode: str,
                 align_corners: bool, device: torch.device):
    """The texels of a raster of a map's extension along one axis over the texel positions
    ``span`` (:func:`_axis_span`), at ``samples`` texels: every position when ``samples`` is
    the span's length, else the nearest positions of ``samples`` evenly spread raster texels.

    Args:
        size: texels of the map along the axis; mode: its padding mode on that axis.
    Returns:
        index: (samples,) int64 texels of the map; inside: (samples,) bool (False: zero); on
            ``device``;
        scale, offset: the raster's normalised coordinate is ``s * scale + offset`` for the
            map's coordinate s along the axis (u, or 1 - v), in the same align_corners
            convention.
    """
    period = size - 1 if align_corners else size
    first, last = span
    n = last - first + 1
    if samples < n:  # raster texel j sits at r = j / (m - 1), or (j + 0.5) / m
        j = torch.arange(samples, dtype=torch.float64, device=device)
        positions = (torch.round(float(first) + j / (samples - 1) * float(n - 1))
                     if align_corners else
                     torch.floor(float(first) + (j + 0.5) / samples * float(n))).long()
    else:
        positions = torch.arange(first, last + 1, device=device)
    index, inside = wrap_texel_index(positions, size, mode, align_corners)
    if samples >= n and align_corners and mode == "repeat" and period > 0 \
            and last - 1 > period and (last - 1) % period == 0:
        # a face ends on a seam: the map's last texel closes it (texel 0 opens the next tile)
        index[-2] = size - 1
    denominator = n - 1 if align_corners else n
    # raster texel j holds position first + j: r = (s * period - shift - first + j0) / den,
    # where the centre of texel j is at r = j / (n - 1) (align_corners) or (j + 0.5) / n
    return index, inside, period / denominator, -first / denominator


def _raster_samples(spans: list[tuple[int, int]], budget: int) -> list[int]:
    """Texels of a raster along each axis: the spans' lengths, or, when their product is over
    ``budget`` (a face spanning many tiles), as many as fit in it, keeping the aspect while
    the shorter axis keeps 2 texels (with a warning): the raster is sampled at that size,
    never built larger first."""
    lengths = [last - first + 1 for first, last in spans]
    if lengths[0] * lengths[1] <= budget:
        return lengths
    factor = math.sqrt(budget / (lengths[0] * lengths[1]))
    short = 0 if lengths[0] <= lengths[1] else 1
    samples = [0, 0]
    samples[short] = max(2, int(lengths[short] * factor))
    samples[1 - short] = max(2, min(int(lengths[1 - short] * factor), budget // samples[short]))
    warn(
        f"a texture map repeats over {lengths[1]}x{lengths[0]} texels where faces are packed "
        f"into one image; it is kept at {samples[1]}x{samples[0]}, at a lower resolution"
    )
    return samples


def _map_raster(image: torch.Tensor, local: torch.Tensor, modes: tuple[str, str],
                align_corners: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """A map's raster over [0, 1] and the UVs its faces reach, and the UV transform into it.

    Args:
        image: (H, W, C) map; local: (F_k, 3, 2) UVs of its faces (moved by whole tiles);
        modes: (u mode, v mode).
    Returns:
        raster: (h, w, C); transform: (4,) float64 (su, ou, sv, ov) as :func:`remap_uvs`
        takes it, from the moved UVs to the raster's.
    """
    coords = (local[..., 0].reshape(-1), 1 - local[..., 1].reshape(-1))  # u, rows (1 - v)
    sizes = (image.shape[1], image.shape[0])
    spans = []
    for s, size in zip(coords, sizes):
        # the whole map, and past it as far as the faces reach
        low, high = (min(float(s.min()), 0.0), max(float(s.max()), 1.0)) if s.numel() \
            else (0.0, 1.0)
        spans.append(_axis_span(size, low, high, align_corners))
    budget = max(MIN_RASTER_TEXELS, RASTER_GROWTH * image.shape[0] * image.shape[1])
    samples = _raster_samples(spans, budget)
    (cols, col_in, su, ou), (rows, row_in, sy, oy) = (
        _axis_raster(size, span, m, mode, align_corners, image.device)
        for size, span, m, mode in zip(sizes, spans, samples, modes))
    raster = image[rows][:, cols]
    if not bool(col_in.all() and row_in.all()):
        raster = raster * (row_in[:, None] & col_in[None, :])[..., None].to(raster.dtype)
    # rows: r = (1 - v) * sy + oy, so the raster's v = 1 - r = v * sy + (1 - sy - oy)
    return raster, torch.tensor([su, ou, sy, 1.0 - sy - oy], dtype=torch.float64)


_MOVES = {"repeat": 1, "reflection": 2}


def pack_maps_for_faces(
    maps: Sequence[torch.Tensor],
    modes: Sequence[tuple[str, str]],
    face_map: torch.Tensor,
    faces_uvs: torch.Tensor,
    verts_uvs: torch.Tensor,
    align_corners: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Packs the maps that faces use into one image that needs no wrapping (see the comment
    above: faces moved by whole tiles, each map rastered over the tiles its faces reach).

    Args:
        maps: K (H_k, W_k, C) images, same C, dtype and device.
        modes: K (u mode, v mode) padding modes, how each map wraps.
        face_map: (F,) int64 in [0, K): each face's map.
        faces_uvs: (F, 3) int64 rows of ``verts_uvs``; verts_uvs: (T, 2) UVs.
        align_corners: the UV convention of the maps and of the result.
    Returns:
        atlas: (H, W, C); faces_uvs: (F, 3) int64 into the returned verts_uvs (T', 2), one
        row per distinct (map, UV row, move). Sampled with padding_mode "border", it gives
        each face its map's colours: exactly with align_corners=False; with
        align_corners=True and "repeat", a face that spans several tiles blends across one
        texel where its map jumps from its last texel to its first. A raster larger than
        ``max(MIN_RASTER_TEXELS, RASTER_GROWTH * H_k * W_k)`` texels (a face spanning many
        tiles) is shrunk to that size, with a warning. Differentiable w.r.t. the maps and
        verts_uvs.
    """
    device = face_map.device
    corners = verts_uvs.detach()[faces_uvs]
    move = torch.tensor([[_MOVES.get(m, 0) for m in pair] for pair in modes],
                        dtype=torch.int64, device=device)
    shifts = _face_shifts(corners, move[face_map]) if len(face_map) else move[face_map]
    local = corners - shifts[:, None].to(corners.dtype)
    rasters, to_raster = [], []
    for k, (image, pair) in enumerate(zip(maps, modes)):
        raster, transform = _map_raster(image, local[face_map == k], pair, align_corners)
        rasters.append(raster)
        to_raster.append(transform)
    atlas, to_atlas = pack_texture_maps(rasters, align_corners=align_corners, gutter=0)
    keys = torch.cat([face_map[:, None, None].expand(-1, 3, 1), faces_uvs[..., None],
                      shifts[:, None].expand(-1, 3, 2)], dim=-1).reshape(-1, 4)
    rows, inverse = torch.unique(keys, dim=0, return_inverse=True)
    slot = rows[:, 0]
    uv = verts_uvs[rows[:, 1]] - rows[:, 2:].to(verts_uvs.dtype)
    uv = remap_uvs(uv, torch.stack(to_raster).to(device)[slot])
    uv = remap_uvs(uv, to_atlas.to(device)[slot])
    return atlas, inverse.reshape(-1, 3), uv
