"""What bench/run.sh measures. Each scenario returns plain dicts that report.py turns into the table."""
import os
import re
import statistics
import time

from . import wrk
from .database import DatabaseMeter, PostgresCluster
from .longpoll import Clients
from .stack import CPUMeter, set_keep_conn, wait_for

ROOM = 1


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# The bare libfcgi program as the issue measured it: 4 threads without kept connections, 48 with
# them (each thread serves one kept connection until nginx closes it) and nginx's upstream pool at 32.
CONSTANT_THREADS = {False: 4, True: 48}
CONSTANT_KEEPALIVE = 32


def ceilings(stack, profile):
    """nginx alone (a static file); nginx → the FastCGI core answering a constant, on the shipped
    nginx.conf at each client count the orders use, and with keep_conn off and on; nginx → a bare C
    libfcgi program answering a constant, keep_conn off and on. nginx restarts for each edit of its
    conf and ends on the shipped one."""
    shipped = stack.shipped_keep_conn
    stack.start_fixture()
    static = {c: wrk.run(stack, "/index.html", c, profile.seconds) for c in profile.ceiling_clients}
    core = {c: wrk.run(stack, "/api/health", c, profile.seconds) for c in profile.order_clients}
    core_kept = {}
    for on in (False, True):
        if on == shipped["on"]:
            settings, runs = shipped, {c: core[c] for c in profile.keep_clients if c in core}
        else:
            stack.start_nginx(lambda conf: set_keep_conn(conf, on))
            settings = stack.keep_conn
            runs = {c: wrk.run(stack, "/api/health", c, profile.seconds) for c in profile.keep_clients}
        core_kept["on" if on else "off"] = {"settings": settings, "shipped": on == shipped["on"], "runs": runs}
    stack.stop_fastcgi()

    constant = {}
    for on, clients in ((False, profile.constant_off_clients), (True, profile.constant_on_clients)):
        stack.start_nginx(lambda conf: set_keep_conn(conf, on, CONSTANT_KEEPALIVE))
        stack.start_constant(CONSTANT_THREADS[on])
        constant["on" if on else "off"] = {"settings": stack.keep_conn, "threads": CONSTANT_THREADS[on],
                                           "runs": {c: wrk.run(stack, "/api/health", c, profile.seconds) for c in clients}}
        stack.stop_fastcgi()
    stack.start_nginx()
    return {"static": static, "fastcgi": core, "shipped": shipped, "core": core_kept, "constant": constant}


def orders(stack, profile):
    """Orders at each concurrency with the mock at zero latency, then at 200 ms."""
    stack.start_responder(EXECUTION_LATENCY_MS=0)
    health = wrk.run(stack, "/api/health", profile.ceiling_clients[0], profile.seconds)
    immediate = {c: wrk.run(stack, "/api/orders", c, profile.seconds, mode="order") for c in profile.order_clients}
    responder = stack.fastcgi
    result = {"health": health, "immediate": immediate, "threads_after": responder.threads(), "fds_after": responder.open_fds()}

    latency_ms = 200
    stack.start_responder(EXECUTION_LATENCY_MS=latency_ms)
    slow = {}
    for c in profile.latency_clients:
        run = wrk.run(stack, "/api/orders", c, max(profile.seconds, 3), mode="order")
        # Each client has one order in flight, so with batches overlapping the latency allows
        # c / latency orders a second; no more than the same clients got with no latency at all.
        run["allowed_rate"] = min(c / (latency_ms / 1000), immediate[c]["rate"] if c in immediate else float("inf"))
        run["held_cost_p99_ms"] = run["p99_ms"] - latency_ms
        slow[c] = run
    result["slow"] = {"latency_ms": latency_ms, "runs": slow}
    return result


def last_message_id(stack):
    status, messages = stack.request("GET", f"/api/rooms/{ROOM}/messages")
    assert status == 200, f"GET messages: {status}"
    return max((m["id"] for m in messages), default=0)


