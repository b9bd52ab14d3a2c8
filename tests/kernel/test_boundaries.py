"""The shared kernel imports no domain: the arrows point from the domains to it."""

from __future__ import annotations

import ast
from pathlib import Path

import reos.kernel

#: What the kernel may build on besides itself: storage plumbing and typed errors.
ALLOWED = ("reos.kernel", "reos.db", "reos.models", "reos.errors", "reos.config")


def test_the_kernel_imports_no_domain() -> None:
    root = Path(reos.kernel.__file__).parent
    imported: list[str] = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.append(f"{path.name}: {node.module}")
            elif isinstance(node, ast.Import):
                imported.extend(f"{path.name}: {alias.name}" for alias in node.names)
    reos_imports = [i for i in imported if i.split(": ")[1].startswith("reos")]
    assert reos_imports, "the scan found the kernel's imports"
    outside = [i for i in reos_imports if not i.split(": ")[1].startswith(ALLOWED)]
    assert outside == []
