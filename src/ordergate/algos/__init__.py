"""Execution algorithms as parent orders: pure rules, no I/O.

A parent order is an intent with an ``algo`` block (:mod:`ordergate.domain.algo_terms`: the
intent carries it, so its terms are the domain's); each algorithm is a
schedule (:mod:`.schedules`): given the parent's terms, the clock and the market seen
so far, how much should have been sent by now. :mod:`.decide` turns a schedule and the
children as stored into the next step (send a slice, cancel a stale one, wait, done),
never more than the parent has left; :mod:`.parent` is the parent's record, its
progress and its transaction-cost figures. The engine (``engine/algos.py``) carries the
decisions out through the normal submit path.
"""
