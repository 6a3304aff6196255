"""Planning: the offline half of every command, records in, planned or invalid conversations out.

:mod:`selection` (``--since``/``--until``, ``--limit``, repeated ids), :mod:`records` (one record
planned, the read counted), :mod:`stream` (an export's conversations planned and selected, in
order) and :mod:`pool` (the same in worker processes). Nothing here sends a request but the
users lookups of :func:`~importer.planning.stream.planned_with_agents`; the engine
(:mod:`importer.pipeline`) takes what planning gives.
"""
