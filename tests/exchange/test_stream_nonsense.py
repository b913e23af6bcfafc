"""A report stream that answers something other than the exchange's reports (another
server on the port, a proxy's page) takes the stream down; it does not kill its thread."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ordergate.brokers.exchange import ExchangeBroker


class _NotTheExchange(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = {"last_seq": 0, "detail": "not here"}  # health-like, never reports
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_a_nonsense_answer_keeps_the_stream_thread_alive() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTheExchange)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    broker = ExchangeBroker(f"http://127.0.0.1:{server.server_port}", stream_wait=0.05)
    try:
        broker.subscribe(lambda order: None)
        time.sleep(0.5)
        thread = broker._stream_thread
        assert thread is not None
        assert thread.is_alive()
        assert not broker.stream_up
    finally:
        broker.close()
        server.shutdown()
        server.server_close()
