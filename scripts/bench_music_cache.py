"""Time the first (uncached) load of each music21 collection, which parses every score once.

    python scripts/bench_music_cache.py          # writes benchmarks/music_cache.json

Uses a fresh temporary `SEQNET_CACHE_DIR` (and seqnet has music21 parse from source, never from
its pickles), so the figures are the cost a new user pays once, with one parsing process per CPU
core; a second load reads the JSON cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

from seqnet.data.sources import MusicSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", nargs="+", default=["bach", "essen"])
    parser.add_argument("--out", default="benchmarks/music_cache.json")
    args = parser.parse_args()
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "collections": {}}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SEQNET_CACHE_DIR"] = cache
        for collection in args.collections:
            start = time.perf_counter()
            splits = MusicSource(collection).load()
            first = time.perf_counter() - start
            start = time.perf_counter()
            MusicSource(collection).load()
            cached = time.perf_counter() - start
            pieces = splits.train + splits.val + splits.test
            results["collections"][collection] = {
                "pieces": len(pieces),
                "events": sum(len(p.values) - 1 for p in pieces),
                "vocabulary": len(splits.vocab),
                "conditions": dict(Counter(str(p.condition) for p in pieces).most_common()),
                "first_load_seconds": round(first, 1),
                "cached_load_seconds": round(cached, 2),
            }
            print(collection, json.dumps(results["collections"][collection]))
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
