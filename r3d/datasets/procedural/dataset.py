"""The on-disk procedural-shapes dataset: making it (:func:`make_dataset`, with its caching and
seeded splits) and reading it (:class:`ProceduralShapes`).

:func:`make_dataset` writes, and :class:`ProceduralShapes` reads::

    <out>/dataset.json                 # {"format": "r3d-procedural-shapes", "version": 1,
                                       #  "r3d_version": "0.1.0",
                                       #  "params": {"families": [...], "shapes_per_family": 20,
                                       #             "views": 8, "image_size": 64, "seed": 0,
                                       #             "splits": [0.7, 0.15, 0.15]},
                                       #  "render": {...the fixed view and light settings}}
    <out>/splits.json                  # {"train": ["chair/0003", ...], "val": [...],
                                       #  "test": [...]}: "<family>/<shape_id>" keys, sorted
    <out>/<family>/<shape_id>/mesh.obj # the shape: "v x y z r g b" lines (vertex colours)
    <out>/<family>/<shape_id>/views/   # r3d.views format (load_views reads it):
        cameras.json                   #   FoVPerspectiveCameras (R, T, fov in degrees, znear,
                                       #   zfar), written last
        view_000.png ...               #   RGBA: Phong-shaded colour (white background), alpha =
                                       #   the silhouette (hard, 0 or 1)
        depth_000.npy ...              #   (H, W) float32 view-space depth, 0 on the background

Shape ids are ``0000``, ``0001``, ... per family. Views are drawn, lit and shaded as
:mod:`r3d.datasets.procedural.rendering` describes.

Determinism: shape ``i`` of a family depends only on (seed, family, i), its views only on (seed,
family, i, views), and the splits on (seed, families, shapes_per_family, splits): the same
parameters give identical files, and adding a family or shapes does not change the others.
Splits are by shape (never by view) and stratified: each family's shapes are shuffled and cut
by the fractions (largest remainders round the counts).

Writing. dataset.json is written first, each shape into a hidden temporary folder renamed into
place once its files are all written, and splits.json last; a folder holding splits.json and
every shape is complete, and an interrupted run never leaves a shape folder that looks complete.
A rerun with the same parameters only makes what is missing (nothing, when complete).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

import r3d
from r3d.datasets.procedural.families import BUILDERS, FAMILIES, check_family, make_shape
from r3d.datasets.procedural.rendering import render_settings, render_views
from r3d.errors import FileFormatError, InputError
from r3d.io import atomic_open, load_obj, save_obj
from r3d.runs.devices import resolve_device
from r3d.views import load_views, save_views

SPLITS = ("train", "val", "test")
FORMAT = "r3d-procedural-shapes"
VERSION = 1
DATASET_FILE = "dataset.json"
SPLITS_FILE = "splits.json"
MESH_FILE = "mesh.obj"
VIEWS_FOLDER = "views"

Progress = Callable[[int, int], None]  # (shapes done, shapes in all)


def _seed(*parts: object) -> int:
    """A 63-bit seed from the parts (stable across processes and platforms)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def _generator(*parts: object) -> torch.Generator:
    return torch.Generator().manual_seed(_seed(*parts))


def _shape_ids(n: int) -> list[str]:
    return [f"{i:04d}" for i in range(n)]


def _split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """n cut by the fractions, rounded by largest remainders (earlier splits win ties)."""
    exact = [f * n for f in fractions]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def make_splits(families: Sequence[str], shapes_per_family: int, seed: int,
                fractions: Sequence[float]) -> dict[str, list[str]]:
    """{"train", "val", "test"}: sorted "<family>/<shape_id>" keys, each family's shapes
    shuffled (seeded) and cut by ``fractions``."""
    splits: dict[str, list[str]] = {name: [] for name in SPLITS}
    counts = _split_counts(shapes_per_family, fractions)
    for family in families:
        ids = _shape_ids(shapes_per_family)
        order = torch.randperm(shapes_per_family, generator=_generator(seed, "splits", family))
        start = 0
        for name, count in zip(SPLITS, counts):
            splits[name] += [f"{family}/{ids[i]}" for i in order[start:start + count].tolist()]
            start += count
    return {name: sorted(keys) for name, keys in splits.items()}


