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

from r3d.errors import InputError
from r3d.structures import texture_sampling

__all__ = [
    "TexturesBase",
    "TexturesVertex",
    "TexturesUV",
    "TexturesAtlas",
    "pack_texture_maps",
    "atlas_barycentric_grid",
]


def _describe(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype} on {value.device}"
    return type(value).__name__


def _as_tensor_list(
    cls_name: str, arg: str, value, item_dims: int, shape_doc: str
) -> tuple[list[torch.Tensor], bool]:
    """Splits ``value`` (a list of tensors or one padded tensor) into per-mesh tensors.

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
    for i, item in enumerate(items):
        if not isinstance(item, torch.Tensor) or item.dim() != item_dims:
            raise InputError(
                f"{cls_name}: {arg}[{i}] must be a {shape_doc} tensor, got {_describe(item)}"
            )
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

    def __getitem__(self, idx: list[int]) -> TexturesBase:
        """The textures of meshes ``idx`` (a Python list of ints, negatives count from the end)."""
        n = len(self)
        if not isinstance(idx, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in idx
        ):
            raise InputError(
                f"{type(self).__name__}[idx]: idx must be a list of ints, got {idx!r}"
            )
        picked = []
        for i in idx:
            if not -n <= i < n:
                raise InputError(
                    f"{type(self).__name__}[idx]: index {i} is out of range for {n} meshes"
                )
            picked.append(i % n)
        data = {k: [v[i] for i in picked] for k, v in self._data.items()}
        padded = {k: [v[i] for i in picked] for k, v in self._padded.items()}
        return self._new(data, padded)

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
            dtype and device. Stored without copying; gradients flow to them.
    """

    _fields = ("verts_features",)
    _vertex_fields = ("verts_features",)

    def __init__(self, verts_features) -> None:
        name = type(self).__name__
        items, was_padded = _as_tensor_list(name, "verts_features", verts_features, 2, "(V_i, C)")
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
        items, was_padded = _as_tensor_list(name, "atlas", atlas, 4, "(F_i, R, R, C)")
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


_PADDING_MODES = ("zeros", "border", "reflection", "repeat")
_SAMPLING_MODES = ("bilinear", "nearest")


def _index_tensors(
    cls_name: str, arg: str, items: list[torch.Tensor], shape_doc: str, cols: int | None = None
) -> list[torch.Tensor]:
    """Checks that ``items`` are integer tensors (with ``cols`` columns); returns them as int64."""
    for i, t in enumerate(items):
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool \
                or (cols is not None and t.shape[1] != cols):
            raise InputError(
                f"{cls_name}: {arg}[{i}] must be an integer {shape_doc} tensor, got {_describe(t)}"
            )
    return [t if t.dtype == torch.int64 else t.long() for t in items]


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
            corner, the row of ``verts_uvs`` holding its UV.
        verts_uvs: list of N (T_i, 2) float tensors, or padded (N, T, 2): (u, v) with u to the
            right and v up, (0, 0) the bottom-left corner of the image.
        padding_mode: how samples outside [0, 1] behave: "zeros", "border" (clamp) or
            "reflection" (torch.grid_sample's), or "repeat" (the map tiles the plane).
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
        padding_mode: str = "border",
        align_corners: bool = True,
        sampling_mode: str = "bilinear",
        maps_ids=None,
    ) -> None:
        name = type(self).__name__
        if padding_mode not in _PADDING_MODES:
            raise InputError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, got {padding_mode!r}"
            )
        if sampling_mode not in _SAMPLING_MODES:
            raise InputError(
                f"{name}: sampling_mode must be one of {_SAMPLING_MODES}, got {sampling_mode!r}"
            )
        self._cfg_padding_mode = padding_mode
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
        fuv, fuv_padded = _as_tensor_list(name, "faces_uvs", faces_uvs, 2, "(F_i, 3)")
        vuv, _ = _as_tensor_list(name, "verts_uvs", verts_uvs, 2, "(T_i, 2)")
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
    def padding_mode(self) -> str:
        """How samples outside [0, 1] behave ("zeros", "border", "reflection" or "repeat")."""
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

    def join_scene(self) -> TexturesUV:
        """One mesh whose single map packs the maps of every mesh.

        Returns:
            TexturesUV of batch 1 without maps_ids: a map (H, W, C) from
            :func:`pack_texture_maps` (shelf packing, a one-texel replicated gutter around
            each map), faces_uvs (sum F_i, 3) and verts_uvs (T', 2) holding one row per
            (UV row, map) pair that some face uses, remapped into that map's rectangle.

        Sampling the result on the joined faces gives the colours each face had in its own
        map: exactly with nearest sampling, and with bilinear sampling too, except within
        half a texel of a map's border when ``align_corners=False`` and padding_mode is not
        "border" (the gutter repeats the edge texels). When several maps are packed, UVs are
        clamped to [0, 1] first (the packed image cannot repeat or reflect a map); when the
        faces use a single map, it is kept as is with the UVs unchanged. Only maps some face
        uses are packed, and a map shared by several meshes (the same tensor, e.g. after
        ``extend``) is packed once. Gradients flow to the packed maps and to the UVs.
        """
        if len(self) == 0:
            raise InputError("TexturesUV.join_scene: the batch holds no mesh")
        maps, fuv, vuv = self._data["maps"], self._data["faces_uvs"], self._data["verts_uvs"]
        multi = self.has_maps_ids
        face_maps = self.maps_ids_list() or [f.new_zeros(f.shape[0]) for f in fuv]
        device = fuv[0].device
        # slot (place in the packed image) of every map a face uses, keyed by (tensor, index)
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
            face_slots.append(table.to(device)[ids])
        if not images:  # no face at all: any map will do
            images.append(maps[0][0] if multi else maps[0])
        # one new UV row per distinct (slot, UV row) pair: key = slot * T + packed UV row
        num_t = max(sum(v.shape[0] for v in vuv), 1)
        offsets = torch.tensor([0] + [v.shape[0] for v in vuv[:-1]], device=device).cumsum(0)
        keys = torch.cat([
            s[:, None] * num_t + f + o for s, f, o in zip(face_slots, fuv, offsets)
        ]).reshape(-1)
        rows, inverse = torch.unique(keys, return_inverse=True)
        uvs = torch.cat(vuv)[rows % num_t]
        if len(images) == 1:
            atlas = images[0]
        else:
            atlas, transforms = pack_texture_maps(images, align_corners=self._cfg_align_corners)
            uvs = remap_uvs(uvs.clamp(0.0, 1.0), transforms.to(device)[rows // num_t])
        proto = dict(self._proto, maps=atlas.new_zeros((0, 0, atlas.shape[-1])))
        proto.pop("maps_ids", None)
        return self._new(
            {"maps": [atlas], "faces_uvs": [inverse.reshape(-1, 3)], "verts_uvs": [uvs]},
            proto=proto,
        )


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
