"""bench/run.sh's harness: see bench/run.sh for how to run it."""
import argparse
import datetime
import os
import resource
import shutil
import sys
import time
import traceback

from . import quiet, scenarios, soak
from .report import LABELS, Report, update_readme, write_results
from .stack import BACKENDS, Stack


class Full:
    seconds = 5
    ceiling_clients = [100, 1000]
    order_clients = [10, 100, 1000, 5000]
    # The FastCGI core with keep_conn off and on, and the bare C libfcgi program off and on. Not at
    # 5000: the bare program's 48 threads leave the other connections nginx opens in its listen
    # backlog, and once that is full nginx answers 502 (most of the answers, in a trial).
    keep_clients = [1000]
    constant_off_clients = [1000]
    constant_on_clients = [1000]
    # Where orders are held to the bare program with kept connections (at these client counts when
    # it ran at them, else at the most it ran at).
    order_target_clients = [1000, 5000]
    # The first is where a held order's own cost is read: one batch at a time, no queue for the CPU.
    latency_clients = [10, 100, 1000]
    # The most (idle_waiters) must be held by as many threads as a tenth as many.
    waiters = [100, 1000, 5000, 10000]
    idle_waiters = 10000
    fanout_target_waiters = 5000
    idle_seconds = 10
    samples = 200
    posting_clients = 100
    bot_samples = 50
    # Enough for a second of answering at the target rate: the rate is read between the first
    # answers and the last.
    jobs = 2000
    # The chat's reads in a room this big against an empty one (one client, seconds per read).
    history_messages = 200_000
    history_seconds = 3
    far_latency_ms = 200
    far_jobs = 100
    # 1 is one fetch at a time, as the bot was before STOCKBOT_CONCURRENCY; 8 is the default.
    far_concurrency = [1, 8]
    # What PostgreSQL runs differently: one fetch at a time from the far quote server is its 200 ms
    # latency over and over, whatever the database (20 s), so only the default runs there.
    postgres = {"far_concurrency": [8]}

    @classmethod
    def on(cls, backend):
        """This profile as it runs on `backend`."""
        changes = getattr(cls, backend, None)
        return type(f"{cls.__name__}_{backend}", (cls,), changes) if isinstance(changes, dict) else cls


class Smoke(Full):
    seconds = 1
    ceiling_clients = [20]
    order_clients = [20]
    keep_clients = [20]
    constant_off_clients = [20]
    constant_on_clients = [20]
    order_target_clients = [20]
    latency_clients = [20]
    # CI's proof of "5000 long-poll waiters held at once: answered, no thread per waiter".
    waiters = [5000]
    idle_waiters = 5000
    fanout_target_waiters = 5000
    idle_seconds = 1
    samples = 5
    posting_clients = 20
    bot_samples = 3
    jobs = 20
    history_messages = 20_000
    history_seconds = 1
    far_jobs = 20
    far_concurrency = [8]
    # PostgreSQL's path touched, so that it cannot rot, within the minute: 1000 long-polls (their
    # connects are most of the chat's time), a smaller history.
    postgres = {"waiters": [1000], "idle_waiters": 1000, "fanout_target_waiters": 1000, "history_messages": 5000}


# The responder holds long-polls without a thread each: its threads while 5000 wait (16 were
# measured: accept, writer, watcher, timer and pool threads) stay under this.
MAX_THREADS_HOLDING = 64


def smoke_failures(results):
    """The smoke run's loose checks, on each backend: everything that ran answered, nothing was
    lost, no errors, and the long-polls were held at once by a few threads."""
    failures = []
    if "ceilings" in results:
        failures += backend_failures({"ceilings": results["ceilings"]})
    for backend in results["backends"]:
        failures += [f"{LABELS[backend]}: {failure}" for failure in backend_failures(results.get(backend, {}))]
    return failures


