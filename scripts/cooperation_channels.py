"""Cooperation's effect on the domestic bloc's loss, channel by channel (``docs/model.md``, cooperation).

    python scripts/cooperation_channels.py                # 32 draws of configs/replay_2022.toml, serial
    python scripts/cooperation_channels.py --draws 512    # docs/model.md's table (about 15 minutes on one core)

Runs the replay's draws under four policies — the status quo, the weight on domestic suppliers alone, the speed-up
alone, and both (the replay's ``cooperation`` policy) — once with the replay's supplier expansion and once with
``[adaptation] expansion = 0``, and prints each policy's mean paired effect on the domestic bloc's (RU + BY) loss of
real value added over the horizon, with its standard error (negative: a gain).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from cluster.analysis import loss_by_policy
from cluster.config import from_dict, load
from cluster.runs import run_in_memory

ROOT = Path(__file__).resolve().parents[1]
DOMESTIC = ("RU", "BY")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "replay_2022.toml"))
    parser.add_argument("--draws", type=int, default=32)
    args = parser.parse_args(argv)
    config = load(args.config, draws=args.draws)
    coop = {p.name: p for p in config.policies}.get("cooperation")
    weight = coop.cooperation.number("weight") if coop is not None else 2.0
    speedup = coop.cooperation.number("speedup") if coop is not None else 1.5
    policies = {
        "status_quo": {},
        "weight_only": {"cooperation": {"weight": weight, "speedup": 1.0}},
        "speedup_only": {"cooperation": {"weight": 1.0, "speedup": speedup}},
        "cooperation": {"cooperation": {"weight": weight, "speedup": speedup}},
    }
    print(f"{args.draws} draws of {Path(args.config).name}; weight {weight:g}, speed-up {speedup:g}")
    for label, expansion in (("with the replay's supplier expansion", None), ("without supplier expansion", 0.0)):
        doc: dict[str, Any] = dict(config.document)
        doc["policies"] = policies
        doc["run"] = {**doc["run"], "draws": config.draws}  # the draws asked for, not the file's
        if expansion is not None:
            doc["adaptation"] = {**doc.get("adaptation", {}), "expansion": expansion}
        variant = from_dict(doc, source=f"{config.path} ({label})", base=Path(config.base), name=config.name)
        loss = loss_by_policy(run_in_memory(variant, executor="serial").periods, DOMESTIC)
        print(label)
        for policy in ("weight_only", "speedup_only", "cooperation"):
            diff = loss[policy] - loss["status_quo"]
            se = diff.std(ddof=1) / np.sqrt(diff.size)
            print(f"  {policy:<13} {diff.mean():+8.2f} (se {se:.2f}) {config.economy.unit} over the horizon")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
