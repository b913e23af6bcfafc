"""Zerodha Kite Connect v3 (``kiteconnect``): the ``kite`` broker adapter.

One package (docs/adapters.md): ``settings`` (``ORDERGATE_KITE_*``), ``tags`` (our client
order ids as Kite's 20-character tags, and back), ``translate`` (Kite's order book,
trades, positions and margins <-> our wire types), ``errors`` (the SDK's exceptions onto
ours), ``session`` (the daily access token and its kill switch), ``adapter``
(:class:`~ordergate.brokers.kite.adapter.KiteBroker`), ``postback`` (checksums),
``routes`` (the FastAPI router), ``cli`` (the typer sub-app) and ``plugin`` (the
registry entry). Importing this package imports neither the SDK nor FastAPI.
"""
