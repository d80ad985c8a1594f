"""bench/run.sh --soak: many order clients for minutes on end, then three questions.

1. Errors: did any request fail? wrk's socket errors, timeouts and non-2xx answers, and nginx's access
   log (a second count, minute by minute, that also says which statuses).
2. Memory: is the responder's RSS flat? The median over the last minute against the median over the
   second minute (the first is warm-up: allocator arenas, SQLite's page caches and the statement
   caches fill). Flat means it grew by at most FLAT_FRACTION or FLAT_MIB, whichever allows more.
3. Descriptors: does the responder hold more after the load than before it? Both counts are taken
   with nothing in flight (held requests drained). "Before" is after a short warm-up load, because
   some descriptors are opened once, on first use (the database pool opens reader connections, each
   with the database and its -wal, as concurrent reads first need them); the count before any load
   is reported too, with what each descriptor points at.

The load is 1000 wrk connections POSTing orders (batch size 10, the default), with the mock
execution server taking LATENCY_MS per call. By default, 100 long-polls are held on a room all along,
re-sent when answered, and a message is posted every POST_EVERY s: the chat's held requests get the
same soak (their answers count towards the errors).
"""
import json
import os
import select
import socket
import statistics
import threading
import time
from datetime import datetime

from . import wrk
from .report import run_line
from .stack import TICKS_PER_SECOND, wait_for

CLIENTS = 1000
# A broker's round-trip is tens of milliseconds. With 0 ms the mock answers before the batch's
# execution timer or any other batch runs, so nothing overlaps; 50 ms keeps several batches in
# flight, each held order waiting on an async call with a timeout, as in production. It does not make
# the load lighter: 1000 clients ÷ 50 ms allow 20,000 orders/s, four times what 2 cores do.
LATENCY_MS = 50
SAMPLE_SECONDS = 10
WARMUP_SECONDS = 15
FLAT_FRACTION = 0.10
FLAT_MIB = 5.0
FD_TOLERANCE = 4
# The responder's SQLite connections: GRDB's pool (a writer and up to 5 readers, opened on first
# need) and the change watcher's. Each holds the database and its -wal open (the -shm mapping is one
# per process): descriptors on those files are bounded by this, not compared with "before".
DATABASE_CONNECTIONS = 7
DRAIN_TIMEOUT = 150  # above ORDER_TIMEOUT (120 s): a held order is answered by then, whatever happens
CHAT_WAITERS = 100
CHAT_WAIT_SECONDS = 10
POST_EVERY = 15
ROOM = 1


def health(stack):
    status, body = stack.get("/api/health")
    return body if status == 200 and isinstance(body, dict) else None


def drain(stack):
    """Waits until the responder holds nothing: no held request, no pending order, no batch in flight.
    Returns the seconds it took and the last health figures."""
    started = time.monotonic()
    last = {}

    def drained():
        figures = health(stack)
        if figures:
            last.update(figures)
            return (figures["held_requests"] == 0 and figures["orders"]["pending"] == 0
                    and figures["orders"]["batches_in_flight"] == 0)
        return False
    try:
        wait_for(drained, DRAIN_TIMEOUT, "held requests to drain")
        return time.monotonic() - started, last
    except RuntimeError:
        return None, last


def snapshot(stack):
    """The responder at rest: descriptors (and what they point at), threads, memory, health figures."""
    figures = health(stack)
    time.sleep(0.5)  # the health request's own connection is idle again by now
    responder = stack.fastcgi
    fds, kinds = responder.open_fds(), responder.fd_kinds()
    # nginx keeps up to its pool's size of connections to the responder open between requests:
    # those are descriptors in use, not leaked (the health request's own is one of them).
    kept = ((health(stack) or {}).get("idle_kept_connections") or 0) + 1
    return {"fds": fds, "kept": kept, "fd_kinds": kinds, "threads": responder.threads(),
            "memory_mib": responder.memory_mib(), "health": figures}


def database_mib(stack):
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = stack.database + suffix
        if os.path.exists(path):
            total += os.path.getsize(path)
    return total / 2**20


