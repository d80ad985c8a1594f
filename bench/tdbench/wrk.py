"""wrk, run against nginx with bench/wrk/bench.lua, its summary read back as a dict."""
import json
import os
import subprocess

from .stack import CPUMeter


def run(stack, path, connections, seconds, mode="get", threads=2):
    """Returns requests/s, latency percentiles (ms), errors, and the FastCGI program's CPU (% of one
    core) and RSS (MiB) over the run."""
    env = dict(os.environ, BENCH_MODE=mode, BENCH_TOKEN=stack.token or "", BENCH_ROOM="1")
    argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "-s", os.path.join(stack.root, "bench/wrk/bench.lua"), f"http://127.0.0.1:{stack.port}{path}"]
    cpu = CPUMeter(stack.fastcgi)
    output = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    cpu_percent = cpu.percent()
    line = next((l for l in output.splitlines() if l.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    raw = json.loads(line[len("BENCH_JSON "):])
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return {
        "connections": connections,
        "requests": raw["requests"],
        "rate": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "error_detail": {k: raw[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts") if raw[k]},
        "cpu_percent": cpu_percent,
        "rss_mib": stack.fastcgi.rss_mib(),
    }
