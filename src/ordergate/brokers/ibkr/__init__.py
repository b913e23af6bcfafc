"""Interactive Brokers over ``ib_async`` (the ``ibkr`` extra): TWS or IB Gateway.

Imported only when ``exec_broker_adapter`` is ``ibkr`` (the entry point names
``ordergate.brokers.ibkr.plugin:PLUGIN``). The modules, one idea each:

- ``settings`` — ``ORDERGATE_IBKR_*`` and the ``ibkr:`` block;
- ``contracts`` — our symbols to IB contracts (stocks by default, futures and FX
  described in settings), with tick and lot from the contract details;
- ``ids`` — the durable ledger of IB order ids, written before ``placeOrder``;
- ``errors`` — IB's error codes onto ours (a table), warnings apart;
- ``translate`` — ib_async's trades and fills to :class:`BrokerOrder`;
- ``redact`` — keeps the account number and secrets out of ib_async's log lines;
- ``session`` — ib_async on its own event loop in its own thread, reconnecting;
- ``adapter`` — :class:`IbkrBroker`, the broker port.
"""