def backend_failures(results):
    failures = []
    if "history" in results:
        failures += scenarios.history_failures(results["history"])
    if "ceilings" in results:
        ceil = results["ceilings"]
        groups = {"nginx static": ceil["static"], "FastCGI core, shipped nginx.conf": ceil["fastcgi"],
                  **{f"FastCGI core, keep_conn {k}": v["runs"] for k, v in ceil["core"].items()},
                  **{f"bare C libfcgi, keep_conn {k}": v["runs"] for k, v in ceil["constant"].items()}}
        for what, runs in groups.items():
            for c, run in runs.items():
                if run["errors"] or run["requests"] == 0:
                    failures.append(f"{what} at {c} clients: {run['requests']} requests, errors {run['error_detail']}")
    if "orders" in results:
        for c, run in results["orders"]["immediate"].items():
            if run["errors"] or run["requests"] == 0:
                failures.append(f"orders at {c} clients: {run['requests']} requests, errors {run['error_detail']}")
        for run in results["orders"]["slow"]["runs"].values():
            if run["errors"] or run["requests"] == 0:
                failures.append(f"orders with latency: errors {run['error_detail']}")
    if "chat" in results:
        for w, fanout in results["chat"]["fanout"].items():
            held = fanout["held"]
            if fanout["delivered"] != w:
                failures.append(f"fan-out: {fanout['delivered']} of {w} waiters got 200 and the message (statuses {fanout['statuses']})")
            if held["long_polls"] is None or held["long_polls"] < w or held["held_requests"] < w:
                failures.append(f"{w} waiters: the responder reported {held['long_polls']} long-polls, {held['held_requests']} held requests")
            if held["threads"] >= MAX_THREADS_HOLDING:
                failures.append(f"{w} waiters held by {held['threads']} responder threads (limit {MAX_THREADS_HOLDING})")
        for alert in results["chat"]["nginx_alerts"]:
            failures.append(f"nginx: {alert}")
        if results["chat"]["post_to_visible"]["misses"]:
            failures.append("a post did not reach its long-poll")
        if results["chat"]["posting"]["errors"]:
            failures.append(f"posting: errors {results['chat']['posting']['error_detail']}")
    if "bot" in results:
        if results["bot"]["reply"]["misses"]:
            failures.append("a command got no reply")
        for run in results["bot"]["far"]["runs"].values():
            # 20 commands at 200 ms, 8 at once, take about 0.6 s; one at a time they took 4.
            if run["seconds"] > 2:
                failures.append(f"{run['jobs']} commands against a quote server 200 ms away took {run['seconds']:.1f} s")
    return failures


