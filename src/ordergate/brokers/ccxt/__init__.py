"""Crypto exchanges over ``ccxt`` (Binance spot is the one tested).

Imported only when ``exec_broker_adapter: ccxt`` picks it (``pip install
'ordergate[ccxt]'``); ``plugin.PLUGIN`` is what the entry point names.
"""
