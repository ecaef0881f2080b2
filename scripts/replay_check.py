"""Score the 2022-23 replay against what happened (``docs/validation.md``).

    python scripts/replay_check.py                 # 256 draws of configs/replay_2022.toml on a local Ray
    python scripts/replay_check.py --draws 64 --executor serial

Runs the shipped replay, and the "forecasters' world" (what spring-2022 forecasts assumed: the same packages,
every one of them lasting, and no adaptation at all — no leakage, no substitution, no export diversion, no
supplier expansion, no counter-trade, no projects; status quo only), then prints, per quantity, the model's median
[5-95%] over the draws under the status quo beside the observed figure and its source
(``../shared/CALIBRATION.md``), and the mean effect of every policy on the domestic bloc's loss with its standard
error (paired, common random numbers). The last line is
``ru_2022=<median gap, pp> by_2022=<...> ru_2023=<...> forecasters_ru_2022=<...>``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cluster.analysis import loss_by_policy
from cluster.config import Config, from_dict, load
from cluster.runs import run_in_memory

ROOT = Path(__file__).resolve().parents[1]
DOMESTIC = ("RU", "BY")

#: (label, how the model's number is made, observed figure, source)
OBSERVED: dict[str, tuple[str, str]] = {
    "ru_2022": ("4-5 pp", "gap to the pre-war path: IMF Jan 2022 +2.8% vs outcome -1.2% (Rosstat, revised)"),
    "by_2022": ("2-6 pp", "Belarus: pre-war +0.8% (IMF) or -2.8% (World Bank) vs outcome -4.7%"),
    "ru_2023": ("2.5 pp [D]", "pre-war path 2022-23 (+2.8%, +2.1%) vs outcome (-1.2%, +3.6%): 1.0496 vs 1.0236"),
    "by_2023": ("-", "no pre-war forecast for 2023 in the notes"),
    "forecasters_ru_2022": ("8.4-11.2 pp", "spring-2022 forecasts: IMF -8.5%, World Bank -11.2%, consensus -8.4%"),
    "trade_EU": ("-38% (EU exports)", "Eurostat: EU exports to Russia -38% in value in 2022; trade -65% by 2023"),
    "trade_CN": ("+35%", "Chinese customs: Russia-China USD 141 bn (2021) -> 190 bn (2022)"),
    "trade_IN": ("up (x4.8 by 2023)", "India-Russia USD 13.6 bn (2021) -> 64.9 bn (2023)"),
    "trade_TR": ("up (+71% by 2023)", "Turkey-Russia USD 33 bn (2021) -> 56.5 bn (2023)"),
    "trade_RU_BY": ("BY exports to RU +40%", "Belarus's exports to Russia +40% in 2022"),
    "ru_surplus": ("+66%", "CBR: goods and services surplus USD 282.3 bn (2022) vs 170.1 bn (2021)"),
    "trade_EU_2023": ("-65%", "Eurostat: EU-Russia trade -65% 2021 -> 2023"),
    "trade_CN_2023": ("+70%", "Chinese customs: USD 141 bn (2021) -> 240 bn (2023)"),
    "trade_IN_2023": ("+377% (x4.8)", "India-Russia USD 13.6 bn (2021) -> 64.9 bn (2023)"),
    "trade_TR_2023": ("+71%", "Turkey-Russia USD 33 bn (2021) -> 56.5 bn (2023)"),
    "ru_friendly_2023": ("> 75% (46% in 2021)", "friendly partners' share of Russia's trade, 2023 [D]"),
}


#: Package keys that end a package: in the forecasters' world every package lasts.
_ENDS = ("end", "duration")


def forecasters_world(config: Config) -> Config:
    """What spring-2022 forecasts assumed: the replay's packages, every one lasting (no end), with no adaptation —
    no leakage, no substitution, no export diversion, no supplier expansion — and the status quo only (no
    counter-trade, no projects, no cooperation)."""
    doc: dict[str, Any] = {k: v for k, v in config.document.items() if k not in ("policies", "adaptation")}
    sanctions = {k: v for k, v in doc.get("sanctions", {}).items() if k not in _ENDS}
    sanctions["leakage"] = 0.0
    sanctions["substitutability"] = 0.0
    packages = {
        name: {k: v for k, v in p.items() if k not in ("leakage", *_ENDS)}
        for name, p in sanctions.get("packages", {}).items()
    }
    if packages:
        sanctions["packages"] = packages
    doc["sanctions"] = sanctions
    doc["policies"] = {"status_quo": {}}
    doc["run"] = {**doc["run"], "draws": config.draws}  # the draws asked for, not the file's
    doc.pop("projects", None)
    return from_dict(doc, source=f"{config.path} (forecasters' world)", base=Path(config.base), name=config.name)


def _country_loss(periods: pa.Table, country: str, period: str) -> np.ndarray:
    rows = periods.filter(
        pc.and_(
            pc.and_(pc.equal(periods["region"], country), pc.equal(periods["level"], "country")),
            pc.and_(pc.equal(periods["period"], period), pc.equal(periods["policy"], "status_quo")),
        )
    )
    loss: np.ndarray = rows.sort_by("scenario_id")["va_loss_pct"].to_numpy()
    return loss


def _baseline_trade(config: Config) -> tuple[tuple[str, ...], np.ndarray]:
    """Countries and the baseline (no-sanctions) annual trade between them, (C_o, C_d)."""
    eco = config.economy
    r, s = len(eco.regions), len(eco.sectors)
    flows = eco.z.reshape(r, s, r, s).sum(axis=(1, 3)) + eco.y.reshape(r, s, r, -1).sum(axis=(1, 3))
    countries = tuple(dict.fromkeys(eco.country))
    to_c = np.zeros((r, len(countries)))
    to_c[np.arange(r), [countries.index(c) for c in eco.country]] = 1.0
    return countries, to_c.T @ flows @ to_c


def _trade_change(trade: pa.Table, config: Config, period: str) -> dict[str, np.ndarray]:
    """Per scenario, the change of the domestic bloc's trade (exports + imports, value) with each partner, the
    Russia-Belarus trade, and Russia's trade surplus, over ``period`` against the baseline year (1 = +100%)."""
    countries, base = _baseline_trade(config)
    rows = trade.filter(pc.and_(pc.equal(trade["period"], period), pc.equal(trade["policy"], "status_quo")))
    data = rows.to_pydict()
    n = int(max(data["scenario_id"])) + 1
    days = int(data["days"][0])
    value = np.zeros((n, len(countries), len(countries)))
    index = {c: i for i, c in enumerate(countries)}
    for sid, o, d, v in zip(data["scenario_id"], data["origin"], data["destination"], data["value"], strict=True):
        value[sid, index[o], index[d]] = v * 365.0 / days  # at an annual rate
    dom = [index[c] for c in DOMESTIC]
    out: dict[str, np.ndarray] = {}
    for partner in ("EU", "CN", "IN", "TR"):
        p = index[partner]
        got = value[:, dom, p].sum(axis=1) + value[:, p, dom].sum(axis=1)
        out[f"trade_{partner}"] = got / (base[dom, p].sum() + base[p, dom].sum()) - 1.0
    ru, by = index["RU"], index["BY"]
    out["trade_RU_BY"] = value[:, by, ru] / base[by, ru] - 1.0
    others = [i for i in range(len(countries)) if i != ru]
    surplus = value[:, ru, others].sum(axis=1) - value[:, others, ru].sum(axis=1)
    base_surplus = base[ru, others].sum() - base[others, ru].sum()
    out["ru_surplus"] = surplus / base_surplus - 1.0
    friendly = [index[c] for c in _friendly(config) if c in index]
    trade_ru = value[:, ru, others].sum(axis=1) + value[:, others, ru].sum(axis=1)
    out["ru_friendly"] = (value[:, ru, friendly].sum(axis=1) + value[:, friendly, ru].sum(axis=1)) / trade_ru
    return out


