"""The pinhole camera value type :class:`Camera` (OpenCV frame: x right, y down, z forward).

Pixel convention: integer coordinates are pixel centres, so pixel ``(0, 0)`` covers
``[-0.5, 0.5]²``. Resizing by ``s`` therefore maps ``u → s·(u + 0.5) − 0.5``.
Distortion acts on normalised coordinates, so it is unchanged by scaling and cropping.
"""

from __future__ import annotations

from dataclasses import dataclass

import os

import cv2
import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

#: Distortion models and their coefficient counts (ROS ``distortion_model`` names).
DISTORTION_MODELS: dict[str, tuple[int, ...]] = {
    "plumb_bob": (4, 5),  # k1 k2 p1 p2 [k3]
    "rational_polynomial": (8, 12, 14),  # k1 k2 p1 p2 k3 k4 k5 k6 [s1..s4 [tx ty]]
    "equidistant": (4,),  # fisheye k1..k4
}
_ALIASES = {"fisheye": "equidistant", "kannala_brandt": "equidistant", "radtan": "plumb_bob"}


@dataclass(frozen=True, eq=False)
class Camera:
    """Intrinsics of a pinhole camera with optional lens distortion.

    Attributes:
        K: (3, 3) intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
        width: image width in pixels.
        height: image height in pixels.
        distortion_model: ``plumb_bob``, ``rational_polynomial`` or ``equidistant``.
        dist: (n,) distortion coefficients in OpenCV order; empty or zeros for none.
    """

    K: F64
    width: int
    height: int
    distortion_model: str = "plumb_bob"
    dist: F64 | tuple = ()

    def __post_init__(self) -> None:
        K = np.array(self.K, dtype=np.float64)
        if K.shape != (3, 3) or not np.all(np.isfinite(K)):
            raise ValueError(f"K must be a finite (3, 3) matrix, got shape {K.shape}")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"focal lengths must be positive, got fx={K[0, 0]}, fy={K[1, 1]}")
        if not np.allclose(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
            raise ValueError(f"K must be upper triangular with last row [0 0 1], got {K.tolist()}")
        if int(self.width) != self.width or int(self.height) != self.height:
            raise ValueError("width and height must be integers")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size must be positive, got {self.width}x{self.height}")
        model = _ALIASES.get(self.distortion_model, self.distortion_model)
        if model not in DISTORTION_MODELS:
            raise ValueError(
                f"unknown distortion model {self.distortion_model!r}; "
                f"use one of {sorted(DISTORTION_MODELS)}"
            )
        dist = np.array(self.dist, dtype=np.float64).reshape(-1)
        if dist.size == 0 or not np.any(dist):
            dist = np.zeros(4 if model == "equidistant" else 5)
        if dist.size not in DISTORTION_MODELS[model] or not np.all(np.isfinite(dist)):
            raise ValueError(
                f"{model} takes {DISTORTION_MODELS[model]} finite coefficients, got {dist.size}"
            )
        K.setflags(write=False)
        dist.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "distortion_model", model)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    # --- convenience --------------------------------------------------------------
    @classmethod
    def from_fov(cls, width: int, height: int, fov_x_deg: float) -> Camera:
        """An ideal camera with square pixels, the principal point at the centre."""
        f = 0.5 * width / np.tan(np.deg2rad(fov_x_deg) / 2.0)
        K = [[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]]
        return cls(np.array(K), width, height)

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return self.width, self.height

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist))

    def without_distortion(self) -> Camera:
        return Camera(self.K, self.width, self.height, self.distortion_model, np.zeros(0))

    # --- projection ---------------------------------------------------------------
    def project(self, points_cam: ArrayLike) -> F64:
        """Project points (N, 3) in the camera frame (metres) to pixels (N, 2).

        Points with ``z <= 0`` (behind the camera) project to NaN.
        """
        p = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        out = np.full((p.shape[0], 2), np.nan)
        front = p[:, 2] > 1e-12
        if not np.any(front):
            return out
        pf = p[front]
        if not self.has_distortion:
            uv = pf[:, :2] / pf[:, 2:3]
            out[front] = uv @ self.K[:2, :2].T + self.K[:2, 2]
        elif self.distortion_model == "equidistant":
            uv, _ = cv2.fisheye.projectPoints(
                pf.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.K, self.dist
            )
            out[front] = uv.reshape(-1, 2)
        else:
            uv, _ = cv2.projectPoints(pf, np.zeros(3), np.zeros(3), self.K, self.dist)
            out[front] = uv.reshape(-1, 2)
        return out

    def undistort_points(self, uv: ArrayLike) -> F64:
        """Distorted pixels (N, 2) → pixels (N, 2) of the ideal pinhole camera with the same K."""
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        if not self.has_distortion or uv.shape[0] == 0:
            return uv.copy()
        src = uv.reshape(-1, 1, 2)
        if self.distortion_model == "equidistant":
            out = cv2.fisheye.undistortPoints(src, self.K, self.dist, P=self.K)
        else:
            crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10)
            undistort = getattr(cv2, "undistortPointsIter", None)  # OpenCV 4.x name of this overload
            if undistort is not None:
                out = undistort(src, self.K, self.dist, None, self.K, crit)
            else:  # pragma: no cover - OpenCV 5.x
                out = cv2.undistortPoints(src, self.K, self.dist, R=None, P=self.K, criteria=crit)
        return out.reshape(-1, 2)

    def rays(self, uv: ArrayLike) -> F64:
        """Pixels (N, 2) → viewing rays (N, 3) with ``z = 1`` (distortion removed)."""
        u = self.undistort_points(uv)
        x = (u[:, 0] - self.cx - self.K[0, 1] * (u[:, 1] - self.cy) / self.fy) / self.fx
        y = (u[:, 1] - self.cy) / self.fy
        return np.stack([x, y, np.ones_like(x)], axis=1)

    def backproject_pixels(self, uv: ArrayLike, z: ArrayLike) -> F64:
        """Pixels (N, 2) with depths ``z`` (N,) in metres along the optical axis → points (N, 3)."""
        return self.rays(uv) * np.asarray(z, dtype=np.float64).reshape(-1, 1)

    def backproject(self, depth: ArrayLike) -> F64:
        """Depth image (H, W) in metres → point map (H, W, 3) in the camera frame.

        ``z`` is the distance along the optical axis. Pixels with invalid depth
        (0, negative or non-finite) give ``(0, 0, 0)``.
        """
        d = np.asarray(depth, dtype=np.float64)
        if d.shape != (self.height, self.width):
            raise ValueError(
                f"depth is {d.shape[1] if d.ndim == 2 else '?'}x{d.shape[0]} but the camera "
                f"is {self.width}x{self.height}"
            )
        d = np.where(np.isfinite(d) & (d > 0), d, 0.0)
        v, u = np.mgrid[0 : self.height, 0 : self.width]
        uv = np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)
        return self.backproject_pixels(uv, d.ravel()).reshape(self.height, self.width, 3)

    def check_image(self, image: ArrayLike, what: str = "image") -> None:
        """Raise ``ValueError`` unless ``image`` is (height, width[, C])."""
        shape = np.shape(image)
        if len(shape) < 2 or shape[:2] != (self.height, self.width):
            got = f"{shape[1]}x{shape[0]}" if len(shape) >= 2 else str(shape)
            raise ValueError(f"{what} is {got} but the camera is {self.width}x{self.height}")

    # --- derived cameras ----------------------------------------------------------
    def scaled(self, factor: float) -> Camera:
        """The camera for the image resized by ``factor`` (pixel-centre convention)."""
        if not factor > 0:
            raise ValueError(f"scale factor must be positive, got {factor}")
        S = np.diag([factor, factor, 1.0])
        S[:2, 2] = 0.5 * factor - 0.5
        w = max(1, int(round(self.width * factor)))
        h = max(1, int(round(self.height * factor)))
        return Camera(S @ self.K, w, h, self.distortion_model, self.dist)

    def crop_affine(self, bbox: ArrayLike, out_size: tuple[int, int] | None = None) -> F64:
        """(2, 3) affine map from image pixels to the pixels of a crop.

        Args:
            bbox: (4,) ``x, y, w, h`` in pixels; ``(x, y)`` is the top-left pixel of the crop.
            out_size: ``(W, H)`` of the resized crop; ``None`` keeps ``(w, h)``.

        Use this same matrix with ``cv2.warpAffine`` so that images and :meth:`cropped`
        intrinsics always agree.
        """
        x, y, w, h = (float(v) for v in np.reshape(bbox, 4))
        if w <= 0 or h <= 0:
            raise ValueError(f"crop box must have positive size, got w={w}, h={h}")
        W, H = (w, h) if out_size is None else out_size
        sx, sy = W / w, H / h
        return np.array([[sx, 0.0, sx * (0.5 - x) - 0.5], [0.0, sy, sy * (0.5 - y) - 0.5]])

    def cropped(self, bbox: ArrayLike, out_size: tuple[int, int] | None = None) -> Camera:
        """The camera of the crop ``bbox`` (x, y, w, h) resized to ``out_size`` (W, H)."""
        A = np.vstack([self.crop_affine(bbox, out_size), [0.0, 0.0, 1.0]])
        _, _, w, h = np.reshape(bbox, 4)
        W, H = (int(round(w)), int(round(h))) if out_size is None else out_size
        return Camera(A @ self.K, W, H, self.distortion_model, self.dist)

    # --- serialisation ------------------------
    def to_ros_dict(self, camera_name: str = "camera") -> dict:
        """ROS ``camera_info`` YAML content as a dict (as written by camera_calibration)."""
        P = np.zeros((3, 4))
        P[:, :3] = self.K
        return {
            "image_width": self.width,
            "image_height": self.height,
            "camera_name": camera_name,
            "camera_matrix": {"rows": 3, "cols": 3, "data": self.K.ravel().tolist()},
            "distortion_model": self.distortion_model,
            "distortion_coefficients": {"rows": 1, "cols": int(self.dist.size), "data": self.dist.tolist()},
            "rectification_matrix": {"rows": 3, "cols": 3, "data": np.eye(3).ravel().tolist()},
            "projection_matrix": {"rows": 3, "cols": 4, "data": P.ravel().tolist()},
        }

    @classmethod
    def from_ros_dict(cls, d: dict) -> Camera:
        """From ROS ``camera_info`` YAML content. Raises ``ValueError`` naming the bad field."""
        if not isinstance(d, dict):
            raise ValueError("camera_info YAML must be a mapping")
        try:
            K = np.asarray(d["camera_matrix"]["data"], dtype=np.float64).reshape(3, 3)
            dist = np.asarray(d.get("distortion_coefficients", {}).get("data", []), dtype=np.float64)
            return cls(K, int(d["image_width"]), int(d["image_height"]), d.get("distortion_model", "plumb_bob"), dist)
        except KeyError as exc:
            raise ValueError(f"camera_info is missing the field {exc.args[0]!r}") from None
        except (TypeError, AttributeError):
            raise ValueError("camera_info fields have the wrong type (expected rows/cols/data mappings)") from None

    @classmethod
    def from_ros_yaml(cls, path: str | os.PathLike) -> Camera:
        """Read a ROS ``camera_info`` YAML file (the calibration output)."""
        from rigidpose.errors import RigidposeError

        try:
            with open(path, encoding="utf-8") as f:
                d = yaml.safe_load(f)
        except FileNotFoundError:
            raise RigidposeError(f"camera file not found: {path}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise RigidposeError(f"cannot parse camera file {path}: {str(exc).splitlines()[0]}") from None
        try:
            return cls.from_ros_dict(d)
        except ValueError as exc:
            raise RigidposeError(f"invalid camera file {path}: {exc}") from None

    def to_ros_yaml(self, path: str | os.PathLike, camera_name: str = "camera") -> None:
        """Write a ROS ``camera_info`` YAML file."""
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(self.to_ros_dict(camera_name), f, sort_keys=False, default_flow_style=None)

    @classmethod
    def from_cam_K(cls, cam_K: ArrayLike, width: int, height: int) -> Camera:
        """From BOP's ``cam_K`` (9 values, row-major) and the image size."""
        return cls(np.asarray(cam_K, dtype=np.float64).reshape(3, 3), width, height)

    def to_cam_K(self) -> list[float]:
        """BOP's ``cam_K``: 9 values, row-major."""
        return self.K.ravel().tolist()

    def __repr__(self) -> str:
        d = f", {self.distortion_model}={np.round(self.dist, 5).tolist()}" if self.has_distortion else ""
        return (
            f"Camera({self.width}x{self.height}, fx={self.fx:.2f}, fy={self.fy:.2f}, "
            f"cx={self.cx:.2f}, cy={self.cy:.2f}{d})"
        )
