"""The registry of domains: ``ADAPTERS`` maps a domain's name to its ``DomainAdapter``, one module
per domain (``placement``, ``coinference``, ``online``); ``adapter(name)`` looks one up and
refuses an unknown name. The study tools reach every domain through this registry only.
"""

from __future__ import annotations

from types import MappingProxyType

from ...errors import InvalidInputError
from ..adapter import DomainAdapter
from . import coinference, online, placement

#: Domain name -> adapter, in the order error messages list them.
ADAPTERS = MappingProxyType({a.name: a for a in (placement.ADAPTER, coinference.ADAPTER, online.ADAPTER)})
DOMAINS = tuple(ADAPTERS)


def adapter(domain: str, where: str = "domain") -> DomainAdapter:
    """The adapter of ``domain``; InvalidInputError naming ``where`` and the value if there is none.

    >>> domain = adapter("placement")
    >>> domain.size_key, domain.exact, "lp-bound" in domain.methods()
    ('n_clients', 'mip', True)
    """
    if not isinstance(domain, str) or domain not in ADAPTERS:
        raise InvalidInputError(where, f"must be one of {', '.join(DOMAINS)}, got {domain!r}")
    return ADAPTERS[domain]


def all_params() -> set:
    """Every generator parameter of every domain (the parameter columns of a result table)."""
    return set().union(*(a.parameters() for a in ADAPTERS.values()))


__all__ = ["ADAPTERS", "DOMAINS", "adapter", "all_params"]
