"""Kept for ``importer.cli``'s import of :func:`default_jobs` until it imports
:mod:`importer.planning.pool`; the planning pool lives there."""

from importer.planning.pool import default_jobs

__all__ = ["default_jobs"]
