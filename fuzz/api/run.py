#!/usr/bin/env python3
"""Fuzzes the tradedesk HTTP API described by docs/openapi.yaml with schemathesis, through nginx.

Starts, on loopback in a temporary directory, nginx with the production nginx.conf (its limit on
password POSTs raised, see FUZZ_LOGIN_LIMIT) and `tradedesk serve` with a fresh database (as
bench/tdbench/stack.py does), a user with an API token and a browser session, then runs
`schemathesis run` against nginx's URL with the hooks in hooks.py. Fails (exit 1) when schemathesis reports a failure (a 5xx, an answer that does not match
the document, an error body that is not `{"error": "..."}`), when the responder logs a warning or
an error or dies, or when it does not stop cleanly.

    fuzz/api/run.py --bin .build-apifuzz/debug --schemathesis .build-apifuzz/python/bin/schemathesis \
        [--max-examples 50] [--seed N] [--workers 2] [--report-dir DIR] [--production-login-limit]

fuzz/api.sh builds, makes the virtualenv, and calls this.
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))

from tdbench.stack import PASSWORD, Stack  # noqa: E402

# The responder's settings for the run: every limit that has a knob made generous (the Stack
# already raises MAX_HELD_REQUESTS and the chat's message and command rates), and orders answered at
# once (a batch of one) instead of held until ten are pending. Some orders are rejected, so both
# outcomes are seen. nginx's per-address limit on password POSTs and the responder's per-username
# login lockout have no setting: their 429s are documented, and schemathesis accepts them.
RESPONDER_SETTINGS = {
    "BATCH_SIZE": 1,
    "REGISTRATION": "open",
    "EXECUTION_REJECT_ABOVE": 500000,
    "LOG_LEVEL": "info",
}

# nginx.conf's limit on password POSTs (register, log in, token by password): 10 a minute per
# address after a burst of 20. Everything the fuzzer sends comes from 127.0.0.1, so in production
# form it lets about 20 of a run's several hundred password requests reach the responder and answers
# the rest 429 itself. Unless --production-login-limit is given, the run's rendered copy allows
# 1000 a second instead; that is the only line changed. (AccountsTests covers the limit itself.)
PRODUCTION_LOGIN_LIMIT = "limit_req_zone $password_attempt_key zone=login:10m rate=10r/m;"
FUZZ_LOGIN_LIMIT = "limit_req_zone $password_attempt_key zone=login:10m rate=1000r/s;"

# Responder log lines that mean a bug, whatever the client saw: a warning or worse (the mock execution
# server never fails here), an access line with a 5xx, a Swift runtime crash. (Only the level and the
# access line's own fields are matched: a login failure logs the username the fuzzer made up.)
LOG_PROBLEMS = re.compile(r"^\S+ (warning|error|critical) |^\S+ info \S+: duration_ms=\S+ status=5\d\d |^(\S+\.swift:\d+: )?Fatal error")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True, help="folder with the built tradedesk binary")
    parser.add_argument("--schemathesis", required=True, help="the schemathesis executable")
    parser.add_argument("--max-examples", type=int, default=50, help="test cases per operation and phase (default 50)")
    parser.add_argument("--seed", type=int, help="schemathesis's random seed (default: a new one, printed)")
    parser.add_argument("--workers", type=int, default=2, help="concurrent schemathesis workers (default 2)")
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful", help="schemathesis phases")
    parser.add_argument("--report-dir", default=os.path.join(ROOT, ".build-apifuzz/report"),
                        help="where the JUnit report, statistics and the servers' logs go")
    parser.add_argument("--production-login-limit", action="store_true",
                        help="keep nginx.conf's 10 password POSTs a minute (most of them then get nginx's 429)")
    parser.add_argument("--timeout", type=int, default=1800, help="give up on schemathesis after this many seconds")
    args = parser.parse_args()

    # A SIGTERM (a CI timeout) unwinds like an exception, so that nginx and the responder are stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    report_dir = os.path.abspath(args.report_dir)
    shutil.rmtree(report_dir, ignore_errors=True)
    os.makedirs(report_dir)
    work_dir = os.path.join(report_dir, "work")  # schemathesis keeps a cache in its working directory
    os.makedirs(work_dir)
    stats_path = os.path.join(report_dir, "statuses.json")

    stack = Stack(ROOT, os.path.abspath(args.bin))
    failures = []
    started = time.monotonic()
    try:
        stack.start_nginx(edit_conf=None if args.production_login_limit else relax_login_limit)
        stack.start_responder(**RESPONDER_SETTINGS)
        base_url = f"http://127.0.0.1:{stack.port}"
        token_id = re.fullmatch(r"tdk_(\d+)_.+", stack.token).group(1)
        session = log_in(stack.port, "bench", PASSWORD)
        print(f"fuzz: nginx at {base_url} (password POSTs: "
              f"{'10 a minute, as in production' if args.production_login_limit else '1000 a second for the run'}), "
              f"responder pid {stack.fastcgi.pid}, state in {stack.dir}", flush=True)

        command = [os.path.abspath(args.schemathesis), "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
                   os.path.join(ROOT, "docs/openapi.yaml"), "--url", base_url,
                   "--max-examples", str(args.max_examples), "--seed", str(seed), "--workers", str(args.workers),
                   "--phases", args.phases, "--report", "junit",
                   "--report-junit-path", os.path.join(report_dir, "junit.xml")]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": os.path.join(HERE, "hooks.py"),
               "TDK_FUZZ_TOKEN": stack.token, "TDK_FUZZ_TOKEN_ID": token_id, "TDK_FUZZ_SESSION": session,
               "TDK_FUZZ_STATS": stats_path}
        print(f"fuzz: schemathesis run, --max-examples {args.max_examples} --seed {seed} --workers {args.workers}",
              flush=True)
        try:
            status = subprocess.run(command, env=env, cwd=work_dir, timeout=args.timeout).returncode
        except subprocess.TimeoutExpired:
            status = None
            failures.append(f"schemathesis did not finish in {args.timeout} s")
        if status:
            failures.append(f"schemathesis reported failures (exit {status}); replay with --seed {seed}")

        if not stack.fastcgi.alive():
            failures.append(f"the responder died during the run:\n{stack.fastcgi.tail(40)}")
        else:
            try:
                stack.stop_fastcgi()
            except RuntimeError as error:
                failures.append(f"the responder did not stop cleanly: {error}")
    except Exception as error:  # setting up the stack failed
        failures.append(f"{type(error).__name__}: {error}")
    finally:
        save_logs(stack, os.path.join(report_dir, "logs"))
        stack.close()  # stops what is still running and removes the temporary directory

    problems = responder_log_problems(os.path.join(report_dir, "logs"))
    if problems:
        failures.append("the responder logged problems:\n  " + "\n  ".join(problems[:30]))
    summarize(stats_path)
    print(f"fuzz: {time.monotonic() - started:.0f} s; report, statuses and logs in {report_dir}")
    if failures:
        for failure in failures:
            print(f"fuzz: FAILED: {failure}", file=sys.stderr)
        return 1
    print("fuzz: passed")
    return 0


def relax_login_limit(conf):
    """The rendered nginx.conf with its limit on password attempts raised for the run."""
    if conf.count(PRODUCTION_LOGIN_LIMIT) != 1:
        raise RuntimeError(f"nginx.conf has no line {PRODUCTION_LOGIN_LIMIT!r} to relax; "
                           "update fuzz/api/run.py or pass --production-login-limit")
    return conf.replace(PRODUCTION_LOGIN_LIMIT, FUZZ_LOGIN_LIMIT)


def log_in(port, username, password):
    """The session cookie's value, from POST /api/session through nginx."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/api/session", body=json.dumps({"username": username, "password": password}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"login answered {response.status}")
        for header in response.headers.get_all("Set-Cookie") or []:
            match = re.match(r"tradedesk_session=([^;]+)", header)
            if match:
                return match.group(1)
        raise RuntimeError("login set no session cookie")
    finally:
        connection.close()


def save_logs(stack, target):
    """The responder's log and nginx's error and access logs, kept after the temporary directory goes."""
    os.makedirs(target, exist_ok=True)
    for source in (stack.logs, os.path.join(stack.dir, "nginx", "logs")):
        if os.path.isdir(source):
            for name in os.listdir(source):
                shutil.copy(os.path.join(source, name), os.path.join(target, name))


def responder_log_problems(logs):
    path = os.path.join(logs, "responder.log")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip() for line in f if LOG_PROBLEMS.search(line)]


def summarize(stats_path):
    """Answers by operation and status, as the hooks counted them."""
    if not os.path.exists(stats_path):
        return
    with open(stats_path) as f:
        stats = json.load(f)
    total = sum(sum(statuses.values()) for statuses in stats.values())
    print(f"fuzz: {total} answers checked, by operation and status:")
    for label, statuses in stats.items():
        line = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        print(f"  {label:34} {line}")


if __name__ == "__main__":
    sys.exit(main())