def raise_fd_limit(wanted=65536):
    """Thousands of connections: 5000 long-polls are 5000 sockets here and 5000 in the responder.
    The children (nginx, responder, wrk) inherit the limit. Root may raise the hard limit too
    (up to fs.nr_open); anyone else gets as far as the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted and os.geteuid() == 0:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass
    limit = wanted if hard == resource.RLIM_INFINITY else max(soft, min(wanted, hard))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return limit


SCENARIOS = {"ceilings": scenarios.ceilings, "orders": scenarios.orders, "chat": scenarios.chat, "bot": scenarios.bot,
             "history": scenarios.history}


def main():
    parser = argparse.ArgumentParser(prog="bench/run.sh")
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--smoke", action="store_true", help="about half a minute, loose checks; holds 5000 long-polls at once")
    parser.add_argument("--update-readme", action="store_true", help="put the table and plot into README.md")
    parser.add_argument("--only", choices=list(SCENARIOS), action="append",
                        help="run just this scenario (again for more); the table has only its rows. "
                             "history: the chat's reads in a room of 200,000 messages against an empty room")
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both",
                        help="the database of every row but the ceilings: sqlite, postgres, or both side by side (the default)")
    parser.add_argument("--soak", action="store_true", help=f"{soak.CLIENTS} order clients for --minutes; not in CI")
    parser.add_argument("--minutes", type=int, default=10, help="the soak's length (10)")
    parser.add_argument("--latency-ms", type=int, default=soak.LATENCY_MS, help=f"the soak's mock execution latency ({soak.LATENCY_MS})")
    parser.add_argument("--chat-waiters", type=int, default=soak.CHAT_WAITERS,
                        help=f"long-polls held through the soak ({soak.CHAT_WAITERS}; 0: none)")
    args = parser.parse_args()
    if args.soak:
        if args.smoke or args.update_readme or args.only:
            parser.error("--soak is a run of its own")
        if args.minutes < 1:
            parser.error("--minutes must be at least 1")
        return soak_main(args)
    if args.only and args.update_readme:
        parser.error("--update-readme needs the full run")
    profile = Smoke if args.smoke else Full
    chosen = [name for name in SCENARIOS if not args.only or name in args.only]
    backends = list(BACKENDS) if args.backend == "both" else [args.backend]
    if args.update_readme and args.backend != "both":
        parser.error("--update-readme needs both backends")

    limit = raise_fd_limit()
    # Each long-poll is a socket here and one in the responder (which inherits the limit).
    needed = max(profile.waiters) + 1000 if "chat" in chosen else 0
    if limit < needed:
        print(f"bench: RLIMIT_NOFILE is {limit}; {max(profile.waiters)} long-polls need at least {needed}: "
              "run as root, or raise the hard limit (ulimit -Hn)", file=sys.stderr)
        return 1

    noise = quiet.check()
    print("machine is quiet" if not noise else "machine is NOT quiet: " + "; ".join(noise), file=sys.stderr, flush=True)

    command = ("bench/run.sh" + (" --smoke" if args.smoke else "") + "".join(f" --only {name}" for name in args.only or [])
               + (f" --backend {args.backend}" if args.backend != "both" else ""))
    started = time.monotonic()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "command": command, "machine": scenarios.machine(), "noise": noise, "backends": backends}
    stack = Stack(args.root, args.bin)
    try:
        stack.start_nginx()
        if "bot" in chosen:
            stack.start_quote_server()
        # The ceilings have no database: once. Each other scenario runs on one backend, then the
        # next, so that the two columns of a row are minutes apart at most, not the whole run.
        for name in chosen:
            for backend in ([None] if name == "ceilings" else backends):
                if backend:
                    stack.use_backend(backend)
                print(f"bench: {name}" + (f" on {LABELS[backend]}" if backend else ""), file=sys.stderr, flush=True)
                result = SCENARIOS[name](stack, profile.on(backend) if backend else profile)
                if backend:
                    results.setdefault(backend, {})[name] = result
                else:
                    results[name] = result
                if stack.fastcgi:
                    stack.stop_fastcgi()  # a clean exit (status 0) is part of passing
    except Exception:
        traceback.print_exc()
        for process in [stack.fastcgi, *stack.bots, stack.nginx]:
            if process:
                print(f"--- {process.name} log ---\n{process.tail()}", file=sys.stderr)
        postgres = stack.databases.get("postgres")
        if postgres and os.path.exists(postgres.log_path):
            with open(postgres.log_path, errors="replace") as f:
                print(f"--- postgres log ---\n{''.join(f.readlines()[-20:])}", file=sys.stderr)
        return 1
    finally:
        stack.close()
    results["seconds"] = time.monotonic() - started
    print(f"bench: measured in {results['seconds']:.0f} s", file=sys.stderr, flush=True)

    report = Report(results, profile)
    table = report.markdown()
    print(table)
    if args.smoke:
        failures = smoke_failures(results)
        for failure in failures:
            print(f"smoke: FAILED: {failure}", file=sys.stderr)
        print("smoke: passed" if not failures else "smoke: failed", file=sys.stderr)
        return 1 if failures else 0

    if args.only:
        # One backend's run of a scenario does not replace both's.
        out = write_results(args.root, "-".join(chosen) + (f"-{args.backend}" if args.backend != "both" else ""), table, results)
        failures = [f"{LABELS[b]}: {failure}" for b in backends if "history" in results.get(b, {})
                    for failure in scenarios.history_failures(results[b]["history"])]
        for failure in failures:
            print(f"bench: FAILED: {failure}", file=sys.stderr)
        missed = [what for what, ok in report.targets if not ok]
        print("targets: all met" if not missed else "targets missed: " + "; ".join(missed), file=sys.stderr)
        return 1 if failures else 0
    out = write_results(args.root, "latest", table, results)
    report.plot(os.path.join(out, "scaling.png"))
    if args.update_readme:
        update_readme(os.path.join(args.root, "README.md"), table, "bench/results/scaling.png")
    missed = [what for what, ok in report.targets if not ok]
    print("targets: all met" if not missed else "targets missed: " + "; ".join(missed), file=sys.stderr)
    return 0


def soak_main(args):
    raise_fd_limit()
    noise = quiet.check()
    print("machine is quiet" if not noise else "machine is NOT quiet: " + "; ".join(noise), file=sys.stderr, flush=True)
    command = f"bench/run.sh --soak --minutes {args.minutes}"
    if args.latency_ms != soak.LATENCY_MS:
        command += f" --latency-ms {args.latency_ms}"
    if args.chat_waiters != soak.CHAT_WAITERS:
        command += f" --chat-waiters {args.chat_waiters}"
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "command": command, "machine": scenarios.machine(), "noise": noise}
    stack = Stack(args.root, args.bin)
    try:
        stack.start_nginx()
        results.update(soak.run(stack, args.minutes, latency_ms=args.latency_ms, chat_waiters=args.chat_waiters,
                                progress=lambda text: print(f"bench: {text}", file=sys.stderr, flush=True)))
        responder = stack.fastcgi
        stack.fastcgi = None
        results["exit_status"] = responder.stop(timeout=30)
        if results["exit_status"] != 0:
            print(f"--- responder log ---\n{responder.tail()}", file=sys.stderr)
    except Exception:
        traceback.print_exc()
        for process in [stack.fastcgi, stack.nginx]:
            if process:
                print(f"--- {process.name} log ---\n{process.tail()}", file=sys.stderr)
        return 1
    finally:
        stack.close()

    checks, failures, closed = soak.judge(results)
    table = soak.markdown(results, checks, closed)
    print(table)
    write_results(args.root, "soak", table, results)
    for failure in failures:
        print(f"soak: FAILED: {failure}", file=sys.stderr)
    print("soak: passed" if not failures else "soak: failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
