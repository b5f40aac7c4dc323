"""Batches of cameras: world-to-view transforms and projections, as PyTorch3D defines them.

Spaces (PyTorch3D's):

- world, and view: ``X_view = X_world R + T`` (row vectors); +X left, +Y up, +Z into the screen.
- NDC: +X left, +Y up, origin at the image centre; the shorter image side spans [-1, 1] and the
  longer one [-u, u] with u >= 1. The third coordinate is the depth as the projection maps it.
- screen: pixels, +X right, +Y down, origin at the top-left corner of the image.

Cameras defined in NDC (``in_ndc()``) project straight to NDC. :class:`PerspectiveCameras` and
:class:`OrthographicCameras` may instead be defined in screen space (``in_ndc=False``, focal
lengths and principal point in pixels); they project to x = fx X / Z + px (perspective) or
x = fx X + px (orthographic), and :meth:`CamerasBase.get_ndc_camera_transform` maps that to NDC.

Camera parameters broadcast like PyTorch3D's: each is given for one camera or for N, and those
given once apply to all N. Their dtype is that of the floating-point tensors among them,
promoted together (float32 when there are none); their device is ``device``, else that of the
first tensor not on the CPU, else the CPU.

Call-time overrides (PyTorch3D's ``**kwargs``): the transform methods, ``transform_points*``,
``get_camera_center`` and ``unproject_points`` take any constructor parameter as a keyword
(``R=``, ``T=``, ``fov=``, ``focal_length=``, ``K=``, ..., and ``image_size=``), which replaces
the stored one for that call; so do the rasterisers, which pass such keywords of their own call
on. As in PyTorch3D, ``R`` and ``T`` given to a method that uses the world-to-view transform are
also stored on the cameras (so that the shaders' lighting, which asks the same cameras for their
centre, sees the pose just rendered). A keyword the cameras do not know raises InputError.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from r3d._checks import check_index_vector, describe
from r3d.errors import InputError, R3DDeprecationWarning, warn
from r3d.transforms import Rotate, Scale, Transform3d, Translate
from r3d.transforms._common import broadcast_batch

__all__ = [
    "CamerasBase",
    "FoVOrthographicCameras",
    "FoVPerspectiveCameras",
    "OpenGLOrthographicCameras",
    "OpenGLPerspectiveCameras",
    "OrthographicCameras",
    "PerspectiveCameras",
    "SfMOrthographicCameras",
    "SfMPerspectiveCameras",
    "camera_position_from_spherical_angles",
    "get_ndc_to_screen_transform",
    "get_screen_to_ndc_transform",
    "get_world_to_view_transform",
    "look_at_rotation",
    "join_cameras_as_batch",
    "look_at_view_transform",
]

_R = torch.eye(3)[None]  # (1, 3, 3): default rotation
_T = torch.zeros(1, 3)  # (1, 3): default translation


# ---- arguments ---------------------------------------------------------------------------------


def _to_tensor(op: str, name: str, value: object) -> torch.Tensor:
    """A tensor as is; a number or nested sequence of numbers as a float32 tensor."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as err:
        raise InputError(
            f"{op}: {name} must be a number, a sequence of numbers or a tensor, got "
            f"{describe(value)}"
        ) from err


