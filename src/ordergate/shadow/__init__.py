"""Shadow mode: every order that really goes out is also simulated beside it.

``ORDERGATE_SHADOW=true`` runs a twin engine (:mod:`.twin`, built by the composition
root's ``bootstrap.build_twin``) fed off the submit path
(:mod:`.worker`, :mod:`.attach`); ``ordergate shadow report`` compares the simulated
fills with the real ones and fits the fill model's settings to them (:mod:`.report`,
:mod:`.figures`, :mod:`.fit`).

The names below are imported on first use: the CLI registers :mod:`.cli` at start-up,
and that must not import the composition root.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordergate.shadow.attach import Shadow, attach_shadow
    from ordergate.shadow.twin import Twin, shadow_settings

__all__ = ["Shadow", "Twin", "attach_shadow", "shadow_settings"]

_HOMES = {
    "Shadow": "ordergate.shadow.attach",
    "attach_shadow": "ordergate.shadow.attach",
    "Twin": "ordergate.shadow.twin",
    "shadow_settings": "ordergate.shadow.twin",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'ordergate.shadow' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
