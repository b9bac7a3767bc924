"""The public surface: every exported name resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import grok_azure


def test_every_public_name_resolves() -> None:
    for name in grok_azure.__all__:
        assert getattr(grok_azure, name) is not None, name


def test_dir_lists_the_public_names() -> None:
    assert set(grok_azure.__all__) <= set(dir(grok_azure))


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = grok_azure.Nope  # type: ignore[attr-defined]


def test_py_typed_marker_ships_with_the_package() -> None:
    from importlib.resources import files

    assert files("grok_azure").joinpath("py.typed").is_file()


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        ("import grok_azure", ["httpx", "pydantic", "azure.core", "asyncio"]),
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