def _check_args(families, shapes_per_family, views, image_size, seed, splits) -> dict:
    """The parameters as stored in dataset.json, after checking them."""
    op = "make_dataset"
    if isinstance(families, str):
        families = [f.strip() for f in families.split(",") if f.strip()]
    families = [check_family(op, f) for f in families]
    if not families:
        raise InputError(f"{op}: families must name at least one of {', '.join(FAMILIES)}")
    if len(set(families)) != len(families):
        raise InputError(f"{op}: families must be distinct, got {families}")
    for name, value, low in (("shapes_per_family", shapes_per_family, 1), ("views", views, 1),
                             ("image_size", image_size, 8), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{op}: {name} must be an int >= {low}, got {value!r}")
    fractions = list(splits) if isinstance(splits, Sequence) else None
    if fractions is None or len(fractions) != 3 or not all(
        isinstance(f, (int, float)) and not isinstance(f, bool) and math.isfinite(f) and f >= 0
        for f in fractions
    ) or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(f"{op}: splits must be 3 fractions >= 0 (train, val, test) summing to 1,"
                         f" got {splits!r}")
    return {"families": families, "shapes_per_family": shapes_per_family, "views": views,
            "image_size": image_size, "seed": seed, "splits": [float(f) for f in fractions]}


def _shape_files(views: int) -> list[str]:
    """The files of a complete shape folder, relative to it."""
    return [MESH_FILE, f"{VIEWS_FOLDER}/cameras.json"] + [
        f"{VIEWS_FOLDER}/{kind}_{i:03d}.{ext}" for i in range(views)
        for kind, ext in (("view", "png"), ("depth", "npy"))
    ]


def _complete(folder: Path, files: list[str]) -> bool:
    return all((folder / f).is_file() for f in files)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileFormatError(path, f"cannot read the JSON: {exc}") from None


def _write_json(path: Path, doc: Any) -> None:
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(doc, indent=1) + "\n")


def _read_dataset_doc(path: Path) -> dict:
    doc = _read_json(path)
    if not (isinstance(doc, dict) and doc.get("format") == FORMAT
            and isinstance(doc.get("params"), dict)):
        raise FileFormatError(path, f"not a procedural-shapes dataset (expected \"format\": "
                                    f"\"{FORMAT}\" and \"params\")")
    if doc.get("version") != VERSION:
        raise FileFormatError(path, f"unsupported version {doc.get('version')!r} (this r3d "
                                    f"reads version {VERSION})")
    return doc


def _differences(old: dict, new: dict) -> str:
    keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
    return ", ".join(f"{k}: {json.dumps(old.get(k))} -> {json.dumps(new.get(k))}" for k in keys)