def _broadcast(
    op: str,
    specs: dict[str, tuple[object, tuple[int, ...]]],
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """Arguments as tensors of one dtype and device with a common batch size N.

    Args:
        specs: name -> (value, trailing shape); a value is a tensor, number or nested sequence
            of shape ``trailing`` (one item) or (N, *trailing); N = 1 broadcasts. A None in
            ``trailing`` matches any size (a colour's channel count C).
        device: default: see :func:`default_device`.
        dtype: default: the floating-point dtypes of the values promoted together, float32 at
            least (numbers and sequences count as float32).
    Returns:
        name -> (N, *trailing) tensor (an expanded view where the value had one item).
    """
    values = {name: _to_tensor(op, name, value) for name, (value, _) in specs.items()}
    if dtype is None:
        floats = [t.dtype for t in values.values() if t.is_floating_point()]
        dtype = functools.reduce(torch.promote_types, floats, torch.float32)
    device = default_device(values.values(), device)
    out = {}
    for name, (_, trailing) in specs.items():
        t = values[name]
        if _fits(t.shape, trailing):
            t = t[None]
        elif t.dim() != len(trailing) + 1 or not _fits(t.shape[1:], trailing):
            one = "(" + ", ".join("C" if d is None else str(d) for d in trailing) + \
                ("," if len(trailing) == 1 else "") + ")"
            batched = "(N" + "".join(f", {'C' if d is None else d}" for d in trailing) + \
                ("" if trailing else ",") + ")"
            raise InputError(f"{op}: {name} must have shape {one} or {batched}, got {describe(t)}")
        out[name] = t.to(dtype=dtype, device=device)
    n = broadcast_batch(op, f"the batch sizes of {', '.join(out)}", [len(t) for t in out.values()])
    return {name: t.expand(n, *t.shape[1:]) for name, t in out.items()}


def _fits(shape: torch.Size, trailing: tuple[int | None, ...]) -> bool:
    """Whether shape is ``trailing``, None there matching any size."""
    return len(shape) == len(trailing) and all(
        want is None or got == want for got, want in zip(shape, trailing)
    )


def default_device(tensors, device: torch.device | str | None = None) -> torch.device:
    """``device`` if given, else that of the first of ``tensors`` not on the CPU, else the
    CPU."""
    if device is None:
        device = next((t.device for t in tensors if t.device.type != "cpu"), "cpu")
    return torch.device(device)


def _image_size(op: str, image_size: object, cameras: CamerasBase) -> torch.Tensor:
    """image_size as an (N, 2) tensor (height, width) of the cameras' dtype; each at least 1."""
    if image_size is None:
        raise InputError(f"{op}: image_size (height, width) is required: the cameras have none")
    size = _broadcast(op, {"image_size": (image_size, (2,))}, cameras.device, cameras.dtype)
    _check_image_size(op, size["image_size"])
    return size["image_size"]


def _check_image_size(op: str, size: torch.Tensor) -> None:
    if bool((size < 1).any()):
        raise InputError(f"{op}: image_size must be at least 1, got {size.tolist()}")


def _as_float(cameras: CamerasBase, value: object) -> torch.Tensor:
    """value (a number, sequence or tensor) as a tensor of the cameras' dtype and device."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype=cameras.dtype, device=cameras.device)
    return torch.tensor(value, dtype=cameras.dtype, device=cameras.device)


def _calibration(like: torch.Tensor, entries: dict[tuple[int, int], object]) -> torch.Tensor:
    """(N, 4, 4) column-vector matrices, zero but for ``entries``: (row, col) -> (N,) or number,
    with the dtype and device of like (N, ...)."""
    K = like.new_zeros(len(like), 4, 4)
    for (i, j), value in entries.items():
        K[:, i, j] = value
    return K


# ---- cameras -----------------------------------------------------------------------------------


class CamerasBase:
    """A batch of N cameras: a world-to-view transform and a projection each.

    Subclasses store their parameters as (N, ...) tensors named as their constructor arguments
    (``R`` (N, 3, 3), ``T`` (N, 3), ``K`` (N, 4, 4) or None, ...) and define
    ``_calibration_matrix``: the (N, 4, 4) column-vector projection used when K is None.
    """

    # constructor arguments stored as (N, ...) tensors (or None), for __getitem__, clone and to
    _FIELDS: tuple[str, ...] = ()
    # other constructor arguments -> the attributes that hold them
    _SHARED: dict[str, str] = {}
    _PERSPECTIVE: bool

    def __init__(self, op: str, R, T, K, device, **specs) -> None:
        specs = {**specs, "R": (R, (3, 3)), "T": (T, (3,))}
        if K is not None:
            specs["K"] = (K, (4, 4))
        self.K: torch.Tensor | None = None
        for name, value in _broadcast(op, specs, device).items():
            setattr(self, name, value)
        self.device: torch.device = self.R.device
        self.dtype: torch.dtype = self.R.dtype
        self._N = len(self.R)

    # ---- batch -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._N

    def _rebuild(self, fn: Callable[[torch.Tensor], torch.Tensor], **replace) -> CamerasBase:
        """A camera of the same class with fn applied to every tensor field (fields and shared
        arguments named in ``replace`` take the given values instead)."""
        kwargs = {f: fn(getattr(self, f)) for f in self._FIELDS
                  if getattr(self, f) is not None and f not in replace}
        kwargs.update({arg: getattr(self, attr) for arg, attr in self._SHARED.items()
                       if arg not in replace})
        return type(self)(**kwargs, **replace)

    # ---- call-time overrides -----------------------------------------------------------------
    def parameter_names(self) -> tuple[str, ...]:
        """The keywords the methods accept as call-time overrides of the cameras' parameters:
        the constructor's parameters (but ``device``) and ``image_size``."""
        return (*self._FIELDS, *self._SHARED, "image_size")

    def _for_call(self, op: str, kwargs: dict, store_pose: bool = True) -> CamerasBase:
        """The cameras one call uses: self, or a copy whose parameters named in ``kwargs`` take
        the given values (converted to the cameras' dtype and device).

        With ``store_pose``, R and T given are first stored on self, as PyTorch3D's
        get_world_to_view_transform does (the batch size then becomes that of the new pose);
        without it they are ignored (the caller does not use the pose). ``image_size`` is only
        passed on where the cameras have it (screen-space cameras); transform_points_screen
        reads it itself.
        """
        names = self.parameter_names()
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            raise InputError(
                f"{type(self).__name__}.{op}: unknown keyword argument(s) {unknown}; the "
                f"cameras' parameters are {list(names)}"
            )
        given = {
            k: v.to(dtype=self.dtype, device=self.device)
            if isinstance(v, torch.Tensor) and v.is_floating_point() else v
            for k, v in kwargs.items()
            if k in self._FIELDS or k in self._SHARED
        }
        pose = {k: given.pop(k) for k in ("R", "T") if k in given}
        if store_pose and pose:
            self.__dict__.update(self._rebuild(lambda t: t, **pose).__dict__)
        return self._rebuild(lambda t: t, **given) if given else self

    def __getitem__(self, index: int | slice | list[int] | torch.Tensor) -> CamerasBase:
        """The cameras selected by an int (kept as a batch of 1), a slice, a list of ints or a
        bool or int64 tensor, as a new object of the same class."""
        if isinstance(index, bool) or not isinstance(index, (int, slice, list, torch.Tensor)):
            raise InputError(
                f"{type(self).__name__}[index]: index must be an int, slice, list of ints or a "
                f"bool or int64 tensor, got {describe(index)}"
            )
        if isinstance(index, int):
            if not -self._N <= index < self._N:
                raise IndexError(f"camera index {index} is out of range for {self._N} cameras")
            index = [index]
        return self._rebuild(lambda t: t[index])

    def clone(self) -> CamerasBase:
        """A copy with cloned parameter tensors."""
        return self._rebuild(torch.clone)

    def isempty(self) -> bool:
        """Whether the batch holds no cameras."""
        return self._N == 0

    def gather_props(self, batch_idx: torch.Tensor) -> CamerasBase:
        """Makes these N cameras, in place, the cameras ``batch_idx`` (B,) int64 (PyTorch3D's
        TensorProperties method, which shaders use to light packed vertices: ``batch_idx =
        meshes.verts_packed_to_mesh_idx()``). One camera stays as it is (it broadcasts).
        Returns self."""
        check_index_vector(f"{type(self).__name__}.gather_props", "batch_idx", batch_idx)
        if self._N > 1:
            self.__dict__.update(self[batch_idx].__dict__)
        return self

    def with_pose(self, R: torch.Tensor, T: torch.Tensor) -> CamerasBase:
        """Cameras of the same class and intrinsics with world-to-view rotations ``R``
        (N, 3, 3) and translations ``T`` (N, 3) (1 or N); gradients flow to R and T."""
        return self._rebuild(lambda t: t, R=R, T=T)

    def to(self, device: torch.device | str) -> CamerasBase:
        """Moves the parameters to ``device`` in place (as PyTorch3D does) and returns self."""
        for f in self._FIELDS:
            value = getattr(self, f)
            if value is not None:
                setattr(self, f, value.to(device))
        self.device = self.R.device
        return self

    def cpu(self) -> CamerasBase:
        """``self.to("cpu")``."""
        return self.to("cpu")

    def cuda(self) -> CamerasBase:
        """``self.to("cuda")``."""
        return self.to("cuda")

    # ---- properties --------------------------------------------------------------------------
    def is_perspective(self) -> bool:
        """Whether the projection divides by depth."""
        return self._PERSPECTIVE

    def in_ndc(self) -> bool:
        """Whether the cameras project to NDC (else to screen space)."""
        return True

    def get_znear(self) -> torch.Tensor | None:
        """(N,) near clipping planes of cameras that have them, else None."""
        return getattr(self, "znear", None)

    def get_image_size(self) -> torch.Tensor | None:
        """(N, 2) image sizes (height, width) of cameras that have them, else None."""
        return getattr(self, "image_size", None)

    # ---- transforms --------------------------------------------------------------------------
    # Every method below takes call-time overrides of the cameras' parameters as keywords (see
    # the module's notes): ``cameras.get_world_to_view_transform(R=R, T=T)``.

    def get_world_to_view_transform(self, **kwargs) -> Transform3d:
        """World to view: X_view = X_world R + T, batch size N. R and T given are stored."""
        cams = self._for_call("get_world_to_view_transform", kwargs)
        return get_world_to_view_transform(cams.R, cams.T)

    def get_projection_transform(self, **kwargs) -> Transform3d:
        """View to NDC (or to screen space when not ``in_ndc()``): the row-vector form of K, or
        of the matrix the camera parameters define when K is None. Batch size N. R and T are
        ignored."""
        cams = self._for_call("get_projection_transform", kwargs, store_pose=False)
        K = cams.K if cams.K is not None else cams._calibration_matrix()
        return Transform3d(matrix=K.transpose(1, 2))

    def get_full_projection_transform(self, **kwargs) -> Transform3d:
        """World to NDC (or to screen space when not ``in_ndc()``), batch size N. R and T given
        are stored."""
        cams = self._for_call("get_full_projection_transform", kwargs)
        return cams.get_world_to_view_transform().compose(cams.get_projection_transform())

    def get_ndc_camera_transform(self, **kwargs) -> Transform3d:
        """From the space the cameras project to, to NDC: the identity for NDC cameras."""
        self._for_call("get_ndc_camera_transform", kwargs, store_pose=False)
        return Transform3d(dtype=self.dtype, device=self.device)

    def get_camera_center(self, **kwargs) -> torch.Tensor:
        """(N, 3) camera centres in world coordinates. R and T given are stored."""
        cams = self._for_call("get_camera_center", kwargs)
        return cams.get_world_to_view_transform().inverse().get_matrix()[:, 3, :3]

    # ---- points ------------------------------------------------------------------------------
    def _check_points(self, op: str, name: str, x: object) -> None:
        if not (
            isinstance(x, torch.Tensor)
            and x.dim() in (2, 3)
            and x.shape[-1] == 3
            and x.dtype == self.dtype
            and x.device == self.device
        ):
            raise InputError(
                f"{op}: {name} must be a tensor of shape (P, 3) or (N, P, 3) with the cameras' "
                f"dtype {self.dtype} and device {self.device}, got {describe(x)}"
            )
        if x.dim() == 3:
            broadcast_batch(op, f"the batch sizes of {name} and the cameras", [len(x), self._N])

    def transform_points(
        self, points: torch.Tensor, eps: float | None = None, **kwargs
    ) -> torch.Tensor:
        """World points to NDC (or to screen space when not ``in_ndc()``).

        Args:
            points: (P, 3) or (N, P, 3) world points.
            eps: when given, the homogeneous divisor is clamped to magnitude >= eps (see
                :meth:`Transform3d.transform_points`), which keeps gradients finite near the
                camera plane.
            kwargs: call-time overrides of the cameras' parameters (R and T are stored).
        Returns:
            (P, 3) for (P, 3) points and one camera, else (N, P, 3).
        """
        op = f"{type(self).__name__}.transform_points"
        cams = self._for_call("transform_points", kwargs)
        cams._check_points(op, "points", points)
        return cams.get_full_projection_transform().transform_points(points, eps=eps)

    def transform_points_ndc(
        self, points: torch.Tensor, eps: float | None = None, **kwargs
    ) -> torch.Tensor:
        """World points to NDC (+X left, +Y up), whichever space the cameras are defined in.
        Shapes, eps and kwargs as in :meth:`transform_points`."""
        op = f"{type(self).__name__}.transform_points_ndc"
        cams = self._for_call("transform_points_ndc", kwargs)
        cams._check_points(op, "points", points)
        to_ndc = cams.get_full_projection_transform().compose(cams.get_ndc_camera_transform())
        return to_ndc.transform_points(points, eps=eps)

    def transform_points_screen(
        self,
        points: torch.Tensor,
        eps: float | None = None,
        with_xyflip: bool = True,
        image_size: object = None,
        **kwargs,
    ) -> torch.Tensor:
        """World points to screen space: pixels, +X right and +Y down from the top-left corner
        (with ``with_xyflip``; without it +X left and +Y up from the bottom-right corner).

        Args:
            points, eps, kwargs: as in :meth:`transform_points`.
            image_size: (2,) or (N, 2) (height, width); default: the cameras' image_size.
                For screen-space cameras it is also the screen their parameters refer to.
        Returns:
            as :meth:`transform_points`; the third coordinate is the NDC one.
        """
        if image_size is not None:
            kwargs["image_size"] = image_size
        cams = self._for_call("transform_points_screen", kwargs)
        ndc = cams.transform_points_ndc(points, eps=eps)
        size = cams.get_image_size() if image_size is None else image_size
        to_screen = get_ndc_to_screen_transform(cams, with_xyflip=with_xyflip, image_size=size)
        return to_screen.transform_points(ndc, eps=eps)

    def unproject_points(
        self,
        xy_depth: torch.Tensor,
        world_coordinates: bool = True,
        scaled_depth_input: bool = False,
        from_ndc: bool = False,
        **kwargs,
    ) -> torch.Tensor:
        """Points from their projected x, y and their depth.

        Args:
            xy_depth: (P, 3) or (N, P, 3): x, y in the space the cameras project to (NDC, or
                screen space when not ``in_ndc()``), then the view-space depth z.
            world_coordinates: return world points (else view-space points).
            scaled_depth_input: the third coordinate is the projected depth, the one
                :meth:`transform_points` returns, instead of the view-space z.
            from_ndc: x, y are in NDC even though the cameras are defined in screen space.
            kwargs: call-time overrides of the cameras' parameters (R and T are stored when
                world_coordinates, else ignored).
        Returns:
            (P, 3) for (P, 3) input and one camera, else (N, P, 3).
        """
        op = f"{type(self).__name__}.unproject_points"
        cams = self._for_call("unproject_points", kwargs, store_pose=world_coordinates)
        cams._check_points(op, "xy_depth", xy_depth)
        if world_coordinates:
            to_projected = cams.get_full_projection_transform()
        else:
            to_projected = cams.get_projection_transform()
        if from_ndc:
            to_projected = to_projected.compose(cams.get_ndc_camera_transform())
        if not scaled_depth_input:
            xy_depth = cams._scaled_depth(xy_depth)
        return to_projected.inverse().transform_points(xy_depth)

    def _scaled_depth(self, xy_depth: torch.Tensor) -> torch.Tensor:
        """xy_depth with its view-space z replaced by the projected one,
        (M22 z + M32) / (M23 z + M33) for the row-vector projection M (the projections here
        leave z independent of x and y)."""
        M = self.get_projection_transform().get_matrix()
        batched = xy_depth if xy_depth.dim() == 3 else xy_depth[None]
        z = batched[..., 2:]
        m = M[:, :, :, None, None]  # (N, 4, 4, 1, 1) to broadcast against (N, P, 1)
        scaled = (m[:, 2, 2] * z + m[:, 3, 2]) / (m[:, 2, 3] * z + m[:, 3, 3])
        out = torch.cat([batched[..., :2].expand(len(scaled), -1, -1), scaled], dim=-1)
        return out if xy_depth.dim() == 3 or len(out) > 1 else out[0]

    def _calibration_matrix(self) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(N={self._N}, dtype={self.dtype}, device={self.device})"


class FoVPerspectiveCameras(CamerasBase):
    """Perspective cameras given by a field of view (OpenGL-like, right-handed, NDC).

    Projection (column vectors, t = tan(fov / 2), a = aspect_ratio, n = znear, f = zfar)::

        [[1 / (t a), 0,     0,           0          ],
         [0,         1 / t, 0,           0          ],
         [0,         0,     f / (f - n), -f n / (f - n)],
         [0,         0,     1,           0          ]]

    A point at the edge of the field of view projects to NDC y = +-1 (x = +-1 for x * a);
    depth n maps to 0 and f to 1.

    Args:
        znear, zfar, aspect_ratio, fov: numbers or (N,): clipping planes, pixel aspect ratio
            (width / height, 1 for square pixels), vertical field of view.
        degrees: fov is in degrees (else radians).
        R: (3, 3) or (N, 3, 3). T: (3,) or (N, 3).
        K: (4, 4) or (N, 4, 4) column-vector projection that replaces the one above.
        device: see the module's notes.
    """

    _FIELDS = ("znear", "zfar", "aspect_ratio", "fov", "R", "T", "K")
    _SHARED = {"degrees": "degrees"}
    _PERSPECTIVE = True

    def __init__(
        self,
        znear=1.0,
        zfar=100.0,
        aspect_ratio=1.0,
        fov=60.0,
        degrees: bool = True,
        R=_R,
        T=_T,
        K=None,
        device=None,
    ) -> None:
        super().__init__(
            "FoVPerspectiveCameras",
            R,
            T,
            K,
            device,
            znear=(znear, ()),
            zfar=(zfar, ()),
            aspect_ratio=(aspect_ratio, ()),
            fov=(fov, ()),
        )
        if not isinstance(degrees, bool):
            raise InputError(
                f"FoVPerspectiveCameras: degrees must be a bool, got {describe(degrees)}"
            )
        self.degrees = degrees

    def compute_projection_matrix(
        self, znear, zfar, fov, aspect_ratio, degrees: bool
    ) -> torch.Tensor:
        """The (N, 4, 4) column-vector projection (above) of the given parameters, each a
        number or an (N,) tensor (PyTorch3D's method; the projection of the cameras themselves
        is ``compute_projection_matrix(cams.znear, cams.zfar, cams.fov, cams.aspect_ratio,
        cams.degrees)``, and a subclass may override it)."""
        znear, zfar, fov, aspect_ratio = (
            _as_float(self, x) for x in (znear, zfar, fov, aspect_ratio)
        )
        t = torch.tan((torch.deg2rad(fov) if degrees else fov) / 2)
        return _calibration(
            self.R,
            {
                (0, 0): 1 / (t * aspect_ratio),
                (1, 1): 1 / t,
                (2, 2): zfar / (zfar - znear),
                (2, 3): -zfar * znear / (zfar - znear),
                (3, 2): 1.0,
            },
        )

    def _calibration_matrix(self) -> torch.Tensor:
        return self.compute_projection_matrix(
            self.znear, self.zfar, self.fov, self.aspect_ratio, self.degrees
        )


class FoVOrthographicCameras(CamerasBase):
    """Orthographic cameras given by the bounds of their view volume (NDC).

    Projection (column vectors, s = scale_xyz, n = znear, f = zfar)::

        [[2 sx / (max_x - min_x), 0, 0, -(max_x + min_x) / (max_x - min_x)],
         [0, 2 sy / (max_y - min_y), 0, -(max_y + min_y) / (max_y - min_y)],
         [0, 0, sz / (f - n), -n / (f - n)],
         [0, 0, 0, 1]]

    Args:
        znear, zfar, max_y, min_y, max_x, min_x: numbers or (N,).
        scale_xyz: (3,) or (N, 3).
        R, T, K, device: as in :class:`FoVPerspectiveCameras`.
    """

    _FIELDS = ("znear", "zfar", "max_y", "min_y", "max_x", "min_x", "scale_xyz", "R", "T", "K")
    _PERSPECTIVE = False

    def __init__(
        self,
        znear=1.0,
        zfar=100.0,
        max_y=1.0,
        min_y=-1.0,
        max_x=1.0,
        min_x=-1.0,
        scale_xyz=((1.0, 1.0, 1.0),),
        R=_R,
        T=_T,
        K=None,
        device=None,
    ) -> None:
        super().__init__(
            "FoVOrthographicCameras",
            R,
            T,
            K,
            device,
            znear=(znear, ()),
            zfar=(zfar, ()),
            max_y=(max_y, ()),
            min_y=(min_y, ()),
            max_x=(max_x, ()),
            min_x=(min_x, ()),
            scale_xyz=(scale_xyz, (3,)),
        )

    def compute_projection_matrix(
        self, znear, zfar, max_x, min_x, max_y, min_y, scale_xyz
    ) -> torch.Tensor:
        """The (N, 4, 4) column-vector projection (above) of the given parameters: numbers or
        (N,) tensors, and scale_xyz (N, 3) or (3,) (PyTorch3D's method and argument order; a
        subclass may override it)."""
        znear, zfar, max_x, min_x, max_y, min_y, scale = (
            _as_float(self, x) for x in (znear, zfar, max_x, min_x, max_y, min_y, scale_xyz)
        )
        width, height, depth = max_x - min_x, max_y - min_y, zfar - znear
        return _calibration(
            self.R,
            {
                (0, 0): 2 * scale[..., 0] / width,
                (1, 1): 2 * scale[..., 1] / height,
                (2, 2): scale[..., 2] / depth,
                (0, 3): -(max_x + min_x) / width,
                (1, 3): -(max_y + min_y) / height,
                (2, 3): -znear / depth,
                (3, 3): 1.0,
            },
        )

    def _calibration_matrix(self) -> torch.Tensor:
        return self.compute_projection_matrix(
            self.znear, self.zfar, self.max_x, self.min_x, self.max_y, self.min_y,
            self.scale_xyz,
        )


class _SfMCameras(CamerasBase):
    """Cameras given by focal lengths and a principal point, in NDC or in screen space."""

    _FIELDS = ("focal_length", "principal_point", "R", "T", "K", "image_size")
    _SHARED = {"in_ndc": "_in_ndc"}

    def __init__(
        self,
        focal_length=1.0,
        principal_point=((0.0, 0.0),),
        R=_R,
        T=_T,
        K=None,
        device=None,
        in_ndc: bool = True,
        image_size=None,
    ) -> None:
        op = type(self).__name__
        if not isinstance(in_ndc, bool):
            raise InputError(f"{op}: in_ndc must be a bool, got {describe(in_ndc)}")
        if image_size is None and not in_ndc:
            raise InputError(f"{op}: image_size (height, width) is required when in_ndc is False")
        focal = _to_tensor(op, "focal_length", focal_length)
        if focal.dim() > 2 or (focal.dim() == 2 and focal.shape[1] not in (1, 2)):
            raise InputError(
                f"{op}: focal_length must be a number or have shape (N,), (N, 1) or (N, 2), "
                f"got {describe(focal)}"
            )
        if focal.dim() == 2 and focal.shape[1] == 1:
            focal = focal.expand(-1, 2)
        specs = {
            "focal_length": (focal, (2,) if focal.dim() == 2 else ()),
            "principal_point": (principal_point, (2,)),
        }
        if image_size is not None:
            specs["image_size"] = (image_size, (2,))
        super().__init__(op, R, T, K, device, **specs)
        if self.focal_length.dim() == 1:
            self.focal_length = self.focal_length[:, None].expand(-1, 2)
        if image_size is None:
            self.image_size: torch.Tensor | None = None
        else:
            _check_image_size(op, self.image_size)
        self._in_ndc = in_ndc

    def in_ndc(self) -> bool:
        return self._in_ndc

    def get_principal_point(self, **kwargs) -> torch.Tensor:
        """(N, 2) where the optical axis projects (in NDC or screen space, as the cameras).
        kwargs: call-time overrides of the cameras' parameters."""
        axis = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=self.dtype, device=self.device)
        return self.get_projection_transform(**kwargs).transform_points(axis)[:, 0, :2]

    def get_ndc_camera_transform(self, **kwargs) -> Transform3d:
        """Identity for NDC cameras. For screen-space ones: the principal point, given in image
        axes (+X right, +Y down), is moved to PyTorch3D's axes (+X left, +Y up), then pixels
        are scaled to NDC (see :func:`get_screen_to_ndc_transform`). kwargs: call-time
        overrides of the cameras' parameters (``image_size=`` among them)."""
        cams = self._for_call("get_ndc_camera_transform", kwargs, store_pose=False)
        if cams._in_ndc:
            return Transform3d(dtype=cams.dtype, device=cams.device)
        pp = cams.get_principal_point()
        fix = Translate(-2 * pp[:, 0], -2 * pp[:, 1], torch.zeros_like(pp[:, 0]))
        return fix.compose(get_screen_to_ndc_transform(cams, image_size=cams.image_size))


