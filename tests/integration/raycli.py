"""Helpers shared by the tests that start Ray heads of their own with the ``ray`` command.

Test modules import them as ``from raycli import ...`` (pytest puts the test folder on ``sys.path``).
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_cli() -> str:
    """The ``ray`` command beside this Python (skips the test when it is not installed)."""
    found = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if found is None:
        pytest.skip("the ray command is not installed beside this Python")
    return found