def wait_held(stack, count):
    seen = {}

    def held():
        status, health = stack.get("/api/health")
        seen.update(health if status == 200 else {"health status": status})
        return status == 200 and health["long_polls"] >= count
    try:
        wait_for(held, 60, f"{count} long-polls to be held")
    except RuntimeError as timeout:
        # nginx answers 502 at once when the responder's listen backlog is full: say so.
        refused = stack.nginx_errors("Resource temporarily unavailable")
        raise RuntimeError(f"{timeout}; the last health answer: {seen}; nginx refused by a full backlog: {len(refused)}"
                           + "".join(f"\n  {line}" for line in refused[:3])) from None


def holding(stack):
    """What the responder and nginx hold while long-polls wait: the health figures, the responder's
    threads, descriptors and memory, and each nginx worker's descriptors."""
    status, health = stack.get("/api/health")
    responder = stack.fastcgi
    return {"long_polls": health["long_polls"] if status == 200 else None,
            "held_requests": health["held_requests"] if status == 200 else None,
            "threads": responder.threads(), "fds": responder.open_fds(), "rss_mib": responder.rss_mib(),
            "nginx_worker_fds": list(stack.nginx_workers().values())}


def chat(stack, profile):
    stack.start_responder(EXECUTION_LATENCY_MS=0)
    responder = stack.fastcgi
    result = {"fanout": {}}
    for waiters in profile.waiters:
        after = last_message_id(stack)
        clients = Clients(stack.port, stack.token)
        polls = [clients.send("GET", f"/api/rooms/{ROOM}/messages?after={after}&wait=30") for _ in range(waiters)]
        wait_held(stack, waiters)
        held = holding(stack)
        if waiters == profile.idle_waiters:
            time.sleep(1)  # the accept burst is over
            cpu, db = CPUMeter(responder), DatabaseMeter(stack.db)
            time.sleep(profile.idle_seconds)
            result["idle"] = {"waiters": waiters, "seconds": profile.idle_seconds, "cpu_percent": cpu.percent(),
                              "rss_mib": responder.rss_mib(), "threads": responder.threads(), **db.cpu()}
        started = time.monotonic()
        clients.send("POST", f"/api/rooms/{ROOM}/messages", {"text": f"fan-out to {waiters}"})
        complete = clients.collect(30, until=polls)
        times = [(clients.answered_at[fd] - started) * 1000 for fd in polls if fd in clients.answered_at]
        delivered = sum(1 for fd in polls if clients.status(fd) == 200 and f"fan-out to {waiters}".encode() in clients.body(fd))
        statuses = {}
        for fd in polls:
            statuses[clients.status(fd)] = statuses.get(clients.status(fd), 0) + 1
        clients.collect(5)
        clients.close()
        result["fanout"][waiters] = {"waiters": waiters, "delivered": delivered, "complete": complete, "statuses": statuses,
                                     "p50_ms": statistics.median(times) if times else None,
                                     "max_ms": max(times) if times else None, "held": held}

    # nginx's worker_connections (per worker) and worker_rlimit_nofile bound how many it can hold.
    result["nginx_alerts"] = (stack.nginx_errors("worker_connections are not enough")
                              + stack.nginx_errors("Too many open files"))
    result["post_to_visible"] = post_and_watch(stack, profile.samples, lambda i: f"visible {i}",
                                               lambda body, text: text.encode() in body)
    result["posting"] = wrk.run(stack, f"/api/rooms/{ROOM}/messages", profile.posting_clients, profile.seconds, mode="message")
    return result


