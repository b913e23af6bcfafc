"""What an adapter's own tests need to show it keeps ordergate's broker contract.

- :mod:`ordergate.testing.harness` — the harness an adapter's tests provide (no pytest);
- :mod:`ordergate.testing.broker_contract` — the suite itself (imports pytest).

Nothing here is imported by ``import ordergate``. See ``docs/adapters.md``.
"""
