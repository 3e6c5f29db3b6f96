"""The project's shape: the engine never imports streamlit; Ray only when configured."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO


def test_no_file_under_cnn_imports_streamlit():
    offenders = []
    for path in (REPO / "cnn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                offenders.append(path.name)
    assert offenders == []


def test_ray_is_imported_only_when_a_cluster_is_configured():
    """Community Cloud installs no Ray: the engine and the default backend must not need it."""
    code = (
        "import sys\n"
        "import cnn.cli, cnn.export, cnn.training\n"
        "from cnn.training import training_backend\n"
        "runner, slots = training_backend()\n"
        "assert runner is None and 'ray' not in sys.modules, sorted(sys.modules)\n"
    )
    env_free = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env_free,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_record_and_its_neighbours_import_on_their_own():
    """A library user's first import may be any of these: each in a fresh interpreter (until
    2026-12-07 `import cnn.record` alone failed on a circle through cnn.training)."""
    for module in ("cnn.record", "cnn.artifacts", "cnn.ood", "cnn.training.config",
                   "cnn.photo_embedder", "cnn.pth_reader"):  # fmt: skip
        done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, f"import {module}: {done.stderr[-1500:]}"
