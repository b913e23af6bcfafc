"""RandomIds: random parts drawn a block at a time, each used once, fresh after a fork."""

from __future__ import annotations

import re
import threading

from ordergate import clock
from ordergate.clock import RANDOM_BLOCK, RandomIds

ID = re.compile(r"ord_[0-9a-f]{12}[0-9a-f]{20}")


def test_ids_keep_their_shape_and_never_repeat_across_blocks() -> None:
    ids = RandomIds()
    made = [ids.next_id("ord") for _ in range(3 * RANDOM_BLOCK + 7)]
    assert all(ID.fullmatch(i) for i in made)
    assert len({i[-20:] for i in made}) == len(made)  # every random part is its own


def test_threads_never_share_a_random_part() -> None:
    ids = RandomIds()
    made: list[str] = []

    def draw() -> None:
        mine = [ids.next_id("ord") for _ in range(RANDOM_BLOCK)]
        made.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({i[-20:] for i in made}) == 4 * RANDOM_BLOCK


def test_a_forked_child_does_not_use_the_parent_s_pool() -> None:
    ids = RandomIds()
    ids.next_id("ord")  # the pool is drawn
    pool = ids._pool
    clock._after_fork()  # what os.register_at_fork runs in a child
    child_id = ids.next_id("ord")
    assert ids._pool != pool
    assert child_id[-20:] == ids._pool[:20]
    assert child_id[-20:] not in pool
