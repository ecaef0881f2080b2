"""shock: Monte Carlo sanction-shock scenarios through a multi-regional input-output economy.

The library entry points are ``run_config`` (a config to a run folder) and ``run_in_memory`` (a config to
tables); they are imported on first use, so ``import cluster.core`` stays free of pyarrow and Ray.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "run_config", "run_in_memory"]


def __getattr__(name: str) -> Any:
    if name in ("run_config", "run_in_memory"):
        from cluster import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'cluster' has no attribute {name!r}")
