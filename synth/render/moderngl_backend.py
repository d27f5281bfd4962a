"""moderngl (EGL) renderer: one pass writes RGB, int32 instance id and metric depth.

The projection is mirrored in y (``gl_projection(..., top_row_first=True)``) so that
GL rows come back in image order without a flip. Depth is the camera-frame ``z`` written by the fragment shader into an R32F target
(exact metric depth along the optical axis, not NDC and not ray length).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

import cv2

from synth.render.glcam import gl_modelview, gl_projection, light_direction_gl, projected_bbox
from synth.render.types import RenderMesh, RenderOutput, RenderScene

MAX_LIGHTS = 4

_VERT = """
#version 330
uniform mat4 mvp;
uniform mat4 mv;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_color;
out vec3 v_normal;
out vec3 v_color;
out float v_z;
void main() {
    vec4 p = mv * vec4(in_pos, 1.0);
    v_z = -p.z;
    v_normal = mat3(mv) * in_normal;
    v_color = in_color;
    gl_Position = mvp * vec4(in_pos, 1.0);
}
"""

_FRAG = """
#version 330
uniform vec3 albedo;
uniform int inst;
uniform float ambient;
uniform int n_lights;
uniform vec3 light_dir[4];
uniform vec3 light_col[4];
in vec3 v_normal;
in vec3 v_color;
in float v_z;
layout(location = 0) out vec4 f_color;
layout(location = 1) out int f_id;
layout(location = 2) out float f_depth;
void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    vec3 light = vec3(ambient);
    for (int i = 0; i < n_lights; ++i) light += light_col[i] * max(dot(n, -light_dir[i]), 0.0);
    f_color = vec4(clamp(albedo * v_color * light, 0.0, 1.0), 1.0);
    f_id = inst + 1;
    f_depth = v_z;
}
"""

_FRAG_DEPTH = """
#version 330
in float v_z;
layout(location = 0) out float f_depth;
void main() { f_depth = v_z; }
"""

_VERT_DEPTH = """
#version 330
uniform mat4 mvp;
uniform mat4 mv;
in vec3 in_pos;
out float v_z;
void main() { v_z = -(mv * vec4(in_pos, 1.0)).z; gl_Position = mvp * vec4(in_pos, 1.0); }
"""


def scene_box(scene: RenderScene) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` (exclusive ends) holding the projected bounding box of
    every object of ``scene`` (the whole image if one is partly behind the camera); empty
    (``x1 <= x0``) when there are no objects."""
    cam = scene.camera
    boxes = [projected_bbox(cam, o.mesh.corners @ o.T_cam_obj[:3, :3].T + o.T_cam_obj[:3, 3]) for o in scene.objects]
    if not boxes:
        return 0, 0, 0, 0
    b = np.array(boxes)
    return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())


def _f32(m: np.ndarray) -> bytes:
    """Column-major float32 bytes of a matrix, as GLSL expects."""
    return np.ascontiguousarray(m.T, dtype=np.float32).tobytes()


