"""Run every benchmark module in this package: `python -m benchmarks [name ...]`."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(selected: list[str]) -> None:
    """Run the named benchmarks (default: all `bench_*` modules), in name order."""
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    for name in names:
        if selected and name.removeprefix("bench_") not in selected and name not in selected:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        module.run()


if __name__ == "__main__":
    main(sys.argv[1:])
