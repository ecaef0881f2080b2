"""Which BLAS a benchmark runs, for the figures it prints: ``blas_line()``.

numpy's OpenBLAS picks its kernels for the processor it finds. ``OPENBLAS_CORETYPE`` in the environment overrides
that choice (some machines set it, with ``OPENBLAS_L2_SIZE``, for old OpenBLAS builds that fail on their processor),
and older kernels run the core's matrix products at about half the speed. A benchmark names the kernel it ran, and
when one is forced, the kernel this processor gets without it, so that its figures can be told apart:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python scripts/bench_core.py   # the processor's own kernel
"""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = (
    "import numpy, threadpoolctl; print(next((i.get('architecture', '?') for i in threadpoolctl.threadpool_info()"
    " if 'numpy' in str(i.get('filepath', ''))), '?'))"
)


def _own_kernel() -> str:
    """The kernel OpenBLAS picks on this processor when nothing forces one (asked of a fresh process)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
    return done.stdout.strip() or "?"


def blas_line() -> str:
    """``BLAS: <library> <version>, kernel <name>, <threads> thread(s)`` for this process, noting a forced kernel."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)
    from threadpoolctl import threadpool_info

    info = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not info:
        return "BLAS: none found by threadpoolctl"
    # numpy's own (scipy, loaded by BoARIO and pymrio, brings another OpenBLAS): the one the core's products run on.
    first = next((i for i in info if "numpy" in str(i.get("filepath", ""))), info[0])
    kernel = first.get("architecture", "?")
    threads = first.get("num_threads")
    line = f"BLAS: {first.get('internal_api')} {first.get('version')}, kernel {kernel}, {threads} thread(s)"
    forced = os.environ.get("OPENBLAS_CORETYPE")
    if forced:
        own = _own_kernel()
        line += (
            f"; forced by OPENBLAS_CORETYPE={forced} (this processor's own: {own}"
            + ("" if own == kernel else "; these figures are not this machine's best, see scripts/blas.py")
            + ")"
        )
    return line
