"""``storage/postgres/batch.py``: requests of one loop turn served by one read, each its own
answer, failures shared, a cancelled caller leaving the others be."""

from __future__ import annotations

import asyncio

import pytest

from eventsapi.errors import StorageUnavailable
from eventsapi.storage.postgres.batch import Batches

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self, *, fail: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, int]]] = []
        self.fail = fail
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def read(self, key: str, items: dict[str, int]) -> dict[str, str]:
        self.calls.append((key, items))
        self.started.set()
        await self.release.wait()
        if self.fail:
            raise StorageUnavailable("The database is unavailable.")
        return {
            item: f"{key}:{item}:{payload}" for item, payload in items.items() if item != "gone"
        }


async def test_one_turns_requests_are_one_read_per_key_each_answered() -> None:
    recorder = Recorder()
    batches: Batches[str, int, str] = Batches(recorder.read)

    found = await asyncio.gather(
        batches.get("a", "x", 1),
        batches.get("a", "y", 2),
        batches.get("b", "x", 3),
        batches.get("a", "x", 4),
        batches.get("a", "gone", 5),
    )

    assert list(found) == ["a:x:1", "a:y:2", "b:x:3", "a:x:1", None]
    assert recorder.calls == [("a", {"x": 1, "y": 2, "gone": 5}), ("b", {"x": 3})]


async def test_a_full_batch_is_closed() -> None:
    recorder = Recorder()
    batches: Batches[str, int, str] = Batches(recorder.read, most=2)

    await asyncio.gather(*(batches.get("a", str(n), n) for n in range(5)))

    assert [len(items) for _, items in recorder.calls] == [2, 2, 1]


async def test_a_failed_read_is_every_callers_error() -> None:
    batches: Batches[str, int, str] = Batches(Recorder(fail=True).read)

    found = await asyncio.gather(
        batches.get("a", "x", 1), batches.get("a", "y", 2), return_exceptions=True
    )

    assert [type(f) for f in found] == [StorageUnavailable, StorageUnavailable]


async def test_a_cancelled_caller_leaves_the_others_their_answers() -> None:
    recorder = Recorder()
    recorder.release.clear()
    batches: Batches[str, int, str] = Batches(recorder.read)
    leaving = asyncio.ensure_future(batches.get("a", "x", 1))
    staying = asyncio.ensure_future(batches.get("a", "y", 2))
    await recorder.started.wait()

    leaving.cancel()
    recorder.release.set()

    assert await staying == "a:y:2"
    with pytest.raises(asyncio.CancelledError):
        await leaving
