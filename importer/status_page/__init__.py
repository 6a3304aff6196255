"""Pages that show a run to a person: the live page of ``importer run --status-port``
(:mod:`importer.status_page.server`, fed by :mod:`importer.status_page.collector`, a listener
of the run's events) and the static page of ``importer status --html``
(:mod:`importer.status_page.static_page`).

Why apart from the terminal's progress: a run of days is watched from a browser, by whoever
is on duty, without a terminal to hand; and both pages show the same figures the contract's
"Watching a run" names, so what one page says the other can be checked against.
"""
