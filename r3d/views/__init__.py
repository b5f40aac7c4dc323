"""The multi-view input of ``r3d fit``: images, silhouettes, cameras (and depths) of a folder.

A folder of views holds r3d's own ``cameras.json`` or, when it has none, a ``transforms.json``
in the instant-ngp / nerfstudio convention (when both are there, ``cameras.json`` is read and
``transforms.json`` ignored). :func:`load_views` reads either into a :class:`ViewSet`;
:func:`save_views` writes one (RGBA PNGs and ``cameras.json``), and ``r3d render`` writes a
``cameras.json`` beside its views.

Silhouettes. Each image needs one, found in this order: the view's own mask file
(``"mask"`` in cameras.json, ``"mask_path"`` in transforms.json); the alpha channel of an RGBA
image (its colour is kept as stored, not premultiplied); ``masks/<stem>.<ext>`` (any image
extension) in the image's folder, then in the views folder. A mask image is read as its alpha
channel when it has a non-opaque one, else as its first (grey) channel, scaled to [0, 1].

Pixels follow :func:`r3d.renderer.cameras_from_opencv_projection`: pixel coordinates have +x
right, +y down, (0, 0) at the top-left corner of the image and (W / 2, H / 2) at its centre (no
half-pixel shift), which is also the convention of instant-ngp and nerfstudio.

``cameras.json`` (format version 1; R and T as PyTorch3D: X_view = X_world R + T, view +X left,
+Y up, +Z forward)::

    {"format": "r3d-cameras", "version": 1, "convention": "pytorch3d",
     "camera": "fov_perspective",        # or "perspective"
     "image_size": [H, W],               # of every view's image, in pixels
     "views": [
       {"file": "view_000.png",          # the image, relative to the folder
        "mask": "silhouette_000.png",    # optional: the silhouette (else alpha or masks/)
        "depth": "depth_000.npy",        # optional: (H, W) float32 .npy of view-space depth,
                                         #   0 where background
        "R": [[r00, r01, r02], [r10, r11, r12], [r20, r21, r22]], "T": [t0, t1, t2],
        # "camera": "fov_perspective" (FoVPerspectiveCameras; fov over the shorter side):
        "fov": 60.0, "degrees": true, "znear": 0.1, "zfar": 100.0, "aspect_ratio": 1.0
        # "camera": "perspective" (pinhole, in pixels as above; OpenCV's fx, fy, cx, cy):
        #   "focal_length": [fx, fy], "principal_point": [cx, cy]
       }, ...]}

``degrees``, ``znear``, ``zfar`` and ``aspect_ratio`` are optional (defaults as above but znear
1.0, as FoVPerspectiveCameras). Unknown keys are errors.

``transforms.json`` (instant-ngp / nerfstudio / NeRF-synthetic): ``frames``, each with
``file_path`` (relative to the json; without an extension, ``.png`` then ``.jpg`` are tried),
``transform_matrix`` (4x4 camera-to-world, OpenGL camera axes: x right, y up, looking along
-z; a rigid transform) and optionally ``mask_path``. Intrinsics come from the frame, else from
the top level: ``fl_x`` and/or ``fl_y`` (one gives both), or ``camera_angle_x`` and/or
``camera_angle_y`` in radians (fl = 0.5 w / tan(angle / 2)); ``cx``, ``cy`` (default: the
image centre); ``w``, ``h`` (default: the image's; when given they must be the image's).
Non-zero distortion (``k1``..``k4``, ``p1``, ``p2``) and camera models other than pinhole are
refused; other keys are ignored. Depth maps are not read from transforms.json.

Cameras of a loaded ViewSet: ``fov_perspective`` views give :class:`FoVPerspectiveCameras`;
``perspective`` views and transforms.json give NDC :class:`PerspectiveCameras` with
``image_size`` (through :func:`cameras_from_opencv_projection`). Either renders the images at
their size (H, W).

Modules: :mod:`~r3d.views.viewset` (the container), :mod:`~r3d.views.load` (reading a folder)
with :mod:`~r3d.views.cameras_json`, :mod:`~r3d.views.transforms_json`,
:mod:`~r3d.views.images`, :mod:`~r3d.views.camera_models` and :mod:`~r3d.views.nodes`, and
:mod:`~r3d.views.write` (writing).
"""

from r3d.views.cameras_json import CAMERAS_FILE
from r3d.views.load import load_views
from r3d.views.transforms_json import TRANSFORMS_FILE
from r3d.views.viewset import ViewSet
from r3d.views.write import cameras_document, save_views, write_cameras_json

__all__ = [
    "CAMERAS_FILE",
    "TRANSFORMS_FILE",
    "ViewSet",
    "cameras_document",
    "load_views",
    "save_views",
    "write_cameras_json",
]
