"""The import rules of DESIGN.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Package → rigidpose-internal packages it may import (DESIGN.md, "Who may import whom").
ALLOWED: dict[str, set[str]] = {
    "rigidpose.geometry": set(),
    "rigidpose.objects": {"rigidpose.geometry"},
    "rigidpose.bop": {"rigidpose.geometry", "rigidpose.objects"},
    "rigidpose.eval": {"rigidpose.geometry", "rigidpose.objects", "rigidpose.bop"},
    "rigidpose.net": {"rigidpose.geometry", "rigidpose.objects", "rigidpose.bop"},
    "rigidpose.estimate": {"rigidpose.geometry", "rigidpose.objects", "rigidpose.net"},
    "rigidpose.export": {"rigidpose.geometry", "rigidpose.net", "rigidpose.objects"},
    "synth": {"rigidpose.geometry", "rigidpose.objects", "rigidpose.bop"},
    "calibration": {"rigidpose.geometry"},
}
ALWAYS = {"rigidpose.errors", "rigidpose"}
INTERNAL = ("rigidpose", "synth", "calibration")
NO_HEAVY = {"rigidpose.geometry", "rigidpose.objects", "rigidpose.bop", "rigidpose.eval", "synth", "calibration"}


def _package_of(module: str) -> str | None:
    for pkg in ALLOWED:
        if module == pkg or module.startswith(pkg + "."):
            return pkg
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _modules():
    for root in INTERNAL:
        for path in sorted((REPO / root).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            yield ".".join(rel.parts).removesuffix(".__init__"), path


def test_packages_import_only_what_design_allows():
    violations = []
    for module, path in _modules():
        pkg = _package_of(module)
        if pkg is None:
            continue
        for imp in _imports(path):
            if not imp.startswith(INTERNAL) or imp in ALWAYS:
                continue
            target = _package_of(imp) or imp
            if target == pkg or target in ALLOWED[pkg]:
                continue
            violations.append(f"{module} imports {imp}")
    assert not violations, "imports that DESIGN.md does not allow:\n" + "\n".join(violations)


def test_nothing_imports_the_cli():
    users = [
        m for m, p in _modules()
        if not m.startswith("rigidpose.cli") and m != "rigidpose.__main__"
        and any(i.startswith("rigidpose.cli") for i in _imports(p))
    ]
    assert not users


def test_light_packages_do_not_pull_torch_ros_or_gl():
    present = [p for p in NO_HEAVY if (REPO / p.replace(".", "/")).is_dir()]
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {present!r}:\n"
        "    pkg = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(pkg.__path__, name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "heavy = [m for m in ('torch', 'rclpy', 'pyrender', 'moderngl', 'OpenGL', 'ray') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"heavy modules imported at import time: {out.stdout.strip()}"


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_cli_help_is_fast_and_light(argv):
    code = (
        "import sys\nfrom rigidpose.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('torch', 'open3d', 'trimesh', 'rclpy', 'pyrender') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "", out.stdout


def test_ros_node_is_an_adapter_over_estimate_and_geometry():
    """rigidpose_ros imports only rigidpose.geometry, rigidpose.estimate and rigidpose.errors."""
    allowed = ("rigidpose.geometry", "rigidpose.estimate", "rigidpose.errors")
    bad = []
    for path in sorted((REPO / "ros2_ws/src/rigidpose_ros/rigidpose_ros").glob("*.py")):
        for imp in _imports(path):
            if imp.startswith("rigidpose.") and not imp.startswith(allowed):
                bad.append(f"{path.name} imports {imp}")
    assert not bad, "\n".join(bad)
