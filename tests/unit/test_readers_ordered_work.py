"""Work done in worker processes comes back in the order it was given; a piece no worker could
do comes back without a result (to be done here), and so does every piece after it; a stop is
taken at once (importer.readers.ordered_work)."""

from __future__ import annotations

import os
import threading

import pytest

from importer.readers.ordered_work import OrderedWork, StagingWorkers


def _square_where(n: int) -> tuple[int, int]:
    sum(range((n * 7919) % 20_000))  # pieces of uneven cost: a later one may end first
    return n * n, os.getpid()


def _fails_at_five(n: int) -> int:
    if n == 5:
        raise ValueError("a piece the worker cannot do")
    return n


def test_results_come_in_the_order_given_from_the_workers() -> None:
    done = []
    with OrderedWork(_square_where, StagingWorkers(2, threading.Event())) as work:
        for n in range(40):
            done += list(work.put(n))
        done += list(work.drain())
    assert [piece for piece, _ in done] == list(range(40))
    assert all(result is not None and result[0] == n * n for n, result in done)
    assert {result[1] for _, result in done if result} - {os.getpid()}, "nothing left this process"


def test_a_piece_no_worker_could_do_comes_back_for_here_and_so_do_the_later_ones() -> None:
    """Those sent before the failure was seen keep what their worker did; none is sent after."""
    with OrderedWork(_fails_at_five, StagingWorkers(2, threading.Event())) as work:
        done = [d for n in range(20) for d in work.put(n)] + list(work.drain())
    assert [piece for piece, _ in done] == list(range(20))
    assert [result for _, result in done[:5]] == [0, 1, 2, 3, 4]
    assert done[5][1] is None
    in_flight = 2 * 2  # workers x pieces ahead: sent before piece 5 was settled
    assert all(result in (None, piece) for piece, result in done[6 : 6 + in_flight])
    assert [result for _, result in done[6 + in_flight :]] == [None] * (14 - in_flight)
    assert work.broken


def test_a_stop_is_taken_before_the_next_piece() -> None:
    stop = threading.Event()
    with OrderedWork(_square_where, StagingWorkers(2, stop)) as work:
        list(work.put(1))
        stop.set()
        with pytest.raises(KeyboardInterrupt):
            list(work.put(2))
        with pytest.raises(KeyboardInterrupt):
            list(work.drain())
