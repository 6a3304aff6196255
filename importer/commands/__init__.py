"""The commands: each one's orchestration (options in, a report and an exit code out).

``validate`` (and ``convert``), ``plan``, ``run``, ``status`` and ``fetch-attachments`` read the
export through :mod:`importer.readers` and plan it through :mod:`importer.planning` (the same
for every command, so they agree on what is valid and on the accounting); ``run`` hands the
planned conversations to the engine (:mod:`importer.pipeline`, through its feed). Every signal
handler is :mod:`stopping`'s; every conversation is counted by :class:`importer.tally.Tally`.
"""