def _write_shape(folder: Path, family: str, shape_id: str, params: dict, device) -> None:
    """Makes, renders and writes one shape into a hidden temporary folder, then renames it to
    ``folder`` (replacing an older one)."""
    seed = params["seed"]
    mesh = make_shape(family, _generator(seed, "shape", family, shape_id))
    images, masks, depths, cameras = render_views(
        mesh, params["views"], params["image_size"],
        _generator(seed, "views", family, shape_id, params["views"]), device)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        save_obj(tmp / MESH_FILE, mesh.verts_packed(), mesh.faces_packed(),
                 verts_colors=mesh.textures.verts_features_packed())
        save_views(tmp / VIEWS_FOLDER, images, masks, cameras, depths=depths)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def make_dataset(
    out_dir: str | os.PathLike,
    families: Sequence[str] = FAMILIES,
    shapes_per_family: int = 20,
    views: int = 8,
    image_size: int = 64,
    seed: int = 0,
    splits: Sequence[float] = (0.7, 0.15, 0.15),
    progress: Progress | None = None,
    force: bool = False,
    device: torch.device | str = "cpu",
) -> dict:
    """Generates (or completes) a procedural-shapes dataset in ``out_dir`` (format: see the
    module docstring).

    Args:
        out_dir: the dataset folder (created when missing).
        families: names from :data:`FAMILIES` (or one comma-separated string).
        shapes_per_family: shapes of each family (ids 0000, 0001, ...).
        views: V, views rendered per shape.
        image_size: S, the side of the square images in pixels (>= 8).
        seed: the seed of every random draw.
        splits: fractions of each family's shapes in train, val and test (sum 1).
        progress: called as progress(shapes done, shapes in all) after each shape.
        force: regenerate every shape, also over a dataset made with other parameters (whose
            shape folders are removed) or in a non-empty folder that holds no dataset.
        device: where to render ("cpu" or "cuda").
    Returns:
        A JSON-ready summary: out, families, shapes (in all), generated (made by this call),
        cached (True when the folder already held the whole dataset), views, image_size,
        seed, splits ({"train": count, "val": count, "test": count}), seconds.
    Raises:
        InputError for bad arguments, or when ``out_dir`` holds a dataset with other
        parameters or other files (and ``force`` is False).
    """
    start = time.perf_counter()
    params = _check_args(families, shapes_per_family, views, image_size, seed, splits)
    device = resolve_device(device)
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"make_dataset: the output folder {out} is a file")
    doc_path = out / DATASET_FILE
    files = _shape_files(params["views"])
    keys = [(f, i) for f in params["families"] for i in _shape_ids(params["shapes_per_family"])]
    old = None
    if doc_path.is_file():
        try:
            old = _read_dataset_doc(doc_path)["params"]
        except FileFormatError:
            if not force:
                raise
    if old is not None and old != params:
        if not force:
            raise InputError(
                f"{out} holds a dataset made with other parameters ({_differences(old, params)}); "
                "use another folder, or --force (force=True) to replace it")
        _remove_dataset(out, old, keep=set(keys))
        old = None
    elif old is None and out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out} is not empty and holds no {DATASET_FILE}; use another (or an "
                         "empty) folder, or --force (force=True) to write into it")
    summary = {"out": str(out), "families": params["families"], "shapes": len(keys),
               "views": params["views"], "image_size": params["image_size"], "seed": seed}
    todo = [(f, i) for f, i in keys if force or not _complete(out / f / i, files)]
    split_doc = make_splits(params["families"], params["shapes_per_family"], seed,
                            params["splits"])
    summary["splits"] = {name: len(split_doc[name]) for name in SPLITS}
    if old is not None and not todo and (out / SPLITS_FILE).is_file():
        if progress is not None:
            progress(len(keys), len(keys))
        return {**summary, "generated": 0, "cached": True,
                "seconds": round(time.perf_counter() - start, 3)}
    out.mkdir(parents=True, exist_ok=True)
    if (out / SPLITS_FILE).exists():  # written again last: its presence means complete
        (out / SPLITS_FILE).unlink()
    _write_json(doc_path, {"format": FORMAT, "version": VERSION, "r3d_version": r3d.__version__,
                           "params": params, "render": render_settings()})
    done = len(keys) - len(todo)
    if progress is not None:
        progress(done, len(keys))
    for family, shape_id in todo:
        (out / family).mkdir(exist_ok=True)
        _write_shape(out / family / shape_id, family, shape_id, params, device)
        done += 1
        if progress is not None:
            progress(done, len(keys))
    _write_json(out / SPLITS_FILE, split_doc)
    return {**summary, "generated": len(todo), "cached": False,
            "seconds": round(time.perf_counter() - start, 3)}


