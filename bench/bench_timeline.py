"""How fast a plan's timeline is built and rendered (the staff preview calls this on every keystroke).

``--distinct``: each round's first session a minute after the last, so no date or time text
is remembered from an earlier round (a batch whose plans all start at different times).

Run: .venv/bin/python -m bench.bench_timeline [--distinct]
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import datetime, timedelta

from glowline.config import ROOT
from glowline.catalog.protocols import load_catalog
from glowline.plans.timeline import MessageSettings, build_timeline, localize


def main(rounds: int = 300, distinct: bool = False) -> None:
    """Print timelines/s and peak memory per protocol at its longest plan."""
    catalog = load_catalog(ROOT / "protocols.json", ROOT / "schemas" / "protocols.schema.json")
    settings = MessageSettings(clinic_name="Glow Clinic", clinic_phone="+12125550100", timezone="America/New_York")
    first = localize(datetime(2026, 12, 3, 10, 0), "America/New_York")
    print(f"{'protocol':22} {'sessions':>8} {'messages':>8} {'timelines/s':>12} {'peak KiB':>9}")
    for protocol in catalog:
        count = protocol.sessions.max
        timeline = build_timeline(protocol, first, settings, sessions=count)
        start = time.perf_counter()
        for n in range(rounds):
            build_timeline(protocol, first + timedelta(minutes=n + 1) if distinct else first, settings, sessions=count)
        first += timedelta(minutes=rounds + 1) if distinct else timedelta()
        rate = rounds / (time.perf_counter() - start)
        tracemalloc.start()
        build_timeline(protocol, first, settings, sessions=count)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{protocol.id:22} {count:>8} {len(timeline.messages):>8} {rate:>12.0f} {peak / 1024:>9.0f}")


if __name__ == "__main__":
    main(distinct="--distinct" in sys.argv[1:])
