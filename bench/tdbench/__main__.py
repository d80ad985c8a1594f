"""bench/run.sh's harness: see bench/run.sh for how to run it."""
import argparse
import datetime
import json
import os
import resource
import shutil
import sys
import traceback

from . import quiet, scenarios
from .report import Report, update_readme
from .stack import Stack


class Full:
    seconds = 5
    ceiling_clients = [100, 1000]
    order_clients = [10, 100, 1000, 5000]
    headline_clients = 1000
    # The first is where a held order's own cost is read: one batch at a time, no queue for the CPU.
    latency_clients = [10, 100, 1000]
    waiters = [100, 1000, 5000]
    idle_waiters = 1000
    idle_seconds = 10
    samples = 200
    posting_clients = 100
    bot_samples = 50
    jobs = 500


class Smoke(Full):
    seconds = 1
    ceiling_clients = [20]
    order_clients = [20]
    headline_clients = 20
    latency_clients = [20]
    waiters = [50]
    idle_waiters = 50
    idle_seconds = 1
    samples = 5
    posting_clients = 20
    bot_samples = 3
    jobs = 20


def smoke_failures(results):
    """The smoke run's loose checks: everything ran, nothing was lost, no errors."""
    failures = []
    for c, run in results["orders"]["immediate"].items():
        if run["errors"] or run["requests"] == 0:
            failures.append(f"orders at {c} clients: {run['requests']} requests, errors {run['error_detail']}")
    for run in results["orders"]["slow"]["runs"].values():
        if run["errors"] or run["requests"] == 0:
            failures.append(f"orders with latency: errors {run['error_detail']}")
    for w, fanout in results["chat"]["fanout"].items():
        if fanout["delivered"] != w:
            failures.append(f"fan-out: {fanout['delivered']} of {w} waiters got the message")
    if results["chat"]["post_to_visible"]["misses"]:
        failures.append("a post did not reach its long-poll")
    if results["chat"]["posting"]["errors"]:
        failures.append(f"posting: errors {results['chat']['posting']['error_detail']}")
    if results["bot"]["reply"]["misses"]:
        failures.append("a command got no reply")
    return failures


def main():
    parser = argparse.ArgumentParser(prog="bench/run.sh")
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--smoke", action="store_true", help="a few seconds, loose checks")
    parser.add_argument("--update-readme", action="store_true", help="put the table and plot into README.md")
    args = parser.parse_args()
    profile = Smoke if args.smoke else Full

    # Thousands of connections: the children (nginx, responder, wrk) inherit this.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else max(soft, min(65536, hard))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(wanted, hard) if hard != resource.RLIM_INFINITY else hard))
    except ValueError:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    noise = quiet.check()
    print("machine is quiet" if not noise else "machine is NOT quiet: " + "; ".join(noise), file=sys.stderr, flush=True)

    command = "bench/run.sh" + (" --smoke" if args.smoke else "")
    results = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "command": command, "machine": scenarios.machine(), "noise": noise}
    stack = Stack(args.root, args.bin)
    try:
        stack.start_nginx()
        stack.start_quote_server()
        for name, scenario in [("ceilings", scenarios.ceilings), ("orders", scenarios.orders),
                               ("chat", scenarios.chat), ("bot", scenarios.bot)]:
            print(f"bench: {name}", file=sys.stderr, flush=True)
            results[name] = scenario(stack, profile)
        if stack.fastcgi:
            stack.stop_fastcgi()  # a clean exit (status 0) is part of passing
    except Exception:
        traceback.print_exc()
        for process in [stack.fastcgi, *stack.bots, stack.nginx]:
            if process:
                print(f"--- {process.name} log ---\n{process.tail()}", file=sys.stderr)
        return 1
    finally:
        stack.close()

    report = Report(results, profile)
    table = report.markdown()
    print(table)
    if args.smoke:
        failures = smoke_failures(results)
        for failure in failures:
            print(f"smoke: FAILED: {failure}", file=sys.stderr)
        print("smoke: passed" if not failures else "smoke: failed", file=sys.stderr)
        return 1 if failures else 0

    out = os.path.join(args.root, "bench/results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out, "latest.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    report.plot(os.path.join(out, "scaling.png"))
    if args.update_readme:
        update_readme(os.path.join(args.root, "README.md"), table, "bench/results/scaling.png")
    missed = [what for what, ok in report.targets if not ok]
    print("targets: all met" if not missed else "targets missed: " + "; ".join(missed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
