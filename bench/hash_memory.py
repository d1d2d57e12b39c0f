"""What password hashing leaves in memory, and what giving it back costs.

    .venv/bin/python bench/hash_memory.py [--threads 4] [--rounds 6]

Hashes with eventsapi's argon2id parameters (19 MiB each) in ``--threads`` threads at once,
``--rounds`` times, in two fresh processes: one as glibc's malloc behaves by itself, one
after ``eventsapi.auth.hashing.give_back_large_blocks()`` (what a worker does at its first
login). Prints the RSS after each round and the CPU per hash (every thread's, from
``time.process_time``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_ONE = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from eventsapi.auth.hashing import give_back_large_blocks
from eventsapi.auth.passwords import Hasher

threads, rounds, give_back = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"

def rss_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return round(int(line.split()[1]) / 1024, 1)

hasher = Hasher()
hasher.hash("imports and parameters")
if give_back:
    give_back_large_blocks()
pool = ThreadPoolExecutor(threads)
start = rss_mb()
after = []
cpu = time.process_time()
for _ in range(rounds):
    list(pool.map(hasher.hash, ["correct horse battery staple"] * (threads * 4)))
    after.append(rss_mb())
hashes = rounds * threads * 4
print(json.dumps({
    "rss_start_mb": start,
    "rss_after_each_round_mb": after,
    "cpu_ms_per_hash": round((time.process_time() - cpu) / hashes * 1000, 2),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    for give_back in ("0", "1"):
        out = subprocess.run(  # noqa: S603 - this interpreter, a script of this file
            [sys.executable, "-c", _ONE, str(args.threads), str(args.rounds), give_back],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        name = "given back" if give_back == "1" else "glibc by itself"
        print(f"{name:16} {json.dumps(json.loads(out))}")


if __name__ == "__main__":
    main()
