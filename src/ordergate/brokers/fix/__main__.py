"""``python -m ordergate.brokers.fix``: the FIX acceptor as its own process (the same
command as ``ordergate fix-acceptor``)."""

from ordergate.brokers.fix.cli import app

app()
