"""Alpaca (US equities) over ``alpaca-py``: REST for orders, the ``trade_updates``
websocket for changes, the market-data client for quotes.

Imported only when ``exec_broker_adapter: alpaca`` picks it (``pip install
'ordergate[alpaca]'``); ``plugin.PLUGIN`` is what the entry point names.
"""
