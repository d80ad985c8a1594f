"""A quote server 200 ms away: every answer waits `latency_ms`, then is the same CSV as bench/quotes.conf's.

Run as its own process (`python3 -m tdbench.farquotes PORT LATENCY_MS`), one thread per request, so
that many fetches can wait at once and the harness's own process is not involved.
"""
import http.server
import signal
import socketserver
import sys
import time

BODY = b"Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00:09,92.1,94,91.5,93.42,51234567\r\n"


def main():
    port, latency = int(sys.argv[1]), int(sys.argv[2]) / 1000

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            time.sleep(latency)
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