def post_and_watch(stack, samples, text_for, arrived):
    """Posts `samples` times, one at a time, each while a long-poll waits; returns how long until the
    long-poll had what `arrived` looks for (p50/p99/max ms)."""
    times, misses = [], 0
    for i in range(samples):
        after = last_message_id(stack)
        clients = Clients(stack.port, stack.token)
        poll = clients.send("GET", f"/api/rooms/{ROOM}/messages?after={after}&wait=30")
        wait_held(stack, 1)
        started = time.monotonic()
        text = text_for(i)
        clients.send("POST", f"/api/rooms/{ROOM}/messages", {"text": text})
        if clients.collect(10, until=[poll]) and arrived(clients.body(poll), text):
            times.append((clients.answered_at[poll] - started) * 1000)
        else:
            misses += 1
        clients.collect(5)
        clients.close()
    if not times:
        return {"samples": samples, "misses": misses}
    return {"samples": samples, "misses": misses, "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99), "max_ms": max(times)}


def bot(stack, profile):
    stack.start_responder(EXECUTION_LATENCY_MS=0)
    stack.start_bots(1)
    result = {"reply": post_and_watch(stack, profile.bot_samples, lambda i: "/stock=aapl.us",
                                      lambda body, text: b"AAPL.US quote is $93.42 per share" in body)}
    cpu, db = CPUMeter(stack.bots[0]), DatabaseMeter(stack.db)
    time.sleep(profile.idle_seconds)
    result["idle"] = {"seconds": profile.idle_seconds, "cpu_percent": cpu.percent(), "rss_mib": stack.bots[0].rss_mib(), **db.cpu()}
    stack.stop_bots()

    result["throughput"] = {}
    for bots in (1, 2):
        result["throughput"][bots] = answer_backlog(stack, profile.jobs, bots)

    # The quote server 200 ms away (stooq is about that far): one fetch at a time, as the bot was
    # before STOCKBOT_CONCURRENCY, and the default. Distinct codes, so that no fetch is shared.
    stack.start_far_quote_server(profile.far_latency_ms)
    result["far"] = {"latency_ms": profile.far_latency_ms, "runs": {}}
    for concurrency in profile.far_concurrency:
        result["far"]["runs"][concurrency] = answer_backlog(stack, profile.far_jobs, 1, quote_url=stack.far_quote_url,
                                                            STOCKBOT_CONCURRENCY=concurrency)
    return result


def answer_backlog(stack, jobs, bots, quote_url=None, **settings):
    """Queues `jobs` commands while no bot runs, starts `bots` bots and times until every one is
    answered: `seconds` from the start of the bots, and `steady_rate`, the jobs/s between the first
    answers seen and the last (what the bots sustain, without their start)."""
    first = enqueue_commands(stack, jobs)
    started = time.monotonic()
    db = DatabaseMeter(stack.db)
    stack.start_bots(bots, quote_url=quote_url, **settings)
    seen = []  # (time, jobs finished) at the first poll that found some

    def finished():
        count = finished_jobs(stack, first)
        if count and not seen:
            seen.append((time.monotonic(), count))
        return count >= jobs
    wait_for(finished, 180, f"{jobs} jobs")
    ended = time.monotonic()
    seconds = ended - started
    measured = db.finish(jobs)
    stack.stop_bots()
    (first_seen, first_count), = seen
    steady = (jobs - first_count) / (ended - first_seen) if ended > first_seen and jobs > first_count else None
    return {"bots": bots, "jobs": jobs, "seconds": seconds, "rate": jobs / seconds, "steady_rate": steady, **measured, **settings}


def enqueue_commands(stack, count, at_once=200):
    """Queues `count` commands through nginx while no bot runs, `at_once` requests in flight, each
    for its own code (the quote server answers any code), so that every job is a fetch of its own;
    returns the first job's id."""
    ids = []
    for start in range(0, count, at_once):
        clients = Clients(stack.port, stack.token)
        sent = [clients.send("POST", f"/api/rooms/{ROOM}/messages", {"text": f"/stock=c{index}.us"})
                for index in range(start, min(count, start + at_once))]
        clients.collect(30)
        for fd in sent:
            job = re.search(rb'"job"\s*:\s*(\d+)', clients.body(fd))
            assert clients.status(fd) == 202 and job, f"command not queued: {clients.status(fd)} {clients.body(fd)[:200]}"
            ids.append(int(job.group(1)))
        clients.close()
    return min(ids)


def finished_jobs(stack, first):
    return stack.db.scalar(f"SELECT count(*) FROM job WHERE id >= {int(first)} AND status IN ('answered', 'delivered', 'dead')")


def machine():
    def first_line(command):
        return os.popen(command + " 2>&1").read().strip().splitlines()[0]
    with open("/proc/cpuinfo") as f:
        model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown CPU")
    with open("/proc/meminfo") as f:
        memory = int(f.readline().split()[1]) / 1024 / 1024
    debian = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(memory), "kernel": os.uname().release,
            "debian": debian, "nginx": first_line("nginx -v").replace("nginx version: ", ""),
            "swift": re.sub(r"^.*?Swift version ([^ ]+).*$", r"\1", first_line("swift --version"))}


