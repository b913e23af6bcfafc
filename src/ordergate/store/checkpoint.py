"""The chain's head, checkpointed with the audit key to a file outside the database.

A chain cut off at its end is consistent in itself; what catches the cut is a head
recorded elsewhere. Every store that writes events checkpoints ``(seq, hash)`` here
after each commit that wrote any (one commit is one unit of work, or one group of
them), and syncs the file at shutdown, so ``audit verify`` catches a cut tail up to the
last commit.

The file has two fixed-size slots, each one line with its own MAC; a writer
replaces the older slot, so a write torn by a crash leaves the other one whole. A lock
on the file (``flock``) keeps several processes of one host in order, and a checkpoint
never goes back: a process whose commit is older than the one recorded leaves it. The
write is not synced (it costs one ``pwrite``): the page cache keeps it through a
process crash; after a power loss the checkpoint may lag the database, never lead it,
when the store syncs its own commits (SQLite ``synchronous=FULL``).

A partitioned chain (``store.chain``) has a checkpoint per partition: partition 0 in the
file itself (so a chain from before partitions keeps its checkpoint), partition ``p`` in
``<file>.p<p>``, whose MACs name the partition, so one partition's file cannot stand in
for another's. A head is filed by its ``seq`` (the partition is ``seq // SPAN``), so a
writer calls :meth:`Checkpoint.write` with any partition's head.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from ordergate.domain.errors import ConfigError
from ordergate.store.chain import macs_equal, partition_of_seq, record_mac

SLOT = 256
log = structlog.get_logger("ordergate.audit")


@dataclass(frozen=True, slots=True)
class CheckpointState:
    """What the file holds: the newest valid slot, and whether any slot was forged."""

    seq: int | None
    hash: str | None
    forged: bool = False
    #: the other partitions' checkpoints, by partition (this one is partition 0's)
    partitions: Mapping[int, CheckpointState] = field(default_factory=dict)

    def by_partition(self) -> dict[int, CheckpointState]:
        """Every partition's checkpoint, partition 0 (this state's own) included."""
        return {0: CheckpointState(self.seq, self.hash, self.forged), **self.partitions}


class Checkpoint:
    """One database's checkpoint files, one a partition (see the module)."""

    def __init__(self, path: Path, key: bytes, label: str, *, partition: int = 0) -> None:
        self.path = path
        self._key = key
        self._label = label
        self._fd: int | None = None
        self._partition = partition  # the partition this file is for
        self._parts: dict[int, Checkpoint] = {}  # partitions above 0, opened on first use

    def partition(self, partition: int) -> Checkpoint:
        """The checkpoint of ``partition`` (this one for 0)."""
        if partition == self._partition:
            return self
        part = self._parts.get(partition)
        if part is None:
            part = Checkpoint(
                self.path.with_name(f"{self.path.name}.p{partition}"),
                self._key,
                f"{self._label}#p{partition}",
                partition=partition,
            )
            self._parts[partition] = part
        return part

    def _open(self) -> int:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                raise ConfigError(f"cannot open the audit checkpoint {self.path}: {exc}") from exc
        return self._fd

    def _mac(self, seq: int, digest: str) -> str:
        return record_mac(self._key, "checkpoint", self._label, seq, digest)

    def _slots(self, fd: int) -> list[tuple[int, str] | bool | None]:
        """Each slot: ``(seq, hash)``, None when empty, False when its MAC fails."""
        data = os.pread(fd, 2 * SLOT, 0)
        out: list[tuple[int, str] | bool | None] = []
        for i in range(2):
            raw = data[i * SLOT : (i + 1) * SLOT].strip(b"\0 \n")
            if not raw:
                out.append(None)
                continue
            try:
                seq_text, digest, mac, label = raw.decode().split(" ", 3)
                seq = int(seq_text)
            except ValueError:
                out.append(False)
                continue
            valid = label == self._label and macs_equal(self._mac(seq, digest), mac)
            out.append((seq, digest) if valid else False)
        return out

    def write(self, seq: int, digest: str) -> None:
        """Record ``(seq, digest)`` unless the file already holds a newer head.

        A slot is ``<seq, 20 digits> <hash> <mac> <database>``: the writer reads only
        the two seqs (the reader checks the MACs). The head goes to its partition's file."""
        partition = partition_of_seq(seq)
        if partition != self._partition:
            self.partition(partition).write(seq, digest)
            return
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            data = os.pread(fd, 2 * SLOT, 0)
            seqs = [_seq_of(data[0:20]), _seq_of(data[SLOT : SLOT + 20])]
            if max(seqs) >= seq:
                return
            line = f"{seq:020d} {digest} {self._mac(seq, digest)} {self._label}".encode()
            target = 0 if seqs[0] <= seqs[1] else 1
            os.pwrite(fd, line.ljust(SLOT - 1) + b"\n", target * SLOT)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def committed(self, seq: int, digest: str) -> None:
        """:meth:`write` after a commit: a failure is logged, never raised — the commit
        stands, and the next one (or shutdown) checkpoints again."""
        try:
            self.write(seq, digest)
        except (OSError, ConfigError) as exc:
            log.warning("audit checkpoint failed", path=str(self.path), error=str(exc))

    def read(self) -> CheckpointState:
        """The newest head the file vouches for (``seq`` None: no checkpoint yet), with
        every other partition's found beside it (``CheckpointState.partitions``)."""
        state = self._read_one()
        others: dict[int, CheckpointState] = {}
        prefix = f"{self.path.name}.p"
        if self.path.parent.is_dir():
            for entry in self.path.parent.iterdir():
                tail = entry.name[len(prefix) :]
                if entry.name.startswith(prefix) and tail.isdigit() and int(tail) > 0:
                    others[int(tail)] = self.partition(int(tail))._read_one()
        if not others:
            return state
        return CheckpointState(state.seq, state.hash, state.forged, dict(sorted(others.items())))

    def _read_one(self) -> CheckpointState:
        if not self.path.exists():
            return CheckpointState(None, None)
        fd = self._open()
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            slots = self._slots(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        valid = [s for s in slots if isinstance(s, tuple)]
        forged = any(s is False for s in slots)
        if not valid:
            return CheckpointState(None, None, forged)
        seq, digest = max(valid)
        return CheckpointState(seq, digest, forged)

    def close(self) -> None:
        """Sync and close (at shutdown), every partition's file too."""
        for part in self._parts.values():
            part.close()
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None


def _seq_of(field: bytes) -> int:
    """The seq a slot starts with (-1: empty or unreadable)."""
    try:
        return int(field)
    except ValueError:
        return -1


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """What a store needs to keep the chain keyed: the key and the head's checkpoint."""

    key: bytes
    checkpoint: Checkpoint | None = None
