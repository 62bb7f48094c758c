"""Pooling: many studies (IPD, survival tables, medians) -> pooled survival and medians.

Main entry points: :func:`pool_studies` (the whole workflow, returns a :class:`PoolResult`)
and :class:`MetaAnalysis` (a single inverse-variance meta-analysis). ``kmrecon pool`` is the
command-line front end (:mod:`pooling.cli`). Names load lazily so that building the
``kmrecon`` parser does not import pandas/scipy.
"""
import importlib

_EXPORTS = {
    "MetaAnalysis": "pooling.meta", "MetaResult": "pooling.meta", "meta_analysis": "pooling.meta",
    "PoolResult": "pooling.pool", "pool_studies": "pooling.pool",
    "Study": "pooling.studies", "read_studies": "pooling.studies", "study_from_ipd": "pooling.studies",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'pooling' has no attribute {name!r}")