def _friendly(config: Config) -> tuple[str, ...]:
    """The countries of the economy's friendly-tagged regions."""
    eco = config.economy
    return tuple(dict.fromkeys(c for c, f in zip(eco.country, eco.friendly, strict=True) if f))


def _band(x: np.ndarray, scale: float = 1.0, unit: str = "") -> str:
    p5, p50, p95 = (float(v) * scale for v in np.percentile(x, [5, 50, 95]))
    return f"{p50:+.1f}{unit} [{p5:+.1f}, {p95:+.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "replay_2022.toml"))
    parser.add_argument("--draws", type=int, default=256)
    parser.add_argument("--executor", choices=["ray", "serial"], default="ray")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)

    config = load(args.config, draws=args.draws)
    start = time.perf_counter()
    replay = run_in_memory(config, executor=args.executor, workers=args.workers)
    forecast = run_in_memory(forecasters_world(config), executor=args.executor, workers=args.workers)
    elapsed = time.perf_counter() - start
    assert replay.trade is not None

    model: dict[str, str] = {}
    medians: dict[str, float] = {}
    for key, country, period, source in (
        ("ru_2022", "RU", "2022", replay),
        ("by_2022", "BY", "2022", replay),
        ("ru_2023", "RU", "2023", replay),
        ("by_2023", "BY", "2023", replay),
        ("forecasters_ru_2022", "RU", "2022", forecast),
    ):
        loss = _country_loss(source.periods, country, period)
        model[key] = _band(loss, unit=" pp")
        medians[key] = float(np.median(loss))
    for key, change in _trade_change(replay.trade, config, "2022").items():
        if key != "ru_friendly":
            model[key] = _band(change, 100.0, "%")
    later = _trade_change(replay.trade, config, "2023")
    for key in ("trade_EU", "trade_CN", "trade_IN", "trade_TR"):
        model[f"{key}_2023"] = _band(later[key], 100.0, "%")
    share = later["ru_friendly"] * 100.0
    p5, p50, p95 = np.percentile(share, [5, 50, 95])
    model["ru_friendly_2023"] = f"{p50:.0f}% [{p5:.0f}, {p95:.0f}]"
    ru22, ru23 = _country_loss(replay.periods, "RU", "2022"), _country_loss(replay.periods, "RU", "2023")
    by22, by23 = _country_loss(replay.periods, "BY", "2022"), _country_loss(replay.periods, "BY", "2023")
    years = sorted({p for p in replay.periods["period"].to_pylist() if len(p) == 4 and p.isdigit()})

    shown = Path(config.path).resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else Path(shown.name)
    print(
        f"replay {shown}: {args.draws} draws x {len(config.policies)} policies, and the forecasters' world; "
        f"{elapsed:.0f} s"
    )
    print("status quo, model median [5%, 95%] over the draws beside what happened (../shared/CALIBRATION.md)")
    width = max(len(k) for k in OBSERVED)
    for key, (observed, where) in OBSERVED.items():
        print(f"  {key:<{width}}  {model[key]:<28} observed {observed:<22} {where}")
    print(f"  Russia's 2023 loss smaller than its 2022 loss in {np.mean(ru23 < ru22):.0%} of draws (observed: yes)")
    print(f"  Belarus's 2023 loss smaller than its 2022 loss in {np.mean(by23 < by22):.0%} of draws (observed: yes)")
    for country in DOMESTIC:  # the whole horizon, year by year (no observed gap after 2023 in the notes)
        path = "  ".join(f"{y} {_band(_country_loss(replay.periods, country, y), unit=' pp')}" for y in years)
        print(f"  {country} by year: {path}")
    print("mean effect of each policy on the domestic bloc's value-added loss over the horizon, vs status quo (paired)")
    bloc = loss_by_policy(replay.periods, DOMESTIC)
    for policy in (p.name for p in config.policies if p.name != "status_quo"):
        diff = bloc[policy] - bloc["status_quo"]
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        verdict = "helps" if diff.mean() < -2 * se else ("hurts" if diff.mean() > 2 * se else "no clear effect")
        print(f"  {policy:<22} {diff.mean():+9.2f} (se {se:.2f}) {config.economy.unit}: {verdict}")
    print(
        f"ru_2022={medians['ru_2022']:.2f} by_2022={medians['by_2022']:.2f} ru_2023={medians['ru_2023']:.2f} "
        f"forecasters_ru_2022={medians['forecasters_ru_2022']:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
