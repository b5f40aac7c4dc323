"""ShapeNetCore as a torch ``Dataset`` of meshes.

Layouts (``data_dir`` is the folder holding the synset folders)::

    version 1:  <data_dir>/<synset_id>/<model_id>/model.obj
    version 2:  <data_dir>/<synset_id>/<model_id>/models/model_normalized.obj

A synset id is WordNet's 8-digit offset of the category ("03001627" is "chair"). Categories can be
chosen by id or by name; :data:`SYNSET_NAMES` is the table used (ShapeNetCore v2's names; v1 has
the two extra categories "bicycle" and "boat" and calls "cellphone" "mobile phone"). The 13
categories of R2N2 (:data:`R2N2_SYNSETS`) are a subset.

Items are dicts of tensors and strings (see :meth:`ShapeNetCore.__getitem__`); batch them with
:func:`r3d.datasets.collate_batched_meshes`.
"""

from __future__ import annotations

import operator
import os
import re
from collections.abc import Iterable

import torch
from torch.utils.data import Dataset

from r3d.errors import InputError, warn
from r3d.io import load_obj

__all__ = ["R2N2_SYNSETS", "SYNSET_NAMES", "ShapeNetBase", "ShapeNetCore", "synset_names"]

# WordNet synset offset -> category name, ShapeNetCore v2's 55 categories.
SYNSET_NAMES: dict[str, str] = {
    "02691156": "airplane",
    "02747177": "trash bin",
    "02773838": "bag",
    "02801938": "basket",
    "02808440": "bathtub",
    "02818832": "bed",
    "02828884": "bench",
    "02843684": "birdhouse",
    "02871439": "bookshelf",
    "02876657": "bottle",
    "02880940": "bowl",
    "02924116": "bus",
    "02933112": "cabinet",
    "02942699": "camera",
    "02946921": "can",
    "02954340": "cap",
    "02958343": "car",
    "02992529": "cellphone",
    "03001627": "chair",
    "03046257": "clock",
    "03085013": "keyboard",
    "03207941": "dishwasher",
    "03211117": "display",
    "03261776": "earphone",
    "03325088": "faucet",
    "03337140": "file cabinet",
    "03467517": "guitar",
    "03513137": "helmet",
    "03593526": "jar",
    "03624134": "knife",
    "03636649": "lamp",
    "03642806": "laptop",
    "03691459": "loudspeaker",
    "03710193": "mailbox",
    "03759954": "microphone",
    "03761084": "microwaves",
    "03790512": "motorbike",
    "03797390": "mug",
    "03928116": "piano",
    "03938244": "pillow",
    "03948459": "pistol",
    "03991062": "flowerpot",
    "04004475": "printer",
    "04074963": "remote",
    "04090263": "rifle",
    "04099429": "rocket",
    "04225987": "skateboard",
    "04256520": "sofa",
    "04330267": "stove",
    "04379243": "table",
    "04401088": "telephone",
    "04460130": "tower",
    "04468005": "train",
    "04530566": "watercraft",
    "04554684": "washer",
}

# ShapeNetCore v1 differs from v2 by these entries.
_V1_CHANGES: dict[str, str] = {
    "02834778": "bicycle",
    "02858304": "boat",
    "02992529": "mobile phone",
}

# Other names in common use -> synset id (accepted in ``synsets``, never returned as labels).
_ALIASES: dict[str, str] = {
    "plane": "02691156",
    "aeroplane": "02691156",
    "trash can": "02747177",
    "ashcan": "02747177",
    "cellphone": "02992529",
    "mobile phone": "02992529",
    "monitor": "03211117",
    "speaker": "03691459",
    "microwave": "03761084",
    "motorcycle": "03790512",
    "vessel": "04530566",
    "boat": "02858304",
    "bicycle": "02834778",
}

# The 13 categories of R2N2 (Choy et al. 2016), a subset of ShapeNetCore v1.
R2N2_SYNSETS: tuple[str, ...] = (
    "02691156",  # airplane
    "02828884",  # bench
    "02933112",  # cabinet
    "02958343",  # car
    "03001627",  # chair
    "03211117",  # display
    "03636649",  # lamp
    "03691459",  # loudspeaker
    "04090263",  # rifle
    "04256520",  # sofa
    "04379243",  # table
    "04401088",  # telephone
    "04530566",  # watercraft
)