class PerspectiveCameras(_SfMCameras):
    """Pinhole cameras given by focal lengths and a principal point (multi-view geometry).

    Projection (column vectors)::

        [[fx, 0,  px, 0],
         [0,  fy, py, 0],
         [0,  0,  0,  1],
         [0,  0,  1,  0]]

    so x = fx X / Z + px, y = fy Y / Z + py and the third coordinate is 1 / Z. In NDC (the
    default) fx, fy, px, py are in NDC units; with ``in_ndc=False`` they are in pixels and the
    principal point is in image axes (+X right, +Y down): then a view point (X, Y, Z) lands on
    pixel (px - fx X / Z, py - fy Y / Z).

    Args:
        focal_length: a number, (N,), (N, 1) or (N, 2) (fx, fy).
        principal_point: (2,) or (N, 2).
        R, T, K, device: as in :class:`FoVPerspectiveCameras`.
        in_ndc: the parameters are in NDC (else in pixels, and image_size is required).
        image_size: (2,) or (N, 2) (height, width) in pixels: the default size of
            :meth:`transform_points_screen`, and the screen of screen-space cameras.
    """

    _PERSPECTIVE = True

    def _calibration_matrix(self) -> torch.Tensor:
        (fx, fy), (px, py) = self.focal_length.unbind(1), self.principal_point.unbind(1)
        return _calibration(
            self.R, {(0, 0): fx, (1, 1): fy, (0, 2): px, (1, 2): py, (3, 2): 1.0, (2, 3): 1.0}
        )