def _remove_dataset(out: Path, old: dict, keep: set) -> None:
    """Removes the shape folders of an older dataset (its params ``old``) that are not kept,
    and its splits.json and dataset.json."""
    for name in (SPLITS_FILE, DATASET_FILE):
        if (out / name).is_file():
            (out / name).unlink()
    families, count = old.get("families"), old.get("shapes_per_family")
    if not (isinstance(families, list) and isinstance(count, int)):
        return
    for family in families:
        if family not in BUILDERS:  # never a path we did not make
            continue
        for shape_id in _shape_ids(count):
            folder = out / family / shape_id
            if (family, shape_id) not in keep and folder.is_dir():
                shutil.rmtree(folder)
        if (out / family).is_dir() and not any((out / family).iterdir()):
            (out / family).rmdir()


# ---- reading --------------------------------------------------------------------------------


class ProceduralShapes(torch.utils.data.Dataset):
    """The shapes of one split of a dataset written by :func:`make_dataset`.

    Args:
        root: the dataset folder (holds dataset.json and splits.json).
        split: "train", "val", "test" or "all" (every shape, in splits.json's order).
        views: None for every view, or K to read the first K views of each shape.

    Attributes:
        families: the dataset's families; an item's label is its family's index in this list.
        keys: the items' "<family>/<shape_id>" keys.

    Each item is a dict: family (str), shape_id (str), label (int), verts (P, 3) float32,
    faces (F, 3) int64, colors (P, 3) float32 in [0, 1], images (K, S, S, 3) float32 in [0, 1],
    masks (K, S, S) float32, depths (K, S, S) float32 (0: background), R (K, 3, 3), T (K, 3)
    and fov (K,) in degrees (FoVPerspectiveCameras, X_view = X_world R + T). Meshes differ in
    size: batch items with :func:`r3d.datasets.collate_batched_meshes` (lists, and a
    Meshes under "mesh") or ``collate_fn=list``.
    """

    def __init__(self, root: str | os.PathLike, split: str = "train", views: int | None = None
                 ) -> None:
        self.root = Path(root).expanduser()
        if split not in (*SPLITS, "all"):
            raise InputError(f"ProceduralShapes: split must be one of {', '.join(SPLITS)} or all,"
                             f" got {split!r}")
        if not (self.root / DATASET_FILE).is_file():
            raise InputError(f"ProceduralShapes: {self.root} holds no {DATASET_FILE}; make one "
                             "with r3d dataset make")
        params = _read_dataset_doc(self.root / DATASET_FILE)["params"]
        splits_path = self.root / SPLITS_FILE
        if not splits_path.is_file():
            raise InputError(f"ProceduralShapes: {self.root} holds no {SPLITS_FILE}: the dataset "
                             "is incomplete; run r3d dataset make again to finish it")
        doc = _read_json(splits_path)
        if not (isinstance(doc, dict) and all(isinstance(doc.get(s), list) for s in SPLITS)):
            raise FileFormatError(splits_path, f"expected lists {', '.join(SPLITS)}")
        self.families: list[str] = list(params["families"])
        self.split = split
        self.keys: list[str] = [k for s in SPLITS for k in doc[s]] if split == "all" \
            else list(doc[split])
        total = int(params["views"])
        if views is not None and (isinstance(views, bool) or not isinstance(views, int)
                                  or not 1 <= views <= total):
            raise InputError(f"ProceduralShapes: views must be None or an int in [1, {total}] "
                             f"(the dataset's views), got {views!r}")
        self.views = views

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key = self.keys[index]
        family, shape_id = key.split("/")
        folder = self.root / family / shape_id
        verts, faces, aux = load_obj(folder / MESH_FILE)
        if aux.verts_colors is None:
            raise FileFormatError(folder / MESH_FILE, "has no vertex colours")
        views = load_views(folder / VIEWS_FOLDER)
        if self.views is not None:
            views = views.subset(list(range(self.views)))
        cameras = views.cameras
        fov = cameras.fov if cameras.degrees else torch.rad2deg(cameras.fov)
        return {
            "family": family,
            "shape_id": shape_id,
            "label": self.families.index(family),
            "verts": verts,
            "faces": faces.verts_idx,
            "colors": aux.verts_colors,
            "images": views.images,
            "masks": views.masks,
            "depths": views.depths,
            "R": cameras.R,
            "T": cameras.T,
            "fov": fov,
        }
