"""What ``eventsapi serve``'s main process does to keep the server's memory small.

granian's main process forks each worker: the worker shares the main's memory until one of
them writes a page. CPython's cyclic garbage collector writes to every object it looks at
(the collection's bookkeeping in each object's header), so a collection in the worker
would copy each page of the main's objects it visits. ``gc.freeze`` moves every object
alive now to a generation the collector never looks at (the Python documentation's advice
for servers that fork; without a collection first, which would leave holes in the pages
that later allocations fill, copying them all the same). docs/benchmarks.md, "Idle memory and
start-up (issue 18)", has the figures.
"""

from __future__ import annotations

import gc


def before_forking_workers() -> None:
    """Call in the main process just before granian forks its workers."""
    gc.freeze()
