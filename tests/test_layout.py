"""The project's shape: the engine never imports streamlit."""

from __future__ import annotations

import ast

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
