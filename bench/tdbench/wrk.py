"""wrk, run against nginx with bench/wrk/bench.lua, its summary read back as a dict."""
import json
import os
import subprocess

from .database import DatabaseMeter
from .stack import CPUMeter

ERROR_KINDS = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")


class Run:
    """wrk running in the background: `finish()` waits for it and returns its summary."""

    def __init__(self, stack, path, connections, seconds, mode="get", threads=2):
        env = dict(os.environ, BENCH_MODE=mode, BENCH_TOKEN=stack.token or "", BENCH_ROOM="1")
        argv = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
                "-s", os.path.join(stack.root, "bench/wrk/bench.lua"), f"http://127.0.0.1:{stack.port}{path}"]
        self.connections = connections
        self.popen = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def running(self):
        return self.popen.poll() is None

    def finish(self):
        output, errors = self.popen.communicate()
        if self.popen.returncode != 0:
            raise RuntimeError(f"wrk exited {self.popen.returncode}:\n{output}{errors}")
        line = next((l for l in output.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk printed no summary:\n{output}{errors}")
        raw = json.loads(line[len("BENCH_JSON "):])
        return {
            "connections": self.connections,
            "requests": raw["requests"],
            "seconds": raw["duration_us"] / 1e6,
            "rate": raw["requests"] / (raw["duration_us"] / 1e6),
            "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000,
            "errors": sum(raw[k] for k in ERROR_KINDS),
            "error_detail": {k: raw[k] for k in ERROR_KINDS if raw[k]},
        }


def run(stack, path, connections, seconds, mode="get", threads=2):
    """Returns requests/s, latency percentiles (ms), errors, and the FastCGI program's CPU (% of one
    core) and RSS (MiB) over the run; on PostgreSQL also its server's CPU and writes (`DatabaseMeter`)."""
    cpu, db = CPUMeter(stack.fastcgi), DatabaseMeter(stack.db)
    result = Run(stack, path, connections, seconds, mode, threads).finish()
    result["cpu_percent"] = cpu.percent()
    result["rss_mib"] = stack.fastcgi.rss_mib()
    result.update(db.finish(result["requests"]))
    return result
