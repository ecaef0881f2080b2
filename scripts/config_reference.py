"""Write (or check) the config reference ``docs/config.md`` from the parameter declarations.

    python scripts/config_reference.py           # rewrite docs/config.md
    python scripts/config_reference.py --check   # exit 1 if docs/config.md is stale

The text comes from ``cluster.parameters.config_reference()``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cluster.parameters import config_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/config.md is stale")
    args = parser.parse_args(argv)
    text = config_reference()
    if args.check:
        if DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC.name} is stale: run python scripts/config_reference.py", file=sys.stderr)
            return 1
        print(f"{DOC.name} is up to date")
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
