"""Raw HTTP clients on one epoll loop: many long-polls at once, plus the posts that answer them.

The loop does nothing but read, so the time at which each answer arrives is taken as its bytes come in
(when the poll that reported them returned).
Every request says `Connection: close`: nginx closes when the answer is complete.
"""
import json
import select
import socket
import time


class Clients:
    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.epoll = select.epoll()
        self.sockets = {}
        self.responses = {}
        self.answered_at = {}
        self.open = 0

    def send(self, method, path, body=None):
        """Sends a request on a new connection; returns its id."""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\nConnection: close\r\n"
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(head.encode() + b"\r\n" + payload)
        s.setblocking(False)
        fd = s.fileno()
        self.sockets[fd] = s
        self.responses[fd] = bytearray()
        self.epoll.register(fd, select.EPOLLIN)
        self.open += 1
        return fd

    def collect(self, timeout, until=None):
        """Reads until every connection is closed by the server (or only `until`'s ones, when given),
        or `timeout` s pass. Returns whether it got them all."""
        deadline = time.monotonic() + timeout
        waiting = set(until) if until is not None else None

        def done():
            return not waiting if waiting is not None else self.open == 0

        while not done() and time.monotonic() < deadline:
            events = self.epoll.poll(0.05, maxevents=1024)
            # Every answer in this batch had arrived when poll returned: reading the batch takes
            # this loop's own time, which is not the server's.
            now = time.monotonic()
            for fd, _ in events:
                self.answered_at.setdefault(fd, now)
                try:
                    chunk = self.sockets[fd].recv(65536)
                except ConnectionError:
                    chunk = b""  # reset (nginx dropping connections it has no room for): no answer
                if chunk:
                    self.responses[fd] += chunk
                else:
                    self.epoll.unregister(fd)
                    self.open -= 1
                    if waiting is not None:
                        waiting.discard(fd)
        return done()

    def status(self, fd):
        response = self.responses[fd]
        return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0

    def body(self, fd):
        return bytes(self.responses[fd].partition(b"\r\n\r\n")[2])

    def close(self):
        for s in self.sockets.values():
            s.close()
        self.epoll.close()
