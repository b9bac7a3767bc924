"""The public surface: every exported name resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import grok_azure


def test_every_public_name_is_the_object_its_module_defines() -> None:
    from importlib import import_module

    lazy = grok_azure._LAZY
    assert set(grok_azure.__all__) == set(lazy) | {"__version__"}
    for name, module_name in lazy.items():
        module = import_module(module_name, "grok_azure")
        assert getattr(grok_azure, name) is getattr(module, name), name


def test_every_exception_class_is_public() -> None:
    from grok_azure import _errors

    exceptions = {
        name
        for name, value in vars(_errors).items()
        if isinstance(value, type) and issubclass(value, Exception) and not name.startswith("_")
    }
    assert exceptions <= set(grok_azure.__all__)
    for name in exceptions:
        assert issubclass(getattr(grok_azure, name), grok_azure.GrokError), name


def test_public_modules_start_without_underscore_only_where_meant() -> None:
    from pathlib import Path

    package = Path(grok_azure.__file__).parent
    public = sorted(
        p.name for p in package.iterdir() if not p.name.startswith(("_", ".")) and p.name != "py.typed"
    )
    assert public == ["otel", "ray", "resources", "testing", "types"]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = grok_azure.Nope  # type: ignore[attr-defined]


def test_py_typed_marker_ships_with_the_package() -> None:
    from importlib.resources import files

    assert files("grok_azure").joinpath("py.typed").is_file()


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import grok_azure", ["httpx", "pydantic", "azure.core", "asyncio", "ray"]),
        (
            "from grok_azure import GrokClient",
            ["azure.core", "azure.identity", "aiohttp", "starlette", "asyncio"],
        ),
        ("import grok_azure.testing._pytest_plugin", ["httpx", "starlette", "uvicorn"]),
    ],
)
def test_imports_load_only_what_they_need(code: str, absent: list[str]) -> None:
    check = f"{code}\nimport sys\nprint(','.join(m for m in {absent!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""
