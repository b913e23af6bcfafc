"""Shadow mode: every order that really goes out is also simulated beside it.

``ORDERGATE_SHADOW=true`` runs a twin engine (:mod:`.twin`) fed off the submit path
(:mod:`.worker`, :mod:`.attach`); ``ordergate shadow report`` compares the simulated
fills with the real ones and fits the fill model's settings to them (:mod:`.report`).
"""

from __future__ import annotations

from ordergate.shadow.attach import Shadow, attach_shadow
from ordergate.shadow.twin import Twin, build_twin, shadow_settings

__all__ = ["Shadow", "Twin", "attach_shadow", "build_twin", "shadow_settings"]
