"""What ``audit verify`` finds: each problem, and the walk's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ordergate.store.chain import GENESIS

MAX_PROBLEMS = 1000


@dataclass(frozen=True, slots=True)
class Problem:
    # edited | removed | reordered | unhashed | truncated | fake_prune | forged_anchor |
    # forged_seal | unsealed | forged_checkpoint | order_row | fill_row | position_row |
    # intent_row
    kind: str
    seq: int
    order_id: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seq": self.seq,
            "order_id": self.order_id,
            "detail": self.detail,
        }


@dataclass(slots=True)
class VerifyResult:
    checked: int = 0
    pruned: int = 0
    legacy: int = 0
    anchor_seq: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    keyed: bool = False
    #: the seal's last pre-key seq (None: not sealed, or no key given)
    sealed_at: int | None = None
    checkpoint_seq: int | None = None
    #: the newest purge event, whose positions the fills after it are folded onto
    baseline: tuple[int, list[Any]] | None = None
    #: the other partitions' heads when that purge recorded the positions (their fills
    #: up to there are in the positions already)
    baseline_heads: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    #: a partitioned chain's partitions (``store.chain``): each one's anchor, head,
    #: checkpoint and events checked (empty for a chain of one partition)
    partitions: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "pruned_stubs": self.pruned,
            "legacy_unchained": self.legacy,
            "anchor_seq": self.anchor_seq,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "keyed": self.keyed,
            "sealed_at": self.sealed_at,
            "checkpoint_seq": self.checkpoint_seq,
            "problems": [p.to_dict() for p in self.problems],
            **({"partitions": self.partitions} if self.partitions else {}),
        }
