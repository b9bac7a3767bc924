"""grok_azure.ray without Ray: a clear ImportError naming the extra; ``import grok_azure`` never loads Ray."""

from __future__ import annotations

import subprocess
import sys


def test_without_ray_the_import_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # as if Ray were not installed\n"
        "try:\n"
        "    import grok_azure.ray\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert 'pip install "grok-azure[ray]"' in out


def test_importing_grok_azure_does_not_import_ray() -> None:
    code = "import grok_azure, sys\nfrom grok_azure import AsyncGrokClient\nprint('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