class OrthographicCameras(_SfMCameras):
    """Orthographic cameras given by scales ("focal lengths") and a principal point.

    Projection (column vectors)::

        [[fx, 0,  0, px],
         [0,  fy, 0, py],
         [0,  0,  1, 0 ],
         [0,  0,  0, 1 ]]

    Arguments as in :class:`PerspectiveCameras`.
    """

    _PERSPECTIVE = False

    def _calibration_matrix(self) -> torch.Tensor:
        (fx, fy), (px, py) = self.focal_length.unbind(1), self.principal_point.unbind(1)
        return _calibration(
            self.R, {(0, 0): fx, (1, 1): fy, (0, 3): px, (1, 3): py, (2, 2): 1.0, (3, 3): 1.0}
        )


# ---- batches and PyTorch3D's deprecated names ---------------------------------------------------


def join_cameras_as_batch(cameras_list: Sequence[CamerasBase]) -> CamerasBase:
    """One batch of the cameras in cameras_list, in order (PyTorch3D's function).

    Args:
        cameras_list: cameras of one class and device, each a batch of one or more. Their
            shared arguments (``degrees``, ``in_ndc``) must agree, and an optional parameter
            (``K``, ``image_size``) must be given for all or none.
    Returns:
        cameras of that class whose parameters are those of the inputs concatenated along the
        batch.
    """
    op = "join_cameras_as_batch"
    cameras_list = list(cameras_list) if isinstance(cameras_list, (list, tuple)) else None
    if not cameras_list or not all(isinstance(c, CamerasBase) for c in cameras_list):
        raise InputError(f"{op}: cameras_list must be a non-empty list of cameras")
    first = cameras_list[0]
    classes = {type(c).__name__ for c in cameras_list}
    if len(classes) > 1:
        raise InputError(f"{op}: the cameras must be of one class, got {sorted(classes)}")
    devices = {str(c.device) for c in cameras_list}
    if len(devices) > 1:
        raise InputError(f"{op}: the cameras must be on one device, got {sorted(devices)}")
    kwargs = {}
    for arg, attr in first._SHARED.items():
        values = [getattr(c, attr) for c in cameras_list]
        if any(v != values[0] for v in values):
            raise InputError(f"{op}: {arg} must be the same for all cameras, got {values}")
        kwargs[arg] = values[0]
    for field in first._FIELDS:
        values = [getattr(c, field) for c in cameras_list]
        given = [v is not None for v in values]
        if any(given) and not all(given):
            raise InputError(f"{op}: {field} is given for some of the cameras only")
        if all(given):
            kwargs[field] = torch.cat(values)
    return type(first)(**kwargs, device=first.device)


