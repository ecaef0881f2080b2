"""The ``shock`` command line: the only place that prints or turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import click
import numpy as np

from cluster import __version__
from cluster.core import DAYS_PER_YEAR, Extensions
from cluster.economy import DEFAULT_ECONOMY, EMBEDDED, Economy, load, summarize
from cluster.errors import ShockError
from cluster.loaders import KINDS, resolve
from cluster.runner import run_serial
from cluster.scenarios import smoke_batch

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _table_options(func: F) -> F:
    """Options that say how to read an economy given as a path, shared by every command that takes one."""
    func = click.option("--domestic", multiple=True, metavar="REGION",
                        help="A region of the scenario's own side (repeatable).")(func)  # fmt: skip
    func = click.option("--concordance", type=click.Path(dir_okay=False), default=None,
                        help="CSV or TOML concordance aggregating the table's regions and sectors.")(func)  # fmt: skip
    func = click.option("--kind", type=click.Choice(sorted(KINDS)), default="auto", show_default=True,
                        help="How to read a table given as a path.")(func)  # fmt: skip
    return func


def _economy(spec: str, kind: str, concordance: str | None, domestic: tuple[str, ...]) -> Economy:
    return resolve(spec, kind=kind, concordance=concordance, domestic=domestic or None)


class _UserError(click.ClickException):
    """A user mistake reported by the library: one line on stderr, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class _Shock(click.Group):
    """The command group; maps the library's errors to exit code 2 for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ShockError as err:
            raise _UserError(str(err)) from None


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
        except ShockError as err:  # an optional dependency is missing: say so, list the rest
            click.echo(f"{economy_id:<13}{'-':>8}{'-':>8}{'-':>11}  unavailable: {err}")
            continue
        mark = " (default)" if economy_id == DEFAULT_ECONOMY else ""
        click.echo(f"{economy_id:<13}{len(economy.regions):>8}{len(economy.sectors):>8}{economy.n:>11}  "
                   f"{description}{mark}")  # fmt: skip


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
    eco = _economy(spec, kind, concordance, domestic)
    summ = summarize(eco)
    unit = eco.unit or "money"
    click.echo(f"economy {eco.id}: {len(eco.regions)} regions x {len(eco.sectors)} sectors, annual flows in {unit}")
    if eco.provenance.get("note"):
        click.echo(str(eco.provenance["note"]))
    total = summ.output_by_region.sum()
    click.echo(f"\n{'region':<12}{'country':<10}{'tags':<22}{'output':>12}{'share':>8}{'value added':>13}")
    for j, region in enumerate(eco.regions):
        tags = ",".join(name for name, on in (("domestic", eco.domestic[j]), ("coalition", eco.coalition[j]),
                                               ("friendly", eco.friendly[j])) if on) or "-"  # fmt: skip
        click.echo(f"{region:<12}{eco.country[j]:<10}{tags:<22}{summ.output_by_region[j]:>12,.1f}"
                   f"{summ.output_by_region[j] / total:>8.1%}{summ.va_by_region[j]:>13,.1f}")  # fmt: skip
    click.echo(f"\n{'sector':<28}{'output':>12}{'share':>8}")
    for k, sector in enumerate(eco.sectors):
        click.echo(f"{sector:<28}{summ.output_by_sector[k]:>12,.1f}{summ.output_by_sector[k] / total:>8.1%}")
    if eco.domestic.any():
        turnover = summ.exports_by_partner + summ.imports_by_partner
        click.echo(
            f"\ntrade of the domestic regions by partner\n{'partner':<12}{'exports':>12}{'imports':>12}{'share':>8}"
        )
        for p in np.flatnonzero(~eco.domestic).tolist():
            click.echo(f"{eco.regions[p]:<12}{summ.exports_by_partner[p]:>12,.1f}{summ.imports_by_partner[p]:>12,.1f}"
                       f"{turnover[p] / turnover.sum():>8.1%}")  # fmt: skip


@cli.command()
@click.option("--economy", "economy_spec", default=DEFAULT_ECONOMY, show_default=True, metavar="ID_OR_PATH",
              help="Embedded economy id, or the path of a table.")  # fmt: skip
@_table_options
@click.option("--draws", type=click.IntRange(min=1), default=64, show_default=True, help="Monte Carlo draws.")
@click.option("--days", type=click.IntRange(min=1), default=DAYS_PER_YEAR, show_default=True, help="Horizon in days.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Run seed.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Scenarios simulated together.")  # fmt: skip
@click.option("--plain-ario", is_flag=True, help="Switch every sanctions extension off (capacity shocks only).")
def simulate(economy_spec: str, kind: str, concordance: str | None, domestic: tuple[str, ...], draws: int,
             days: int, seed: int, batch_size: int, plain_ario: bool) -> None:  # fmt: skip
    """Smoke run: a stylised sanctions package on an economy, summarised per region."""
    economy = _economy(economy_spec, kind, concordance, domestic)
    baseline = economy.baseline()
    ext = Extensions.none() if plain_ario else Extensions()
    start = time.perf_counter()
    metrics = run_serial(baseline, partial(smoke_batch, economy, baseline, seed=seed), draws, days,
                         batch_size=batch_size, extensions=ext)  # fmt: skip
    elapsed = time.perf_counter() - start
    loss = metrics["va_loss_pct"]
    never = (metrics["recovery_day"] < 0).mean(axis=0)
    rate = draws * days / elapsed
    click.echo(f"economy {economy.id}: {len(economy.regions)} regions x {len(economy.sectors)} sectors; "
               f"{draws} draws x {days} days in {elapsed:.2f} s ({rate:,.0f} scenario-days/s)")  # fmt: skip
    click.echo("value-added loss over the horizon, % of annual baseline value added")
    click.echo(f"{'region':<14}{'domestic':>9}{'mean':>9}{'p5':>9}{'p95':>9}{'worst day %':>13}{'never recovers':>16}")
    for j, region in enumerate(economy.regions):
        p5, p95 = np.percentile(loss[:, j], [5, 95])
        click.echo(f"{region:<14}{'yes' if economy.domestic[j] else '':>9}{loss[:, j].mean():>9.3f}{p5:>9.3f}"
                   f"{p95:>9.3f}{metrics['worst_day_loss_pct'][:, j].mean():>13.2f}{never[j]:>16.0%}")  # fmt: skip


def _describe(dist: Any) -> str:
    if dist.kind == "fixed":
        return f"{dist.params[0]:g}"
    if dist.kind == "categorical":
        return f"categorical{list(dist.values)} weights {list(dist.params)}"
    return f"{dist.kind}{tuple(float(f'{v:g}') for v in dist.params)}"


@cli.command()
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
def validate(config_path: str) -> None:
    """Check a scenario config and print the expanded design (nothing is run or written)."""
    from cluster.config import load as load_config
    from cluster.scenarios import Plan

    cfg = load_config(config_path)
    plan = Plan.from_config(cfg)
    eco = cfg.economy
    n_pol = len(cfg.policies)
    click.echo(f"config {cfg.path}: valid")
    click.echo(f"economy {eco.id}: {len(eco.regions)} regions x {len(eco.sectors)} sectors; "
               f"targets {', '.join(cfg.targets)}")  # fmt: skip
    click.echo(f"design {cfg.design}, seed {cfg.seed}: {cfg.draws} draws x {n_pol} policies x {cfg.days} days "
               f"-> {cfg.draws * n_pol * len(eco.regions):,} result rows; output {cfg.out}")  # fmt: skip
    click.echo(f"parameters: {len(plan.names)} recorded, {len(plan.uncertain)} uncertain:")
    for j in plan.uncertain:
        click.echo(f"  {plan.names[j]:<48} {_describe(plan.dists[j])}")
    click.echo("policies:")
    for pol in cfg.policies:
        levers = []
        if pol.counter_trade is not None:
            levers.append(f"counter-trade with {', '.join(pol.counter_trade.friendly)}")
        if pol.projects:
            levers.append(f"projects {', '.join(pol.projects)}")
        if pol.cooperation_weight > 1 or pol.cooperation_speedup > 1:
            levers.append(f"cooperation (weight {pol.cooperation_weight:g}, speed-up {pol.cooperation_speedup:g})")
        click.echo(f"  {pol.name:<24} {'; '.join(levers) or 'no levers'}")


def _code_revision() -> str:
    """The git commit of this package's checkout, or 'unknown' (an installed package has none)."""
    import subprocess
    from pathlib import Path

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


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
@click.option("--executor", type=click.Choice(["ray", "serial"]), default="ray", show_default=True)
@click.option("--address", default=None, help="Ray cluster to join (default: RAY_ADDRESS, else a private local Ray).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Scenarios per task (default: automatic).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="CPUs of the local Ray, or tasks in flight.")
def run(config_path: str, draws: int | None, seed: int | None, days: int | None, out: str | None, overwrite: bool,
        executor: str, address: str | None, batch_size: int | None, workers: int | None) -> None:  # fmt: skip
    """Run a scenario config: every draw under every policy, results to Parquet shards in the run folder."""
    from cluster import __version__ as version
    from cluster.config import load as load_config
    from cluster.runner import execute
    from cluster.scenarios import Plan
    from cluster.schema import RESULT_SCHEMA, with_provenance
    from cluster.store import RunFolder

    cfg = load_config(config_path, draws=draws, seed=seed, days=days, out=out)
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ and "://" not in cfg.out and not os.path.isabs(cfg.out):
        raise _UserError(
            f"--out {cfg.out} is relative, and this runs as a Ray job, in a temporary copy of the working "
            "directory that is deleted afterwards: give an absolute path on shared storage or a URI (s3://...)"
        )
    plan = Plan.from_config(cfg)
    provenance = {"config_hash": cfg.config_hash, "seed": cfg.seed, "draws": cfg.draws, "package_version": version,
                  "economy_id": cfg.economy.id, "code_revision": _code_revision()}  # fmt: skip
    info = {"name": cfg.name, "config": cfg.resolved, **provenance,
            "policies": [p.name for p in cfg.policies], "regions": list(cfg.economy.regions),
            "executor": executor}  # fmt: skip
    meta = with_provenance(RESULT_SCHEMA, provenance).metadata  # every shard carries the run's provenance
    with RunFolder.create(cfg.out, overwrite=overwrite, info=info) as folder:

        def on_batch(index: int, ids: Any, results: Any, params: Any) -> None:
            folder.write_batch(index, results.replace_schema_metadata(meta), params.replace_schema_metadata(meta))

        stats = execute(plan, executor=executor, batch_size=batch_size or cfg.batch_size, workers=workers,
                        address=address, on_batch=on_batch,
                        on_progress=_Progress())  # fmt: skip
        folder.complete({"batch_size": stats.batch_size, "wall_seconds": round(stats.elapsed, 3)})
    rows = cfg.draws * len(cfg.policies) * len(cfg.economy.regions)
    click.echo(f"run {cfg.name}: {cfg.draws} draws x {len(cfg.policies)} policies in {stats.elapsed:.1f} s "
               f"({cfg.draws / stats.elapsed:,.1f} scenarios/s); {rows:,} result rows in {cfg.out}")  # fmt: skip


@cli.command("summarize")
@click.argument("run_dir", metavar="RUN_DIR")
@click.option("--metric", default="va_loss_pct", show_default=True, help="Result column to summarise.")
@click.option("--baseline", "baseline_policy", default=None,
              help="Policy to pair the others against (default: status_quo when there is one).")  # fmt: skip
def summarize_cmd(run_dir: str, metric: str, baseline_policy: str | None) -> None:
    """Per policy and region: mean, p5/p50/p95, CVaR 95%, Monte Carlo standard error, paired differences."""
    from cluster.analysis import format_summary
    from cluster.analysis import summarize as summarize_run

    table = summarize_run(run_dir, metric=metric, baseline_policy=baseline_policy)
    for line in format_summary(table):
        click.echo(line)


def main() -> None:
    """Entry point of the ``shock`` console script."""
    cli()
