"""The ``shock`` command line: the only place that prints or turns errors into exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from cluster import __version__
from cluster.core import DAYS_PER_YEAR
from cluster.economies import DEFAULT_ECONOMY, EMBEDDED, load, resolve
from cluster.economy import Economy, format_economy
from cluster.errors import InputError, Interrupted
from cluster.loaders import KINDS

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _table_options(func: F) -> F:
    """Options that say how to read an economy given as a path, shared by every command that takes one."""
    func = click.option(
        "--domestic", multiple=True, metavar="REGION", help="A region of the scenario's own side (repeatable)."
    )(func)
    func = click.option(
        "--concordance",
        type=click.Path(dir_okay=False),
        default=None,
        help="CSV or TOML concordance aggregating the table's regions and sectors.",
    )(func)
    func = click.option(
        "--kind",
        type=click.Choice(sorted(KINDS)),
        default="auto",
        show_default=True,
        help="How to read a table given as a path.",
    )(func)
    return func


def _economy(spec: str, kind: str, concordance: str | None, domestic: tuple[str, ...]) -> Economy:
    return resolve(spec, kind=kind, concordance=concordance, domestic=domestic or None)


class _UserError(click.ClickException):
    """A user mistake reported by the library: one line on stderr, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Shock(click.Group):
    """The command group; maps the library's user errors (``InputError``) to one line and exit code 2.

    Any other exception, ``ShapeError`` included, is a programming error: it keeps its traceback (exit 1).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as err:
            raise _UserError(str(err)) from None
        except Interrupted as err:  # a run stopped by a signal: one line on how to resume, exit 128 + signal
            click.echo(str(err), err=True)
            ctx.exit(128 + err.signum)


@click.group(cls=_Shock, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shock")
def cli() -> None:
    """Monte Carlo sanction-shock scenarios through a multi-regional input-output economy."""


@cli.command()
def economies() -> None:
    """List the embedded economies."""
    click.echo(f"{'id':<13}{'regions':>8}{'sectors':>8}{'industries':>11}  source")
    for economy_id, description in EMBEDDED.items():
        try:
            economy = load(economy_id)
        except InputError as err:  # an optional dependency is missing: say so, list the rest
            click.echo(f"{economy_id:<13}{'-':>8}{'-':>8}{'-':>11}  unavailable: {err}")
            continue
        mark = " (default)" if economy_id == DEFAULT_ECONOMY else ""
        click.echo(
            f"{economy_id:<13}{len(economy.regions):>8}{len(economy.sectors):>8}{economy.n:>11}  {description}{mark}"
        )


@cli.group()
def economy() -> None:
    """Inspect one economy."""


@economy.command("show")
@click.argument("spec", metavar="ID_OR_PATH")
@_table_options
def economy_show(spec: str, kind: str, concordance: str | None, domestic: tuple[str, ...]) -> None:
    """Output by region and sector, value added, and the domestic regions' trade by partner.

    ID_OR_PATH is an embedded economy (see `shock economies`) or a table: an economy Parquet file, a pymrio
    folder, plain Z/Y matrices (CSV or Parquet) or a database that pymrio parses (--kind).
    """
    for line in format_economy(_economy(spec, kind, concordance, domestic)):
        click.echo(line)


@cli.command()
@click.option(
    "--economy",
    "economy_spec",
    default=DEFAULT_ECONOMY,
    show_default=True,
    metavar="ID_OR_PATH",
    help="Embedded economy id, or the path of a table.",
)
@_table_options
@click.option("--draws", type=click.IntRange(min=1), default=64, show_default=True, help="Monte Carlo draws.")
@click.option("--days", type=click.IntRange(min=1), default=DAYS_PER_YEAR, show_default=True, help="Horizon in days.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Run seed.")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=64, show_default=True, help="Scenarios simulated together."
)
def simulate(
    economy_spec: str,
    kind: str,
    concordance: str | None,
    domestic: tuple[str, ...],
    draws: int,
    days: int,
    seed: int,
    batch_size: int,
) -> None:
    """Smoke run: a stylised sanctions package on an economy, in memory, summarised per region.

    The package is a built-in config (see `cluster.runs.builtin_config`) run through the same plan and executor
    as `shock run`, serially, with nothing written.
    """
    from cluster.analysis import format_summary, summarize_table
    from cluster.runs import builtin_config, run_in_memory

    cfg = builtin_config(
        economy_spec, kind=kind, concordance=concordance, domestic=domestic, draws=draws, days=days, seed=seed
    )
    run = run_in_memory(cfg, batch_size=batch_size)
    eco, elapsed = cfg.economy, run.stats.elapsed
    click.echo(
        f"economy {eco.id}: {len(eco.regions)} regions x {len(eco.sectors)} sectors; {draws} draws x "
        f"{days} days in {elapsed:.2f} s ({draws * days / elapsed:,.0f} scenario-days/s)"
    )
    names = dict(zip(eco.regions, eco.region_names, strict=True))
    summary = summarize_table(run.results, metric="va_loss_pct", source="shock simulate", region_names=names)
    for line in format_summary(summary):
        click.echo(line)


_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30}


def _size(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """A size on disk: ``10GB``, ``500MB``, ``1.5TB``, ``2GiB`` or bytes."""
    text = value.strip().lower().replace(" ", "")
    number = text.rstrip("kmgtib")
    try:
        size = float(number) * _UNITS[text[len(number) :]]
    except (ValueError, KeyError):
        size = float("nan")
    if not 0 < size < float("inf"):
        raise click.BadParameter(f"{value!r} is not a size: write it as 10GB, 500MB, 1.5TB or 2GiB", ctx, param)
    return int(size)


@cli.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option(
    "--estimate/--no-estimate",
    default=True,
    show_default=True,
    help="Estimate bytes on disk and wall time (from the last run in the config's out folder, else a ~1 s "
    "calibration run here).",
)
@click.option(
    "--cores", type=click.IntRange(min=1), default=None, help="CPUs the run will have (default: this machine's)."
)
@click.option(
    "--warn-above", default="10GB", show_default=True, callback=_size, help="Warn when the run would write more."
)
@click.option("--draws", type=click.IntRange(min=1), default=None, help="Monte Carlo draws (default: the config's).")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Horizon in days (default: the config's).")
def validate(
    config_path: str, estimate: bool, cores: int | None, warn_above: int, draws: int | None, days: int | None
) -> None:
    """Check a scenario config and print the expanded design, and what a run of it will write and take (nothing
    is written)."""
    from cluster.config import load as load_config
    from cluster.runs import describe, design_warnings, format_bytes
    from cluster.runs import estimate as estimate_run

    cfg = load_config(config_path, draws=draws, days=days)
    for line in describe(cfg):
        click.echo(line)
    for line in design_warnings(cfg):
        click.echo(f"warning: {line}", err=True)
    if not estimate:
        return
    est = estimate_run(cfg, cores=cores)
    parts = ", ".join(f"{t} {format_bytes(b)}" for t, b in est.bytes.items() if b)
    click.echo(f"estimate: about {format_bytes(est.total_bytes)} on disk ({parts})")
    click.echo(f"estimate: about {_duration(est.seconds)} of wall time ({est.basis}; rough, +-50%)")
    if est.total_bytes > warn_above:
        click.echo(
            f"warning: this run would write about {format_bytes(est.total_bytes)}, more than --warn-above "
            f"{format_bytes(warn_above)}: fewer draws, a shorter horizon or no trajectories make it smaller",
            err=True,
        )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:,.1f} h"
    return f"{seconds / 86400:,.1f} days"


class _Progress:
    """Progress of a run: a bar on a terminal, a plain line every ~10% (or 30 s) otherwise."""

    def __init__(self) -> None:
        self.tty = bool(sys.stderr.isatty())
        self.last_line = -1.0
        self.last_share = -1.0

    def __call__(self, p: Any) -> None:
        """Show a ``cluster.runner.Progress``."""
        eta = "-" if p.eta is None else f"{p.eta:,.0f}"
        text = f"{p.done}/{p.total} scenarios, {p.rate:,.1f}/s, ETA {eta} s"
        share = p.done / max(p.total, 1)
        if self.tty:
            filled = int(30 * share)
            click.echo(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}   ", err=True, nl=p.done >= p.total)
            return
        if p.done >= p.total or share - self.last_share >= 0.1 or p.elapsed - self.last_line >= 30:
            click.echo(f"progress: {text}", err=True)
            self.last_share, self.last_line = share, p.elapsed


@cli.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("--draws", type=click.IntRange(min=1), default=None, help="Monte Carlo draws (default: the config's).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Run seed (default: the config's).")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Horizon in days (default: the config's).")
@click.option(
    "--out", default=None, help="Run folder: a path or a URI such as s3://bucket/runs/x (default: the config's)."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run folder.")
@click.option(
    "--resume", is_flag=True, help="Finish an interrupted or failed run in --out: only its missing batches run."
)
@click.option("--executor", type=click.Choice(["ray", "serial"]), default="ray", show_default=True)
@click.option("--address", default=None, help="Ray cluster to join (default: RAY_ADDRESS, else a private local Ray).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Scenarios per task (default: automatic).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="CPUs of the local Ray, or tasks in flight.")
def run(
    config_path: str,
    draws: int | None,
    seed: int | None,
    days: int | None,
    out: str | None,
    overwrite: bool,
    resume: bool,
    executor: str,
    address: str | None,
    batch_size: int | None,
    workers: int | None,
) -> None:
    """Run a scenario config: every draw under every policy, results to Parquet shards in the run folder."""
    from cluster.runs import run_config

    result = run_config(
        config_path,
        draws=draws,
        seed=seed,
        days=days,
        out=out,
        overwrite=overwrite,
        resume=resume,
        executor=executor,
        address=address,
        batch_size=batch_size,
        workers=workers,
        on_progress=_Progress(),
        on_notice=lambda text: click.echo(text, err=True),
    )
    cfg, elapsed = result.config, result.stats.elapsed
    click.echo(
        f"run {cfg.name}: {cfg.draws} draws x {len(cfg.policies)} policies in {elapsed:.1f} s "
        f"({cfg.draws / elapsed:,.1f} scenarios/s); {result.rows:,} result rows in {result.out}"
    )


@cli.command("summarize")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--metric", default="va_loss_pct", show_default=True, help="Metric to summarise.")
@click.option(
    "--baseline",
    "baseline_policy",
    default=None,
    help="Policy to pair the others against (default: status_quo when there is one).",
)
@click.option(
    "--by",
    type=click.Choice(["horizon", "year", "quarter"]),
    default="horizon",
    show_default=True,
    help="The whole horizon, or calendar years or quarters (a period's loss as a share of its own baseline).",
)
@click.option("--countries", is_flag=True, help="Country rows (each country's regions summed) instead of regions.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--partial", is_flag=True, help="Read the whole shards of an unfinished (or killed) run.")
def summarize_cmd(
    run_dir: str, metric: str, baseline_policy: str | None, by: str, countries: bool, as_json: bool, partial: bool
) -> None:
    """Per policy and region: mean, p5/p50/p95, CVaR 95%, Monte Carlo standard error, paired differences."""
    from cluster.analysis import (
        PERIOD_METRICS,
        STATUS_QUO,
        compare,
        format_summary,
        metric_header,
        summary_json,
        target_countries,
        verdicts,
    )
    from cluster.analysis import summarize as summarize_run
    from cluster.store import open_run

    run = open_run(run_dir, partial=partial)
    if run.status != "complete":  # what the partial summary covers, on stderr (stdout may be JSON)
        click.echo(f"partial: {run.coverage()}", err=True)
    table = summarize_run(run, metric=metric, baseline_policy=baseline_policy, by=by, countries=countries)
    if as_json:
        click.echo(summary_json(table))
        return
    for line in [*metric_header(metric, by=by, countries=countries), "", *format_summary(table)]:
        click.echo(line)
    if by != "horizon" or metric not in PERIOD_METRICS:
        return
    if not countries:  # the country totals (each country's regions summed), in the same unit
        totals = summarize_run(run, metric=metric, baseline_policy=baseline_policy, countries=True)
        click.echo("")
        for line in [f"country totals: {metric_header(metric, countries=True)[0]}", *format_summary(totals)[1:]]:
            click.echo(line)
    if run.status == "complete" and (baseline_policy or STATUS_QUO in (run.manifest.get("policies") or [])):
        click.echo("")
        for line in verdicts(compare(run, baseline=baseline_policy, metric=metric), target_countries(run)):
            click.echo(line)


@cli.command("compare")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--baseline", default=None, help="Policy to compare the others with (default: status_quo).")
@click.option("--metric", default="va_loss_pct", show_default=True, help="A metric of the period rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_cmd(run_dir: str, baseline: str | None, metric: str, as_json: bool) -> None:
    """Each policy against the baseline on the same draws, per country and target region: mean difference, 95%
    interval and the probability that the policy does better; then a verdict per target country."""
    from cluster.analysis import compare, compare_json, format_compare, target_countries, verdicts
    from cluster.store import open_run

    run = open_run(run_dir)
    table = compare(run, baseline=baseline, metric=metric)
    if as_json:
        click.echo(compare_json(table))
        return
    for line in [*format_compare(table), "", *verdicts(table, target_countries(run))]:
        click.echo(line)


@cli.command("report")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--out", default=None, help="The HTML file to write (default: RUN_DIR/report.html).")
@click.option("--baseline", default=None, help="Policy to compare the others with (default: status_quo).")
def report_cmd(run_dir: str, out: str | None, baseline: str | None) -> None:
    """One self-contained HTML page of the run: provenance, losses per policy by country and region, paired gains
    with their intervals, fan charts, the regions, sensitivity, PRIM boxes of the bad tail and convergence."""
    from cluster.report import report

    click.echo(f"wrote {report(run_dir, out, baseline=baseline)}")


@cli.command("sensitivity")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--metric", default="va_loss_pct", show_default=True, help="The metric whose drivers are sought.")
@click.option("--policy", default="status_quo", show_default=True, help="The policy whose draws are analysed.")
@click.option("--region", default=None, help="A region (its results rows).")
@click.option("--country", default=None, help="A country (its regions summed, over the horizon).")
@click.option("--prim", is_flag=True, help="Also find PRIM boxes of the draws with the metric in its upper tail.")
@click.option("--threshold", type=float, default=None, help="PRIM: the metric's value that counts as bad.")
@click.option(
    "--quantile",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="PRIM: the bad tail starts at this quantile (when no --threshold).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the indices (and boxes) as JSON.")
def sensitivity_cmd(
    run_dir: str,
    metric: str,
    policy: str,
    region: str | None,
    country: str | None,
    prim: bool,
    threshold: float | None,
    quantile: float,
    as_json: bool,
) -> None:
    """Which drawn parameters drive the metric: Sobol' indices for a Saltelli run, else PAWN indices, with
    Spearman rank correlations; with --prim, the parameter boxes of the bad tail (EMA Workbench's PRIM)."""
    from cluster.sensitivity import (
        analyze,
        boxes_json,
        format_boxes,
        format_sensitivity,
        outcome,
        prim_boxes,
        sensitivity_json,
    )
    from cluster.store import open_run

    run = open_run(run_dir)
    result = analyze(run, metric, policy=policy, region=region, country=country)
    boxes = None
    if prim:
        x, y = outcome(run, metric, policy=policy, region=region, country=country)
        boxes = prim_boxes(x, y, threshold=threshold, quantile=quantile)
    if as_json:
        text = sensitivity_json(result)
        if boxes is not None:
            import json

            text = json.dumps({**json.loads(text), "prim": json.loads(boxes_json(boxes))}, indent=2)
        click.echo(text)
        return
    for line in format_sensitivity(result):
        click.echo(line)
    if boxes is not None:
        click.echo("")
        for line in format_boxes(boxes, metric=metric):
            click.echo(line)


@cli.command("export")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--format", "fmt", type=click.Choice(["ema", "salib", "csv"]), required=True, help="What to write.")
@click.option("--out", required=True, help="ema: a .tar.gz file; salib, csv: a folder.")
@click.option("--metric", "metrics", multiple=True, help="Result metrics to export (repeatable; default: all).")
@click.option("--policy", default=None, help="Keep one policy's draws (salib needs one when the run has several).")
@click.option("--overwrite", is_flag=True, help="Replace what is at --out.")
def export_cmd(run_dir: str, fmt: str, out: str, metrics: tuple[str, ...], policy: str | None, overwrite: bool) -> None:
    """Hand the draws to other tools: EMA Workbench's (experiments, outcomes) archive, a SALib problem with its
    samples and outputs, or plain CSV."""
    from cluster.export import Format, export
    from cluster.store import open_run

    chosen = cast(Format, fmt)  # click.Choice checked it
    for path in export(open_run(run_dir), chosen, out, metrics=metrics or None, policy=policy, overwrite=overwrite):
        click.echo(f"wrote {path}")


def main() -> None:
    """Entry point of the ``shock`` console script."""
    cli()
