"""A run's draws and results in the formats of other tools: EMA Workbench's archive, SALib's problem and samples,
plain CSV.

* ``ema``: the tar.gz that ``ema_workbench.load_results(path)`` reads, written by ``ema_workbench.save_results``:
  experiments are one row per (scenario, policy) with every drawn parameter and the columns ``scenario`` (the
  scenario id), ``policy`` and ``model`` (the run's name); outcomes are one ``ScalarOutcome`` per metric and region,
  named ``METRIC.REGION`` (``va_loss_pct.RU-CEN``), aligned with the experiments' rows.
* ``salib``: a folder for one policy with ``problem.json`` (SALib's problem: ``num_vars``, ``names``, ``bounds``,
  the parameters that vary), the same problem in ``problem.txt`` (``SALib.util.read_param_file``'s format),
  ``X.csv`` (the parameters, one row per scenario in scenario order, which for a Saltelli run is SALib's sample
  layout), ``Y.csv`` (the metric, one column per region) and ``meta.json`` (run, design, policy, metric).
* ``csv``: a folder with ``results.csv`` and ``params.csv`` (every column; one policy's rows if given), streamed.

Bounds are the sample's ranges (the least and largest drawn value): a run records its config's distributions, not
their bounds per column, and SALib's analyses do not use the bounds (only its samplers do).

Nothing is written over an existing path unless ``overwrite``; every file is written under a temporary name
beside the target and renamed into place, so a failure leaves no half-written export.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cluster.analysis import METRICS
from cluster.errors import InputError, OutputError
from cluster.sensitivity import design_of
from cluster.store import Run

__all__ = ["FORMATS", "Format", "export"]

Format = Literal["ema", "salib", "csv"]
FORMATS: tuple[str, ...] = ("ema", "salib", "csv")
_KEYS = ("scenario_id", "policy")


def export(
    run: Run,
    fmt: Format,
    out: str,
    *,
    metrics: Sequence[str] | None = None,
    policy: str | None = None,
    overwrite: bool = False,
) -> list[str]:
    """Write ``run`` to ``out`` in ``fmt``; the paths of the files written.

    ``metrics`` are result metrics (``analysis.METRICS``): for ``ema`` the outcomes (default: every metric), for
    ``salib`` the one output (default ``va_loss_pct``; exactly one), for ``csv`` the result columns (default:
    every one). ``policy`` keeps one policy's rows (``salib`` needs one when the run has several). ``out`` is a
    file for ``ema`` (``.tar.gz``), a folder for the others.

    Raises
    ------
    InputError
        An unknown format, metric or policy, a path that exists (without ``overwrite``) or is remote.
    OutputError
        The export cannot be written there.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if "://" in out:
        raise InputError(f"cannot export to {out}: exports are written to a local path")
    if not out:
        raise InputError("name the export's path")
    chosen = list(metrics) if metrics is not None else None
    for m in chosen or []:
        if m not in METRICS:
            raise InputError(f"unknown metric {m!r}: choose one of {', '.join(METRICS)}")
    policies = [str(p) for p in run.manifest.get("policies") or []]
    if policy is not None and policy not in policies:
        raise InputError(f"unknown policy {policy!r} in run {run.path}: choose one of {', '.join(policies)}")
    target = Path(out)
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise InputError(f"{out} exists: choose another path, or overwrite it (--overwrite)")
    if fmt == "ema":
        names = _ema(run, target, chosen or list(METRICS), [policy] if policy else policies)
    elif fmt == "salib":
        if chosen is not None and len(chosen) != 1:
            raise InputError(f"a SALib export takes one metric, got {len(chosen)}: {', '.join(chosen)}")
        if policy is None and len(policies) != 1:
            raise InputError(f"a SALib export is of one policy: name one of {', '.join(policies)}")
        names = _salib(run, target, chosen[0] if chosen else "va_loss_pct", policy or policies[0])
    else:
        names = _csv(run, target, chosen, policy)
    return names


# ------------------------------------------------------------------------------------------------ writing --
def _fault(out: Path, err: OSError) -> OutputError:
    reason = os.strerror(err.errno) if err.errno else str(err)
    return OutputError(f"cannot write the export {out}: {reason}; choose another path")