def _deprecated(old: str, new: str) -> None:
    warn(f"{old} is deprecated (as in PyTorch3D): use {new}", R3DDeprecationWarning)


def OpenGLPerspectiveCameras(
    znear=1.0, zfar=100.0, aspect_ratio=1.0, fov=60.0, degrees: bool = True, R=_R, T=_T,
    device=None,
) -> FoVPerspectiveCameras:
    """PyTorch3D's deprecated name: ``FoVPerspectiveCameras`` with the same arguments (but K).
    Warns PendingDeprecationWarning."""
    _deprecated("OpenGLPerspectiveCameras", "FoVPerspectiveCameras")
    return FoVPerspectiveCameras(
        znear=znear, zfar=zfar, aspect_ratio=aspect_ratio, fov=fov, degrees=degrees, R=R, T=T,
        device=device,
    )


def OpenGLOrthographicCameras(
    znear=1.0, zfar=100.0, top=1.0, bottom=-1.0, left=-1.0, right=1.0,
    scale_xyz=((1.0, 1.0, 1.0),), R=_R, T=_T, device=None,
) -> FoVOrthographicCameras:
    """PyTorch3D's deprecated name: ``FoVOrthographicCameras`` with max_y = top,
    min_y = bottom, max_x = right, min_x = left. Warns PendingDeprecationWarning."""
    _deprecated("OpenGLOrthographicCameras", "FoVOrthographicCameras")
    return FoVOrthographicCameras(
        znear=znear, zfar=zfar, max_y=top, min_y=bottom, max_x=right, min_x=left,
        scale_xyz=scale_xyz, R=R, T=T, device=device,
    )


