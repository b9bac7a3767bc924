"""The product does not depend on its test package, and the command starts without azure.core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grok_azure

PACKAGE = Path(grok_azure.__file__).parent
TESTING = PACKAGE / "testing"


def product_modules() -> list[Path]:
    return [path for path in sorted(PACKAGE.rglob("*.py")) if TESTING not in path.parents]


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    package = ".".join(("grok_azure", *path.relative_to(PACKAGE).with_suffix("").parts[:-1]))
    base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
    return ".".join([*base, node.module] if node.module else base)


def imports_of_testing(path: Path) -> list[tuple[str | None, str]]:
    """(enclosing function or None for module level, imported module) for every import in ``path``."""
    found: list[tuple[str | None, str]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Import):
                found.extend((function, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(path, child)
                found.extend(
                    (function, name) for name in [module, *(f"{module}.{a.name}" for a in child.names)]
                )
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return [(function, name) for function, name in found if name.startswith("grok_azure.testing")]


def test_the_scan_sees_relative_imports_of_the_test_package() -> None:
    # The check below is only as good as this: testing's own modules import each other relatively.
    assert (None, "grok_azure.testing._target") in imports_of_testing(TESTING / "__init__.py")


def test_no_product_module_imports_grok_azure_testing() -> None:
    # Not at module level, not inside a function, not under TYPE_CHECKING: the emulator the command runs is
    # product code (grok_azure._emulator); grok_azure.testing only re-exports it for tests.
    offenders = {
        (str(path.relative_to(PACKAGE)), function, name)
        for path in product_modules()
        for function, name in imports_of_testing(path)
    }
    assert offenders == set()


def test_the_command_starts_without_azure_core_or_the_emulator() -> None:
    code = (
        "import sys, grok_azure._cli\n"
        "print(','.join(m for m in ('azure.core', 'azure.identity', 'starlette', 'grok_azure.testing') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