class Sampler:
    """The responder every SAMPLE_SECONDS: memory, threads, descriptors, CPU, and its health figures."""

    def __init__(self, stack, started):
        self.stack = stack
        self.started = started
        self.samples = []
        self.failures = []
        self.last_ticks = stack.fastcgi.cpu_ticks()
        self.last_time = time.monotonic()

    def sample(self):
        responder = self.stack.fastcgi
        now = time.monotonic()
        try:
            ticks = responder.cpu_ticks()
            record = {"t": now - self.started, "memory_mib": responder.memory_mib(), "threads": responder.threads(),
                      "fds": responder.open_fds(),
                      "cpu_percent": 100 * (ticks - self.last_ticks) / TICKS_PER_SECOND / max(1e-6, now - self.last_time)}
        except (OSError, KeyError) as error:
            self.failures.append(f"{now - self.started:.0f} s: cannot read /proc for the responder: {error}")
            return
        self.last_ticks, self.last_time = ticks, now
        figures = health(self.stack)
        if figures is None:
            self.failures.append(f"{record['t']:.0f} s: /api/health did not answer 200")
        else:
            record["health"] = {"held_requests": figures["held_requests"], "long_polls": figures["long_polls"],
                                "requests_accepted": figures["requests_accepted"], "clients_gone": figures["clients_gone"],
                                **{k: figures["orders"][k] for k in ("pending", "batches_in_flight", "batches_executed",
                                                                     "batches_failed", "withdrawn")}}
        record["database_mib"] = database_mib(self.stack)
        self.samples.append(record)


class LongPollChurn(threading.Thread):
    """`waiters` long-polls held on one room all along: each is sent again as soon as it is answered
    (by a post, or empty when its wait ends), and a message is posted every `post_every` s. Raw
    sockets on one epoll loop, one connection per request (`Connection: close`)."""

    def __init__(self, port, token, waiters, after, wait_seconds=CHAT_WAIT_SECONDS, post_every=POST_EVERY):
        super().__init__(daemon=True)
        self.port, self.token = port, token
        self.waiters, self.wait_seconds, self.post_every = waiters, wait_seconds, post_every
        self.after = after
        self.stopping = threading.Event()
        self.counts = {"polls": 0, "polls_with_messages": 0, "polls_empty": 0, "posts": 0, "connect_errors": 0}
        self.statuses = {}
        self.errors = []  # the first few, for the report

    def _send(self, epoll, conns, kind, method, path, body=None):
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.token}\r\n"
                "Connection: close\r\n")
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(head.encode() + b"\r\n" + payload)
        except OSError as error:
            self.counts["connect_errors"] += 1
            self._error(f"{kind}: {error}")
            return
        s.setblocking(False)
        conns[s.fileno()] = (s, kind, bytearray())
        epoll.register(s.fileno(), select.EPOLLIN)

    def _poll(self, epoll, conns):
        self._send(epoll, conns, "poll", "GET", f"/api/rooms/{ROOM}/messages?after={self.after}&wait={self.wait_seconds}")

    def _error(self, text):
        if len(self.errors) < 10:
            self.errors.append(text)

    def run(self):
        epoll = select.epoll()
        conns = {}
        for _ in range(self.waiters):
            self._poll(epoll, conns)
        next_post = time.monotonic() + self.post_every
        posted = 0
        while not self.stopping.is_set():
            if time.monotonic() >= next_post:
                posted += 1
                self._send(epoll, conns, "post", "POST", f"/api/rooms/{ROOM}/messages", {"text": f"soak message {posted}"})
                next_post += self.post_every
            for fd, _ in epoll.poll(0.2):
                s, kind, data = conns[fd]
                try:
                    chunk = s.recv(65536)
                except OSError as error:
                    chunk = b""
                    self._error(f"{kind}: {error}")
                if chunk:
                    data += chunk
                    continue
                epoll.unregister(fd)
                del conns[fd]
                s.close()
                self._answered(kind, bytes(data))
                if kind == "poll" and not self.stopping.is_set():
                    self._poll(epoll, conns)
        # Stop: the long-polls still held are left by their clients (the responder's "client gone" path).
        for s, _, _ in conns.values():
            s.close()
        epoll.close()

    def _answered(self, kind, data):
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        key = f"{kind} {status}"
        self.statuses[key] = self.statuses.get(key, 0) + 1
        if not 200 <= status < 300:
            self._error(f"{kind}: status {status}: {data[:200]!r}")
            return
        if kind == "post":
            self.counts["posts"] += 1
            return
        self.counts["polls"] += 1
        try:
            messages = json.loads(data.partition(b"\r\n\r\n")[2])
        except ValueError:
            self._error(f"poll: not JSON: {data[:200]!r}")
            return
        if messages:
            self.counts["polls_with_messages"] += 1
            self.after = max(self.after, max(m["id"] for m in messages))
        else:
            self.counts["polls_empty"] += 1

    def stop(self):
        self.stopping.set()
        self.join(10)
        errors = sum(n for key, n in self.statuses.items() if not 200 <= int(key.split()[1]) < 300) + self.counts["connect_errors"]
        return {"waiters": self.waiters, "wait_seconds": self.wait_seconds, "post_every": self.post_every,
                **self.counts, "statuses": self.statuses, "errors": errors, "error_examples": self.errors}