def _sfm_alias(cls: type[_SfMCameras]) -> Callable[..., _SfMCameras]:
    """PyTorch3D's deprecated ``SfM<cls>``: NDC cameras of class cls, with a warning."""
    name = f"SfM{cls.__name__}"

    def alias(focal_length=1.0, principal_point=((0.0, 0.0),), R=_R, T=_T, device=None):
        _deprecated(name, cls.__name__)
        return cls(
            focal_length=focal_length, principal_point=principal_point, R=R, T=T, device=device
        )

    alias.__name__ = alias.__qualname__ = name
    alias.__doc__ = (
        f"PyTorch3D's deprecated name: ``{cls.__name__}`` in NDC with these arguments. Warns "
        "PendingDeprecationWarning."
    )
    return alias


SfMPerspectiveCameras = _sfm_alias(PerspectiveCameras)
SfMOrthographicCameras = _sfm_alias(OrthographicCameras)


# ---- NDC and screen ----------------------------------------------------------------------------


def get_ndc_to_screen_transform(
    cameras: CamerasBase, with_xyflip: bool = False, image_size: object = None
) -> Transform3d:
    """NDC to screen: x -> W / 2 - s x and y -> H / 2 - s y with s = min(H, W) / 2 when
    ``with_xyflip`` (pixels, +X right, +Y down, origin top left), else x -> s x - W / 2 and
    y -> s y - H / 2. z is kept.

    Args:
        cameras: give the dtype and device.
        image_size: (2,) or (N, 2) (height, width).
    Returns:
        a Transform3d of batch size N (or 1).
    """
    size = _image_size("get_ndc_to_screen_transform", image_size, cameras)
    height, width = size.unbind(1)
    s = size.min(dim=1).values / 2
    out = Scale(s, s, 1.0).compose(Translate(-width / 2, -height / 2, 0.0))
    if with_xyflip:
        out = out.compose(Scale(-1.0, -1.0, 1.0, dtype=cameras.dtype, device=cameras.device))
    return out


