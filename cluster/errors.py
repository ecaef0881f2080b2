"""The project's one exception hierarchy: the library raises, ``cli`` maps to exit codes."""

from __future__ import annotations

__all__ = ["EconomyError", "InputError", "Interrupted", "OutputError", "ShapeError", "ShockError"]


class ShockError(Exception):
    """Base class of every error the project raises on purpose."""


class InputError(ShockError):
    """Bad user input (a file, a key, a value); the CLI exits with code 2."""


class EconomyError(InputError):
    """A baseline economy that cannot be simulated (negative flows, NaN, bad labels, ...)."""


class OutputError(InputError):
    """The run folder cannot be written (read-only, under a file, disk full, no such bucket); the CLI exits with
    code 2. Unlike other input errors it keeps the whole shards written before it, so the run can be resumed."""


class ShapeError(ShockError, ValueError):
    """Arrays handed to the core have inconsistent shapes or values (a programming error)."""


class Interrupted(ShockError):
    """A run stopped by a signal (SIGINT, SIGTERM) after writing the shards in flight; the CLI exits with
    128 + the signal's number (130, 143) and the message, which says how to resume."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
