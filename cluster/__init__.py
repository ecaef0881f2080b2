"""shock: Monte Carlo sanction-shock scenarios through a multi-regional input-output economy."""

__version__ = "0.1.0"
__all__ = ["__version__"]