def get_screen_to_ndc_transform(
    cameras: CamerasBase, with_xyflip: bool = False, image_size: object = None
) -> Transform3d:
    """The inverse of :func:`get_ndc_to_screen_transform` (same arguments)."""
    return get_ndc_to_screen_transform(cameras, with_xyflip, image_size).inverse()


# ---- world to view -----------------------------------------------------------------------------


def get_world_to_view_transform(R=_R, T=_T) -> Transform3d:
    """X_view = X_world R + T.

    Args:
        R: (3, 3) or (N, 3, 3) rotations. T: (3,) or (N, 3) translations.
    Returns:
        a Transform3d of batch size N: the rotation, then the translation.
    """
    p = _broadcast("get_world_to_view_transform", {"R": (R, (3, 3)), "T": (T, (3,))})
    return Rotate(p["R"]).compose(Translate(p["T"]))


def camera_position_from_spherical_angles(
    distance, elevation, azimuth, degrees: bool = True, device=None
) -> torch.Tensor:
    """Positions at ``distance`` from the origin: elevation above the XZ plane, azimuth about
    +Y from +Z (azimuth 90 degrees is +X).

    Args:
        distance, elevation, azimuth: numbers or (N,) (broadcast).
        degrees: the angles are in degrees (else radians).
    Returns:
        (N, 3): (d cos(elev) sin(azim), d sin(elev), d cos(elev) cos(azim)).
    """
    specs = {"distance": (distance, ()), "elevation": (elevation, ()), "azimuth": (azimuth, ())}
    p = _broadcast("camera_position_from_spherical_angles", specs, device)
    elev, azim = p["elevation"], p["azimuth"]
    if degrees:
        elev, azim = torch.deg2rad(elev), torch.deg2rad(azim)
    d, horizontal = p["distance"], p["distance"] * torch.cos(elev)
    return torch.stack(
        [horizontal * torch.sin(azim), d * torch.sin(elev), horizontal * torch.cos(azim)], dim=1
    )


