"""The project's one exception hierarchy: the library raises, ``cli`` maps to exit codes."""

from __future__ import annotations

__all__ = ["EconomyError", "InputError", "ShapeError", "ShockError"]


class ShockError(Exception):
    """Base class of every error the project raises on purpose."""


class InputError(ShockError):
    """Bad user input (a file, a key, a value); the CLI exits with code 2."""


class EconomyError(InputError):
    """A baseline economy that cannot be simulated (negative flows, NaN, bad labels, ...)."""


class ShapeError(ShockError, ValueError):
    """Arrays handed to the core have inconsistent shapes or values (a programming error)."""
