"""The simulated exchange: its own process, its own SQLite, a small HTTP/JSON protocol.

Heavy parts (the HTTP server) are imported only by ``server.py``; the adapter lives in
``ordergate.brokers.exchange``. See ``protocol.py`` for the wire format and
``faults.py`` for the knobs.
"""