class ModernglRenderer:
    """Headless EGL renderer. Make one per process (it owns a GL context)."""

    name = "moderngl"

    def __init__(self, backend: str = "egl") -> None:
        import moderngl

        self._mgl = moderngl
        self.ctx = moderngl.create_standalone_context(backend=backend)
        self.ctx.enable(moderngl.DEPTH_TEST)
        self.ctx.front_face = "cw"  # the y-mirrored projection flips the winding
        self.prog = self.ctx.program(vertex_shader=_VERT, fragment_shader=_FRAG)
        self.prog_depth = self.ctx.program(vertex_shader=_VERT_DEPTH, fragment_shader=_FRAG_DEPTH)
        self._vaos: dict[str, tuple] = {}
        self._size: tuple[int, int] | None = None

    # --- resources ------------------------------------------------------------------
    def _ensure_size(self, w: int, h: int) -> None:
        if self._size == (w, h):
            return
        ctx = self.ctx
        self.fbo = ctx.framebuffer(
            color_attachments=[
                ctx.renderbuffer((w, h), components=4),
                ctx.renderbuffer((w, h), components=1, dtype="i4"),
                ctx.renderbuffer((w, h), components=1, dtype="f4"),
            ],
            depth_attachment=ctx.depth_renderbuffer((w, h)),
        )
        self._size = (w, h)

    def _vao(self, mesh: RenderMesh) -> tuple:
        hit = self._vaos.get(mesh.key)
        if hit is not None:
            return hit
        ctx = self.ctx
        colors = mesh.colors if mesh.colors is not None else np.ones_like(mesh.vertices)
        vbo_p = ctx.buffer(mesh.vertices.tobytes())
        vbo_n = ctx.buffer(mesh.normals.tobytes())
        vbo_c = ctx.buffer(np.ascontiguousarray(colors, dtype=np.float32).tobytes())
        ibo = ctx.buffer(mesh.faces.astype(np.uint32).tobytes())
        vao = ctx.vertex_array(
            self.prog,
            [(vbo_p, "3f", "in_pos"), (vbo_n, "3f", "in_normal"), (vbo_c, "3f", "in_color")],
            index_buffer=ibo,
            index_element_size=4,
        )
        vao_d = ctx.vertex_array(self.prog_depth, [(vbo_p, "3f", "in_pos")], index_buffer=ibo, index_element_size=4)
        self._vaos[mesh.key] = (vao, vao_d)
        return vao, vao_d

    # --- rendering ------------------------------------------------------------------
    def render(self, scene: RenderScene) -> RenderOutput:
        """One pass into RGB, id and depth targets. Only the box that holds every object's
        projected bounding box is cleared, drawn (scissored) and read back; outside it the
        output is what an empty frame gives (background, id -1, depth 0), so it equals a
        full-frame render while skipping most of the clear and read-back work."""
        cam = scene.camera
        w, h = cam.width, cam.height
        self._ensure_size(w, h)
        rgb = scene.background.copy() if scene.background is not None else np.zeros((h, w, 3), np.uint8)
        ids = np.full((h, w), -1, np.int32)
        depth = np.zeros((h, w), np.float32)
        x0, y0, x1, y1 = scene_box(scene)
        if x1 <= x0 or y1 <= y0:
            return RenderOutput(rgb, depth, ids)
        box = (x0, y0, x1 - x0, y1 - y0)  # GL window rows = image rows (y-mirrored projection)
        P = gl_projection(cam, *scene.clip_range, top_row_first=True)
        self.fbo.use()
        self.fbo.viewport = (0, 0, w, h)
        self.fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=box)
        self.ctx.scissor = box
        lights = scene.lights[:MAX_LIGHTS]
        self.prog["ambient"].value = float(scene.ambient)
        self.prog["n_lights"].value = len(lights)
        if lights:
            dirs = [tuple(light_direction_gl(li.direction_cam)) for li in lights]
            cols = [tuple(np.asarray(li.color, float) * li.intensity) for li in lights]
            pad = [(0.0, 0.0, 0.0)] * (MAX_LIGHTS - len(lights))
            self.prog["light_dir"].value = dirs + pad
            self.prog["light_col"].value = cols + pad
        for obj in scene.objects:
            vao, _ = self._vao(obj.mesh)
            MV = gl_modelview(obj.T_cam_obj)
            self.prog["mv"].write(_f32(MV))
            self.prog["mvp"].write(_f32(P @ MV))
            self.prog["albedo"].value = tuple(float(a) for a in obj.albedo)
            self.prog["inst"].value = int(obj.instance_id)
            vao.render()
        self.ctx.scissor = None
        bw, bh = box[2], box[3]
        rgba, ids_c, depth_c = np.empty((bh, bw, 4), np.uint8), np.empty((bh, bw), np.int32), np.empty((bh, bw), np.float32)
        self.fbo.read_into(rgba, viewport=box, components=4, attachment=0)
        self.fbo.read_into(ids_c, viewport=box, components=1, attachment=1, dtype="i4")
        self.fbo.read_into(depth_c, viewport=box, components=1, attachment=2, dtype="f4")
        win = np.s_[y0:y1, x0:x1]
        np.subtract(ids_c, 1, out=ids[win])
        depth[win] = depth_c
        if scene.background is None:  # the clear colour is black, as the background is
            rgb[win] = cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)
        else:
            cv2.copyTo(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB), (ids_c > 0).view(np.uint8), rgb[win])
        return RenderOutput(rgb, depth, ids)

    def render_object_depth(self, scene: RenderScene, index: int) -> NDArray[np.float32]:
        return self.render_object_depths(scene, [index])[0]

    def _atlas(self, w: int, h: int) -> int:
        """A depth framebuffer of ``n`` stacked (w, h) tiles; returns ``n``."""
        n = max(1, min(16, self.ctx.info["GL_MAX_RENDERBUFFER_SIZE"] // h))
        if getattr(self, "_atlas_size", None) != (w, h):
            self.fbo_atlas = self.ctx.framebuffer(
                color_attachments=[self.ctx.renderbuffer((w, h * n), components=1, dtype="f4")],
                depth_attachment=self.ctx.depth_renderbuffer((w, h * n)),
            )
            self._atlas_size, self._atlas_n = (w, h), n
        return self._atlas_n

    def render_object_depths(self, scene: RenderScene, indices: list[int]) -> list[NDArray[np.float32]]:
        """Depth of each ``scene.objects[i]`` rendered alone: all drawn into tiles of one
        framebuffer (each clipped to the object's projected box), then read back, so the
        CPU waits for the rasteriser once per batch instead of once per object."""
        cam = scene.camera
        w, h = cam.width, cam.height
        n_tiles = self._atlas(w, h)
        P = gl_projection(cam, *scene.clip_range, top_row_first=True)
        outs = [np.zeros((h, w), np.float32) for _ in indices]
        for b0 in range(0, len(indices), n_tiles):
            batch = []
            self.fbo_atlas.use()
            for t, k in enumerate(range(b0, min(b0 + n_tiles, len(indices)))):
                obj = scene.objects[indices[k]]
                T = obj.T_cam_obj
                x0, y0, x1, y1 = projected_bbox(cam, obj.mesh.corners @ T[:3, :3].T + T[:3, 3])
                if x1 <= x0 or y1 <= y0:
                    continue
                box = (x0, t * h + y0, x1 - x0, y1 - y0)
                self.fbo_atlas.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=box)
                self.fbo_atlas.viewport = (0, t * h, w, h)
                self.ctx.scissor = box
                MV = gl_modelview(T)
                self.prog_depth["mv"].write(_f32(MV))
                self.prog_depth["mvp"].write(_f32(P @ MV))
                self._vao(obj.mesh)[1].render()
                batch.append((k, box))
            self.ctx.scissor = None
            for k, (x, y, bw, bh) in batch:
                crop = np.frombuffer(self.fbo_atlas.read(viewport=(x, y, bw, bh), components=1, dtype="f4"), np.float32)
                y0 = y % h
                outs[k][y0 : y0 + bh, x : x + bw] = crop.reshape(bh, bw)
        return outs

    def close(self) -> None:
        for vao, vao_d in self._vaos.values():
            vao.release()
            vao_d.release()
        self._vaos.clear()
        self.ctx.release()