def create_room(stack, name):
    status, body = stack.request("POST", "/api/rooms", {"name": name})
    assert status == 201, f"room not created: {status} {body}"
    return body["id"]


def seed_messages(db, room, count):
    """`count` messages in `room`, written straight into the database in one transaction (about a
    second for 200,000), a tenth of a second apart and ending two days ago, as an old room's history."""
    room, count = int(room), int(count)
    if isinstance(db, PostgresCluster):
        bot = "false" if db.scalar("SELECT data_type FROM information_schema.columns "
                                   "WHERE table_name = 'message' AND column_name = 'bot'") == "boolean" else "0"
        db.execute(f"""
            INSERT INTO message (room_id, author, text, bot, created_at)
            SELECT {room}, 'bench', 'history message ' || i, {bot},
                   now() - interval '2 days' + (i - {count}) * interval '0.1 second'
            FROM generate_series(1, {count}) AS i""")
        # Statistics for the planner now, as autovacuum would give them soon after such a load.
        db.execute("ANALYZE message")
    else:
        db.execute(f"""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count})
            INSERT INTO message (room_id, author, text, bot, created_at)
            SELECT {room}, 'bench', 'history message ' || i, 0,
                   strftime('%Y-%m-%d %H:%M:%f', 'now', '-2 days', printf('%+.1f seconds', (i - {count}) / 10.0))
            FROM n""")
    return db.scalar(f"SELECT max(id) FROM message WHERE room_id = {room}")


def history(stack, profile):
    """The chat's two reads through nginx, one client at a time, in an empty room and in a room of
    `profile.history_messages` messages: the long-poll's tail read (`after=` the last id, `wait=0`,
    answered `[]`) and the first load (no `after`: the last 50). A room's size must not show. The first
    load is also read in a room of just 50 messages: the same answer, so only the room's size differs."""
    stack.start_responder(EXECUTION_LATENCY_MS=0)
    stamp = int(time.time() * 1000)
    empty = create_room(stack, f"bench empty {stamp}")
    full = create_room(stack, f"bench history {stamp}")
    page = create_room(stack, f"bench page {stamp}")
    stack.stop_fastcgi()
    started = time.monotonic()
    last = seed_messages(stack.db, full, profile.history_messages)
    seeded_seconds = time.monotonic() - started
    seed_messages(stack.db, page, 50)
    stack.start_responder(EXECUTION_LATENCY_MS=0)

    paths = {"tail": {"empty": f"/api/rooms/{empty}/messages?after=0&wait=0",
                      "full": f"/api/rooms/{full}/messages?after={last}&wait=0"},
             "first": {"empty": f"/api/rooms/{empty}/messages", "page": f"/api/rooms/{page}/messages",
                       "full": f"/api/rooms/{full}/messages"}}
    # What each read answers: checked once, so that a fast wrong answer cannot pass.
    answers = {}
    for read, rooms in paths.items():
        for room, path in rooms.items():
            status, body = stack.request("GET", path)
            answers[f"{read} {room}"] = {"status": status, "count": len(body) if isinstance(body, list) else None,
                                         "last_id": body[-1]["id"] if isinstance(body, list) and body else None}
    runs = {read: {room: wrk.run(stack, path, 1, profile.history_seconds, mode="read", threads=1)
                   for room, path in rooms.items()} for read, rooms in paths.items()}
    return {"messages": profile.history_messages, "seed_seconds": seeded_seconds, "last_id": last,
            "answers": answers, "runs": runs}


def history_failures(result):
    """What must hold of `history`'s answers whatever the machine: the right answers, no errors."""
    failures = []
    a = result["answers"]
    expected = {"tail empty": 0, "tail full": 0, "first empty": 0, "first page": 50, "first full": 50}
    for key, count in expected.items():
        if a[key]["status"] != 200 or a[key]["count"] != count:
            failures.append(f"history: {key}: {a[key]} (expected 200 and {count} messages)")
    if a["first full"]["last_id"] != result["last_id"]:
        failures.append(f"history: the first load ends at {a['first full']['last_id']}, not the last message {result['last_id']}")
    for read, rooms in result["runs"].items():
        for room, run in rooms.items():
            if run["errors"] or run["requests"] == 0:
                failures.append(f"history: {read} read, {room} room: {run['requests']} requests, errors {run['error_detail']}")
    return failures