_SYNSET_ID = re.compile(r"^\d{8}$")

# Relative path of a model's OBJ file inside <synset>/<model>/, per ShapeNetCore version.
_MODEL_FILE = {1: "model.obj", 2: os.path.join("models", "model_normalized.obj")}


def synset_names(version: int = 1) -> dict[str, str]:
    """Synset id -> category name for ShapeNetCore ``version`` (1 or 2): a new dict."""
    if version not in _MODEL_FILE:
        raise InputError(f"ShapeNetCore: version must be 1 or 2, got {version!r}")
    table = dict(SYNSET_NAMES)
    if version == 1:
        table.update(_V1_CHANGES)
    return table


def _resolve_synsets(op: str, synsets: Iterable[str], table: dict[str, str]) -> list[str]:
    """Synset ids of ``synsets`` (ids or names, case-insensitive names), in order, deduplicated.

    Any 8-digit id is accepted (a folder may hold a category the table lacks); names must be in
    the table or its aliases, else InputError listing the valid names.
    """
    if isinstance(synsets, str):
        synsets = [synsets]
    by_name = {**_ALIASES, **{name: sid for sid, name in table.items()}}
    out: list[str] = []
    unknown: list[str] = []
    for s in synsets:
        if not isinstance(s, str):
            raise InputError(f"{op}: synsets must be strings (ids or names), got {s!r}")
        key = s.strip()
        sid = key if _SYNSET_ID.match(key) else by_name.get(key.lower())
        if sid is None:
            unknown.append(s)
        elif sid not in out:
            out.append(sid)
    if unknown:
        valid = ", ".join(sorted(set(table.values())))
        raise InputError(
            f"{op}: unknown synset name(s) {unknown}; give 8-digit synset ids or one of: {valid}"
        )
    return out


def _subdirs(folder: str) -> list[str]:
    """Sorted names of the folders directly inside ``folder`` (hidden ones excluded)."""
    with os.scandir(folder) as it:
        return sorted(e.name for e in it if e.is_dir() and not e.name.startswith("."))