def look_at_rotation(camera_position, at=((0, 0, 0),), up=((0, 1, 0),), device=None):
    """World-to-view rotations of cameras at camera_position looking at ``at``, with ``up``
    pointing up on screen.

    The view axes are z = (at - camera_position) / |...|, x = up x z / |...|, y = z x x; R
    holds them as columns. However small up x z is, its direction is used, as in PyTorch3D:
    look_at_view_transform(elev=90) computes cos(90 deg) as -4.4e-8 in float32, so the camera
    sits just past the pole and, at azimuth a, x = (cos a, 0, -sin a) (+X at azimuth 0, the
    opposite of elevation 89.99). Where up x z is exactly zero (up parallel to the view, e.g.
    ``eye`` straight above ``at``), PyTorch3D returns a singular matrix; here x is then the
    part of e perpendicular to up, e being the coordinate axis least aligned with up (for
    up = +Y: x = +X, as PyTorch3D's elevation +-90 at azimuth 0).

    Args:
        camera_position, at, up: (3,) or (N, 3) (broadcast); camera_position != at, up != 0.
    Returns:
        R: (N, 3, 3).
    """
    specs = {"camera_position": (camera_position, (3,)), "at": (at, (3,)), "up": (up, (3,))}
    p = _broadcast("look_at_rotation", specs, device)
    eye = p["camera_position"]
    return _look_at("look_at_rotation", "camera_position == at", eye, p["at"], p["up"])


def _look_at(op: str, coincident: str, eye: torch.Tensor, at: torch.Tensor, up: torch.Tensor):
    """look_at_rotation on broadcast (N, 3) tensors; ``coincident`` says, in the caller's
    argument names, what makes eye == at."""
    forward = at - eye
    if bool((forward == 0).all(dim=1).any()):
        raise InputError(f"{op}: a camera sits at the point it looks at ({coincident})")
    if bool((up == 0).all(dim=1).any()):
        raise InputError(f"{op}: up must not be the zero vector")
    z = F.normalize(forward, dim=1)
    up = F.normalize(up, dim=1)
    x = torch.cross(up, z, dim=1)
    # scaled by its largest component first, so that a tiny x keeps its direction when squared
    largest = x.abs().amax(dim=1, keepdim=True)
    parallel = largest == 0
    if bool(parallel.any()):
        axis = F.one_hot(up.abs().argmin(dim=1), 3).to(up)
        perpendicular = axis - (axis * up).sum(dim=1, keepdim=True) * up
        x = torch.where(parallel, perpendicular, x)
        largest = torch.where(parallel, torch.ones_like(largest), largest)
    x = F.normalize(x / largest, dim=1)
    return torch.stack([x, torch.cross(z, x, dim=1), z], dim=2)


def look_at_view_transform(
    dist=1.0,
    elev=0.0,
    azim=0.0,
    degrees: bool = True,
    eye=None,
    at=((0, 0, 0),),
    up=((0, 1, 0),),
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """R and T of cameras looking at ``at``: from ``eye``, or from dist, elev, azim around at
    (see :func:`camera_position_from_spherical_angles`).

    Args:
        dist, elev, azim: numbers or (N,); ignored when eye is given.
        degrees: elev and azim are in degrees (else radians).
        eye, at, up: (3,) or (N, 3); see :func:`look_at_rotation`.
    Returns:
        R (N, 3, 3) and T (N, 3), with X_view = X_world R + T; ``at`` maps to (0, 0, |eye - at|).
    """
    op = "look_at_view_transform"
    if eye is not None:
        p = _broadcast(op, {"eye": (eye, (3,)), "at": (at, (3,)), "up": (up, (3,))}, device)
        eye, coincident = p["eye"], "eye == at"
    else:
        specs = {"dist": (dist, ()), "elev": (elev, ()), "azim": (azim, ())}
        p = _broadcast(op, {**specs, "at": (at, (3,)), "up": (up, (3,))}, device)
        offset = camera_position_from_spherical_angles(p["dist"], p["elev"], p["azim"], degrees)
        eye, coincident = offset + p["at"], "dist == 0"
    R = _look_at(op, coincident, eye, p["at"], p["up"])
    return R, -(eye[:, None] @ R)[:, 0]