@contextlib.contextmanager
def _staged(out: Path, *, folder: bool) -> Iterator[Path]:
    """A temporary path beside ``out`` to write to; renamed to ``out`` when the block ends well (replacing what
    was there), removed otherwise."""
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex}.tmp"
    try:
        if folder:
            tmp.mkdir(parents=False)
        yield tmp
        if folder and out.exists():  # a folder cannot be renamed over another: set the old one aside first
            old = out.parent / f".{out.name}.{uuid.uuid4().hex}.old"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        else:
            os.replace(tmp, out)
    except OSError as err:
        raise _fault(out, err) from err
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def _order(run: Run, policies: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """The run's scenario ids, sorted, and the policies kept, in the manifest's order."""
    ids = run.results().to_table(columns=["scenario_id"], filter=pc.field("policy") == policies[0])
    return np.unique(ids["scenario_id"].to_numpy()), list(policies)


def _ema(run: Run, out: Path, metrics: list[str], policies: list[str]) -> list[str]:
    import pandas as pd

    with warnings.catch_warnings():  # EMA Workbench warns about optional packages it lacks when imported
        warnings.simplefilter("ignore")
        from ema_workbench import save_results  # type: ignore[import-untyped]
        from ema_workbench.em_framework.outcomes import ScalarOutcome  # type: ignore[import-untyped]

    sids, pols = _order(run, policies)
    n_pol = len(pols)

    def row(scenario: pa.ChunkedArray, policy: pa.ChunkedArray) -> np.ndarray:
        """The experiment row of each (scenario, policy): scenario-major, policies in the manifest's order."""
        p = pc.index_in(policy, value_set=pa.array(pols)).to_numpy(zero_copy_only=False)
        return np.searchsorted(sids, scenario.to_numpy()) * n_pol + p  # type: ignore[no-any-return]

    keep = pc.is_in(pc.field("policy"), pa.array(pols))
    params = run.params().to_table(filter=keep)
    names = [n for n in params.column_names if n not in _KEYS]
    at = row(params["scenario_id"], params["policy"])
    columns: dict[str, object] = {}
    for n in names:
        values = np.full(len(sids) * n_pol, np.nan)
        values[at] = params[n].to_numpy()
        columns[n] = values
    columns["scenario"] = np.repeat(sids, n_pol)
    columns["policy"] = pd.Categorical(np.tile(np.array(pols, dtype=object), len(sids)), categories=pols)
    columns["model"] = pd.Categorical([str(run.manifest.get("name", "shock"))] * (len(sids) * n_pol))
    experiments = pd.DataFrame(columns)
    results = run.results().to_table(columns=["scenario_id", "policy", "region", *metrics], filter=keep)
    at = row(results["scenario_id"], results["policy"])
    regions = [str(r) for r in run.manifest.get("regions") or []]
    region = results["region"]
    outcomes: dict[str, np.ndarray] = {}
    for r in regions:
        mask = pc.equal(region, r).to_numpy(zero_copy_only=False)
        for m in metrics:
            values = np.full(len(sids) * n_pol, np.nan)
            values[at[mask]] = results[m].filter(pa.array(mask)).cast(pa.float64()).to_numpy(zero_copy_only=False)
            name = f"{m}.{r}"
            ScalarOutcome(name)  # EMA's register learns how to store it
            outcomes[name] = values
    with _staged(out, folder=False) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_results((experiments, outcomes), str(tmp))
    return [str(out)]


def _salib(run: Run, out: Path, metric: str, policy: str) -> list[str]:
    from cluster.sensitivity import outcome

    regions = [str(r) for r in run.manifest.get("regions") or []]
    x, first = outcome(run, metric, policy=policy, region=regions[0])
    ys = [first] + [outcome(run, metric, policy=policy, region=r)[1] for r in regions[1:]]
    names = list(x)
    if not names:
        raise InputError(f"no drawn parameter of run {run.path} varies: there is no problem to export")
    matrix = np.column_stack([x[n] for n in names])
    bounds = [[float(lo), float(hi)] for lo, hi in zip(matrix.min(axis=0), matrix.max(axis=0), strict=True)]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    meta = {
        "run": run.path,
        "design": design_of(run),
        "policy": policy,
        "metric": metric,
        "scenarios": int(matrix.shape[0]),
        "outputs": regions,
        "bounds": "the sample's ranges (least and largest drawn value)",
    }

    def text(content: str) -> Callable[[Path], None]:
        def write(p: Path) -> None:
            p.write_text(content)

        return write

    def table(values: np.ndarray, header: list[str]) -> Callable[[Path], None]:
        return lambda p: np.savetxt(p, values, delimiter=",", header=",".join(header), comments="", fmt="%.17g")

    param_file = "".join(f"{n} {lo!r} {hi!r}\n" for n, (lo, hi) in zip(names, bounds, strict=True))
    files: dict[str, Callable[[Path], None]] = {
        "problem.json": text(json.dumps(problem, indent=2) + "\n"),
        "problem.txt": text(param_file),
        "X.csv": table(matrix, names),
        "Y.csv": table(np.column_stack(ys), regions),
        "meta.json": text(json.dumps(meta, indent=2) + "\n"),
    }
    for name in names:
        if " " in name:  # read_param_file splits on whitespace
            raise InputError(f"parameter {name!r} has a space: SALib's parameter file cannot hold it")
    with _staged(out, folder=True) as tmp:
        for name, write in files.items():
            write(tmp / name)
    return [str(out / name) for name in files]


def _csv(run: Run, out: Path, metrics: list[str] | None, policy: str | None) -> list[str]:
    where = None if policy is None else pc.field("policy") == policy
    columns = None if metrics is None else ["scenario_id", "policy", "region", *metrics]
    tables = {"results.csv": (run.results(), columns), "params.csv": (run.params(), None)}
    with _staged(out, folder=True) as tmp:
        for name, (dataset, cols) in tables.items():
            scanner = dataset.scanner(columns=cols, filter=where)
            with pacsv.CSVWriter(str(tmp / name), scanner.projected_schema) as writer:
                for batch in scanner.to_batches():
                    writer.write_batch(batch)
    return [str(out / name) for name in tables]
