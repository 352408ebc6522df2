"""Spreading scan work over one process per CPU: consecutive batches, results in order.

Both the file scanner and the history scanner cut their work into runs of consecutive
items of about equal size (consecutive keeps locality: directory order for files, pack
order for git objects) and hand them to a pool of forked workers, each with its own
buffer, so memory stays flat however much there is to scan.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def batches(
    items: Sequence[T], sizes: Sequence[int], target: int, max_items: int | None = None
) -> list[list[T]]:
    """Consecutive runs of ``items`` of about ``target`` bytes (and at most ``max_items``)."""
    runs: list[list[T]] = [[]]
    held = 0
    for item, size in zip(items, sizes, strict=True):
        full = held + size > target or (max_items is not None and len(runs[-1]) >= max_items)
        if runs[-1] and full:
            runs.append([])
            held = 0
        runs[-1].append(item)
        held += size
    return runs


def map_in_processes(
    function: Callable[[list[T]], R],
    runs: list[list[T]],
    workers: int,
    on_result: Callable[[list[T], R], None] | None = None,
) -> list[R]:
    """``function`` applied to each run in forked worker processes; results in run order.

    ``on_result(run, result)`` is called in this process as each run finishes (progress).
    Workers ignore Ctrl-C from birth; the parent takes the interrupt (or any error) and
    kills them at once, rather than waiting for the runs they hold.
    """
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor, as_completed

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    results: dict[int, R] = {}
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the forks inherit it
        try:
            futures = {pool.submit(function, run): index for index, run in enumerate(runs)}
        finally:
            signal.signal(signal.SIGINT, handler)
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            if on_result is not None:
                on_result(runs[index], results[index])
    except BaseException:
        # No public way to stop busy workers before Python 3.14's kill_workers().
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [results[index] for index in range(len(runs))]
