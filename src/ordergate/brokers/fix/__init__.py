"""FIX 4.4 over QuickFIX: an initiator adapter (``fix``) and a counterparty for tests
(``ordergate fix-acceptor``).

Nothing here imports ``quickfix`` until an adapter or an acceptor is built (the extra
``fix`` installs it). The modules, one idea each:

- ``settings``  ``ORDERGATE_FIX_*``: the QuickFIX session file, account, symbols, tags,
  credentials (553/554, secrets);
- ``sessionfile`` reads and checks the QuickFIX settings file (``PersistMessages=N``);
- ``codec``     our requests to 35=D/F/G/H and 35=8/9/j/3 to :class:`Report` (no state);
- ``journal``   the durable record of what the counterparty said (chains, executions);
- ``views``     a journal's order as a whole :class:`~ordergate.domain.wire.BrokerOrder`;
- ``session``   the QuickFIX application: logon, credentials, waiters, the resync;
- ``adapter``   :class:`FixBroker`, the broker port;
- ``plugin``    the registry entry;
- ``acceptor``  the counterparty (matching, faults) and its command.
"""