def access_log_minutes(stack, started_wall, minutes):
    """POST /api/orders answers by minute of the soak (from nginx's access log, combined format):
    status counts per minute. Answers logged after the load (its last second) go to the last minute."""
    path = os.path.join(stack.dir, "nginx/logs/access.log")
    per_minute = [dict() for _ in range(minutes)]
    parsed_times = {}
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        for line in f:
            if b'"POST /api/orders ' not in line:
                continue
            try:
                stamp = line.split(b"[", 1)[1].split(b"]", 1)[0]
                when = parsed_times.get(stamp)
                if when is None:
                    when = parsed_times[stamp] = datetime.strptime(stamp.decode(), "%d/%b/%Y:%H:%M:%S %z").timestamp()
                status = int(line.split(b'" ', 1)[1].split(b" ", 1)[0])
            except (IndexError, ValueError):
                continue
            # Second resolution: a line in the second the load began belongs to it unless before it.
            minute = int((when - int(started_wall)) // 60)
            if minute < 0:
                continue  # the warm-up
            minute = min(minute, minutes - 1)
            per_minute[minute][status] = per_minute[minute].get(status, 0) + 1
    return per_minute


def log_levels(path, examples=5):
    """Lines of the responder's log by level, and the first few at warning or above."""
    levels, worst = {}, []
    with open(path, "rb") as f:
        for line in f:
            parts = line.split(b" ", 2)
            level = parts[1].decode(errors="replace") if len(parts) > 2 else "?"
            levels[level] = levels.get(level, 0) + 1
            if level in ("warning", "error", "critical") and len(worst) < examples:
                worst.append(line.decode(errors="replace").rstrip())
    return {"levels": levels, "examples": worst}


def median_in(samples, start, end, key):
    values = [key(s) for s in samples if start <= s["t"] < end]
    return statistics.median(values) if values else None


def slope_mib_per_minute(samples, start):
    points = [(s["t"] / 60, s["memory_mib"]["VmRSS"]) for s in samples if s["t"] >= start]
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else None


def run(stack, minutes, latency_ms=LATENCY_MS, clients=CLIENTS, chat_waiters=CHAT_WAITERS, warmup_seconds=WARMUP_SECONDS,
        progress=lambda text: None):
    duration = minutes * 60
    stack.start_responder(EXECUTION_LATENCY_MS=latency_ms)
    result = {"minutes": minutes, "clients": clients, "latency_ms": latency_ms, "sample_seconds": SAMPLE_SECONDS,
              "database_path": stack.database,
              "warmup_seconds": warmup_seconds, "fresh": snapshot(stack)}
    batch_size = result["fresh"]["health"]["orders"]["batch_size"]
    result["batch_size"] = batch_size

    if warmup_seconds:
        progress(f"warm-up: {clients} order clients for {warmup_seconds} s")
        result["warmup"] = wrk.Run(stack, "/api/orders", clients, warmup_seconds, mode="order").finish()
        result["warmup_drain_seconds"], _ = drain(stack)
    result["before"] = snapshot(stack)

    churn = None
    if chat_waiters:
        status, messages = stack.request("GET", f"/api/rooms/{ROOM}/messages")
        after = max((m["id"] for m in messages), default=0) if status == 200 else 0
        churn = LongPollChurn(stack.port, stack.token, chat_waiters, after)
        churn.start()

    progress(f"soak: {clients} order clients for {minutes} min, sampling every {SAMPLE_SECONDS} s")
    started_wall = time.time()
    started = time.monotonic()
    load = wrk.Run(stack, "/api/orders", clients, duration, mode="order")
    sampler = Sampler(stack, started)
    next_sample = started + SAMPLE_SECONDS
    next_progress = started + 60
    while load.running():
        now = time.monotonic()
        if now >= next_sample:
            sampler.sample()
            next_sample += SAMPLE_SECONDS
        if now >= next_progress:
            last = sampler.samples[-1] if sampler.samples else None
            if last:
                progress(f"soak: {last['t'] / 60:.0f} min, RSS {last['memory_mib']['VmRSS']:.1f} MiB, "
                         f"{last['threads']} threads, {last['fds']} fds, "
                         f"{last.get('health', {}).get('batches_executed', 0) * batch_size:,} orders executed")
            next_progress += 60
        if not stack.fastcgi.alive():
            break
        time.sleep(0.25)
    result["wrk"] = load.finish()
    result["load_seconds"] = time.monotonic() - started
    result["samples"] = sampler.samples
    result["sample_failures"] = sampler.failures
    result["chat"] = churn.stop() if churn else None

    progress("soak: load stopped; waiting for held requests to drain")
    result["drain_seconds"], result["drain_health"] = drain(stack)
    time.sleep(2)
    result["after"] = snapshot(stack)
    result["database_mib"] = database_mib(stack)
    result["per_minute_status"] = access_log_minutes(stack, started_wall, minutes)
    result["responder_log"] = log_levels(stack.fastcgi.log_path)
    result["nginx_alerts"] = (stack.nginx_errors("worker_connections are not enough")
                              + stack.nginx_errors("Too many open files"))
    return result


def judge(r):
    """The criteria: returns (checks, failures), checks being (name, ok, detail, limit)."""
    samples = r["samples"]
    duration = r["minutes"] * 60
    window = 60 if duration >= 180 else duration / 3
    rss = lambda s: s["memory_mib"]["VmRSS"]
    reference = median_in(samples, window, 2 * window, rss)
    last = median_in(samples, duration - window, duration + SAMPLE_SECONDS, rss)
    r["rss"] = {"window_seconds": window, "reference_mib": reference, "last_mib": last,
                "slope_mib_per_minute": slope_mib_per_minute(samples, window)}
    checks = []

    statuses = r["per_minute_status"] or []
    # 499: nginx's "the client closed the connection": wrk, stopping with orders in flight.
    log_errors = sum(n for minute in statuses for status, n in minute.items() if not 200 <= status < 300 and status != 499)
    closed = sum(minute.get(499, 0) for minute in statuses)
    chat_errors = r["chat"]["errors"] if r["chat"] else 0
    errors = r["wrk"]["errors"] + chat_errors
    wrk_detail = ", ".join(f"{kind} {n}" for kind, n in r["wrk"]["error_detail"].items())
    detail = (f"wrk: {r['wrk']['errors']}" + (f" ({wrk_detail})" if wrk_detail else "")
              + f"; nginx log: {log_errors} non-2xx" + (f"; chat: {chat_errors}" if r["chat"] else ""))
    checks.append(("errors", errors == 0 and log_errors == 0, detail, "0"))

    if reference is None or last is None:
        checks.append(("RSS flat", False, "too few samples", ""))
    else:
        allowed = max(FLAT_FRACTION * reference, FLAT_MIB)
        growth = last - reference
        first_label = "2nd minute" if window == 60 else "2nd third"
        last_label = "last minute" if window == 60 else "last third"
        checks.append(("RSS flat", growth <= allowed,
                       f"median {reference:.1f} MiB ({first_label}) → {last:.1f} MiB ({last_label}): {growth:+.1f} MiB "
                       f"({100 * growth / reference:+.1f} %); trend {r['rss']['slope_mib_per_minute']:+.2f} MiB/min",
                       f"≤ +{allowed:.1f} MiB (the larger of {FLAT_FRACTION:.0%} and {FLAT_MIB:.0f} MiB)"))

    before, after = r["before"]["fds"], r["after"]["fds"]
    db_before, db_after = database_fds(r, r["before"]), database_fds(r, r["after"])
    kept_before, kept_after = r["before"]["kept"], r["after"]["kept"]
    ok = (after - db_after - kept_after <= before - db_before - kept_before + FD_TOLERANCE
          and db_after <= 2 * DATABASE_CONNECTIONS + 1)
    checks.append(("no fd leak", ok,
                   f"{before} before (after the warm-up; {r['fresh']['fds']} at start) → {after} after, drained; "
                   f"of which on the database files {db_before} → {db_after}, nginx's kept connections "
                   f"{kept_before} → {kept_after}",
                   f"≤ before + {FD_TOLERANCE}, not counting the database files (those ≤ {2 * DATABASE_CONNECTIONS + 1}: "
                   f"{DATABASE_CONNECTIONS} connections × database and -wal, and the -shm) nor the kept connections"))
    checks.append(("held requests drained", r["drain_seconds"] is not None,
                   f"in {r['drain_seconds']:.1f} s" if r["drain_seconds"] is not None else
                   f"not within {DRAIN_TIMEOUT} s: {r['drain_health']}", f"≤ {DRAIN_TIMEOUT} s"))
    if r["sample_failures"]:
        checks.append(("responder answered health probes", False, "; ".join(r["sample_failures"][:5]), ""))
    if r["nginx_alerts"]:
        checks.append(("nginx had connections to spare", False, "; ".join(r["nginx_alerts"][:3]), ""))
    if r.get("exit_status") not in (None, 0):
        checks.append(("responder exited cleanly", False, f"status {r['exit_status']}", "0"))
    failures = [f"{name}: {detail}" for name, ok, detail, _ in checks if not ok]
    return checks, failures, closed


def database_fds(r, snapshot):
    return sum(n for kind, n in snapshot["fd_kinds"].items() if kind.startswith(r["database_path"]))


def markdown(r, checks, closed):
    lines = [
        run_line(r, "Soak run"),
        "",
        f"Load: {r['clients']} wrk connections POSTing orders for {r['minutes']} min through nginx, batch size "
        f"{r['batch_size']}, mock execution latency {r['latency_ms']} ms"
        + (f", after a {r['warmup_seconds']} s warm-up with the same load" if r["warmup_seconds"] else "")
        + (f"; and {r['chat']['waiters']} long-polls (wait {r['chat']['wait_seconds']} s) held on a room throughout, each sent "
           f"again when answered, a message posted every {r['chat']['post_every']} s" if r["chat"] else "")
        + f". The responder sampled every {r['sample_seconds']} s.",
        "",
        "| Criterion | Result | Limit | |",
        "|---|---|---|---|",
    ]
    for name, ok, detail, limit in checks:
        lines.append(f"| {name} | {detail} | {limit} | {'pass' if ok else '**FAIL**'} |")

    w = r["wrk"]
    samples = r["samples"]
    threads = [s["threads"] for s in samples]
    fds = [s["fds"] for s in samples]
    lines += [
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| orders answered (wrk) | {w['requests']:,} in {w['seconds']:.0f} s: {w['rate']:,.0f} orders/s; "
        f"latency p50 {w['p50_ms']:.0f} ms, p99 {w['p99_ms']:.0f} ms, max {w['max_ms']:.0f} ms |",
        f"| batches executed, failed; orders withdrawn (whole run) | {r['after']['health']['orders']['batches_executed']:,}, "
        f"{r['after']['health']['orders']['batches_failed']}; {r['after']['health']['orders']['withdrawn']} |",
        f"| orders in flight when wrk stopped (nginx 499) | {closed} |",
        f"| responder threads | {r['fresh']['threads']} at start, {r['before']['threads']} before, "
        f"{min(threads)}–{max(threads)} under load, {r['after']['threads']} after |" if threads else "| responder threads | no samples |",
        f"| responder fds | {r['fresh']['fds']} at start, {r['before']['fds']} before, {min(fds)}–{max(fds)} under load "
        f"(the held requests' connections), {r['after']['fds']} after |" if fds else "| responder fds | no samples |",
        f"| responder RSS at rest (VmRSS / anon / file / shmem MiB) | "
        + " → ".join(f"{label} {s['memory_mib']['VmRSS']:.1f} / {s['memory_mib']['RssAnon']:.1f} / "
                     f"{s['memory_mib']['RssFile']:.1f} / {s['memory_mib']['RssShmem']:.1f}"
                     for label, s in (("start", r["fresh"]), ("before", r["before"]), ("after", r["after"]))) + " |",
        f"| held requests after the load | 0 after {r['drain_seconds']:.1f} s |" if r["drain_seconds"] is not None
        else f"| held requests after the load | **{r['drain_health'].get('held_requests')} still held after {DRAIN_TIMEOUT} s** |",
        f"| database, -wal and -shm at the end | {r['database_mib']:.0f} MiB |",
    ]
    if r["chat"]:
        c = r["chat"]
        lines.append(f"| long-polls answered: with messages, empty (wait over); posts | {c['polls']:,}: {c['polls_with_messages']:,}, "
                     f"{c['polls_empty']:,}; {c['posts']} (statuses {', '.join(f'{k}: {v}' for k, v in sorted(c['statuses'].items()))}) |")
    if r.get("responder_log"):
        log = r["responder_log"]
        lines.append("| responder log lines by level | " + ", ".join(f"{k} {v:,}" for k, v in sorted(log["levels"].items()))
                     + ("; first warnings: " + " / ".join(f"`{e}`" for e in log["examples"]) if log["examples"] else "") + " |")
    changed = fd_changes(r["before"]["fd_kinds"], r["after"]["fd_kinds"])
    if changed:
        lines.append(f"| fds that changed, before → after | {changed} |")
    grown = fd_changes(r["fresh"]["fd_kinds"], r["before"]["fd_kinds"])
    if grown:
        lines.append(f"| fds opened by the warm-up, start → before | {grown} |")

    lines += ["", "| Minute | Orders answered (nginx 2xx) | Orders/s | Other statuses | RSS median MiB (anon) | "
                  "Threads | fds under load (median) | Responder CPU | Held requests (median) |",
              "|---|---|---|---|---|---|---|---|---|"]
    per_minute = r["per_minute_status"] or [{} for _ in range(r["minutes"])]
    for minute, statuses in enumerate(per_minute):
        in_minute = [s for s in samples if minute * 60 <= s["t"] < (minute + 1) * 60
                     or (minute == r["minutes"] - 1 and s["t"] >= minute * 60)]
        ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
        other = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()) if not 200 <= status < 300) or "0"
        if not in_minute:
            lines.append(f"| {minute + 1} | {ok:,} | {ok / 60:,.0f} | {other} | - | - | - | - | - |")
            continue
        med = lambda key: statistics.median(key(s) for s in in_minute)
        held = [s["health"]["held_requests"] for s in in_minute if "health" in s]
        held_text = f"{statistics.median(held):.0f}" if held else "-"
        lines.append(f"| {minute + 1} | {ok:,} | {ok / 60:,.0f} | {other} | {med(lambda s: s['memory_mib']['VmRSS']):.1f} "
                     f"({med(lambda s: s['memory_mib']['RssAnon']):.1f}) | {min(s['threads'] for s in in_minute)}–"
                     f"{max(s['threads'] for s in in_minute)} | {med(lambda s: s['fds']):.0f} | "
                     f"{med(lambda s: s['cpu_percent']):.0f}% | {held_text} |")
    lines += ["", "RSS flat means the last minute's median RSS is at most the larger of "
              f"{FLAT_FRACTION:.0%} and {FLAT_MIB:.0f} MiB above the second minute's (the first minute is warm-up). "
              f"No fd leak means at most {FD_TOLERANCE} more descriptors after the load than before it, both counted "
              "with every held request answered, apart from the SQLite files, which the connection pool opens as "
              f"concurrent reads first need them, up to {DATABASE_CONNECTIONS} connections, and the connections nginx "
              "keeps open between requests (`idle_kept_connections` in health, up to its upstream pool's size). "
              "Throughput is noisy on a shared machine; it is not a criterion here."]
    return "\n".join(lines) + "\n"


def fd_changes(before, after):
    parts = []
    for kind in sorted(set(before) | set(after)):
        if before.get(kind, 0) != after.get(kind, 0):
            parts.append(f"{kind}: {before.get(kind, 0)} → {after.get(kind, 0)}")
    return "; ".join(parts)