class ShapeNetBase(Dataset):
    """What ShapeNetCore and R2N2 share: a list of (synset id, model id) and mesh loading.

    Subclasses fill ``synset_ids`` and ``model_ids`` (parallel lists, one entry per item),
    ``labels`` (synset id -> name) and ``model_paths`` (the OBJ file of each item).

    Attributes:
        synset_num_models: synset id -> number of items of that synset.
        skipped: (synset id, model id) of the models left out because their OBJ file is missing.
    """

    def __init__(self, load_textures: bool = True, texture_resolution: int = 4) -> None:
        name = type(self).__name__
        if not isinstance(texture_resolution, int) or texture_resolution < 1:
            raise InputError(
                f"{name}: texture_resolution must be a positive int, got {texture_resolution!r}"
            )
        self.load_textures = bool(load_textures)
        self.texture_resolution = texture_resolution
        self.synset_ids: list[str] = []
        self.model_ids: list[str] = []
        self.model_paths: list[str] = []
        self.labels: dict[str, str] = {}
        self.skipped: list[tuple[str, str]] = []

    @property
    def synset_num_models(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.synset_ids:
            counts[s] = counts.get(s, 0) + 1
        return counts

    def __len__(self) -> int:
        return len(self.model_ids)

    def _add_model(self, synset_id: str, model_id: str, obj_path: str) -> bool:
        """Appends a model whose OBJ file exists (else records it in ``skipped``)."""
        if not os.path.isfile(obj_path):
            self.skipped.append((synset_id, model_id))
            return False
        self.synset_ids.append(synset_id)
        self.model_ids.append(model_id)
        self.model_paths.append(obj_path)
        return True

    def _warn_skipped(self, root: str, model_file: str) -> None:
        if self.skipped:
            s, m = self.skipped[0]
            warn(
                f"{type(self).__name__}: skipped {len(self.skipped)} model(s) under {root} "
                f"without {model_file} (first: {s}/{m})"
            )

    def _index(self, idx) -> int:
        if isinstance(idx, torch.Tensor) and idx.numel() == 1:
            idx = idx.item()
        try:
            if isinstance(idx, bool):
                raise TypeError
            idx = operator.index(idx)
        except TypeError:
            raise InputError(f"{type(self).__name__}: index must be an int, got {idx!r}") from None
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} out of range for {n} models")
        return idx % n

    def _load_model(self, idx: int) -> dict:
        """The model fields of item ``idx`` (a valid, non-negative index)."""
        sid = self.synset_ids[idx]
        verts, faces, textures = self._load_mesh(self.model_paths[idx])
        return {
            "synset_id": sid,
            "model_id": self.model_ids[idx],
            "label": self.labels.get(sid, sid),
            "verts": verts,
            "faces": faces,
            "textures": textures,
        }

    def _load_mesh(self, path: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """verts (V, 3) float32, faces (F, 3) int64 and the (F, R, R, 3) texture atlas (white
        for a model without materials), or None when textures are not loaded."""
        R = self.texture_resolution
        verts, faces, aux = load_obj(
            path, load_textures=self.load_textures, create_texture_atlas=self.load_textures,
            texture_atlas_size=R,
        )
        faces = faces.verts_idx
        textures = None
        if self.load_textures:
            textures = aux.texture_atlas
            if textures is None:
                textures = verts.new_ones(faces.shape[0], R, R, 3)
        return verts, faces, textures


class ShapeNetCore(ShapeNetBase):
    """The models of ShapeNetCore v1 or v2 (see the module's notes for the layouts).

    Args:
        data_dir: the folder holding the synset folders.
        synsets: categories to load, as synset ids ("03001627") or names ("chair"), or None
            for every synset folder in data_dir (folders named by an 8-digit id).
        version: 1 or 2, the layout and the names of the categories.
        load_textures: load each model's materials into a per-face texture atlas.
        texture_resolution: R, the atlas' texels per face side.

    Items are ordered by synset id, then model id. Models whose OBJ file is missing are left out
    with one warning giving their count (they are listed in ``skipped``); requested synsets
    without a folder in data_dir are left out with a warning.

    Raises:
        InputError: unknown synset names (the message lists the valid ones), a bad version, or
            no model found (the message names data_dir and the file looked for).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike,
        synsets: Iterable[str] | str | None = None,
        version: int = 1,
        load_textures: bool = True,
        texture_resolution: int = 4,
    ) -> None:
        super().__init__(load_textures, texture_resolution)
        op = "ShapeNetCore"
        table = synset_names(version)
        self.data_dir = os.fspath(data_dir)
        self.version = version
        model_file = _MODEL_FILE[version]
        if not os.path.isdir(self.data_dir):
            raise InputError(f"{op}: data_dir {self.data_dir} is not a folder")
        present = [d for d in _subdirs(self.data_dir) if _SYNSET_ID.match(d)]
        if synsets is None:
            wanted = present
        else:
            wanted = requested = _resolve_synsets(op, synsets, table)
            absent = [s for s in wanted if s not in present]
            if absent and len(absent) < len(wanted):
                warn(f"{op}: no folder in {self.data_dir} for synset(s) {absent}")
            wanted = [s for s in wanted if s in present]
        for sid in sorted(wanted):
            self.labels[sid] = table.get(sid, sid)
            folder = os.path.join(self.data_dir, sid)
            for mid in _subdirs(folder):
                self._add_model(sid, mid, os.path.join(folder, mid, model_file))
        if not self.model_ids:
            asked = "any synset" if synsets is None else f"synsets {wanted or requested}"
            found = f" ({len(self.skipped)} model folder(s) lack that file)" if self.skipped else ""
            raise InputError(
                f"{op}: found no model in data_dir {self.data_dir}: looked for "
                f"<synset_id>/<model_id>/{model_file} (ShapeNetCore v{version} layout) for "
                f"{asked}{found}"
            )
        self._warn_skipped(self.data_dir, model_file)

    def __getitem__(self, idx: int) -> dict:
        """Loads model ``idx``.

        Returns:
            dict with "synset_id" (str), "model_id" (str), "label" (str, the category name),
            "verts" (V, 3) float32, "faces" (F, 3) int64 indices into verts, and "textures":
            the (F, R, R, 3) float32 per-face texture atlas (ones for a model without
            materials), or None when ``load_textures`` is False.
        """
        return self._load_model(self._index(idx))
