"""The run's heartbeat: every second, what is happening now, for whoever watches.

Why apart: settling tells the listeners when a conversation ends; between two endings (a long
rate-limit pause, downloads retrying, parts in doubt being looked up) they still need to see
the run move. The heartbeat publishes the phase and a :class:`~importer.pipeline.run_events.Pulse`
each second, and the terminal's progress draws its gauges from the run itself.
"""

from __future__ import annotations

import asyncio

from importer.helpscout.downloads import AttachmentDownloader
from importer.pipeline.importer import ImportRun
from importer.pipeline.run_events import Pulse


def gauges(run: ImportRun, downloader: AttachmentDownloader) -> dict[str, int]:
    """What is happening now, for the progress bar."""
    return {
        "in doubt": run.parts.in_doubt_now,
        "rate-limited": run.client.waiting_on_rate,
        "downloads retrying": downloader.retrying,
        "waiting for files": run.waits.count if run.waits is not None else 0,
    }


def pulse(run: ImportRun) -> Pulse:
    """What is happening now and the client's totals, for the listeners."""
    stats = run.client.stats
    downloader = run.downloader
    return Pulse(
        in_doubt=run.parts.in_doubt_now,
        rate_limited=run.client.waiting_on_rate,
        downloads_retrying=downloader.retrying if downloader is not None else 0,
        downloads_waiting=run.waits.count if run.waits is not None else 0,
        requests=stats.requests,
        units=stats.units,
        throttled=stats.throttled,
        retries=stats.retries,
    )


async def heartbeat(run: ImportRun) -> None:
    """Every second, also while nothing settles: the phase (rate-limited while every worker
    waits out a pause) and a pulse to the listeners (the progress draws it)."""
    hub = run.events
    while not run.stop.is_set():
        await asyncio.sleep(1.0)
        if run.stop.is_set():
            break
        hub.phase_now("rate_limited" if run.client.pacer.paused else "sending")
        hub.publish(pulse(run))
    hub.phase_now("stopping")
