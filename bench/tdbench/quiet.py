"""Is the machine quiet enough to measure? Looks for stray processes and for CPU already in use."""
import os
import subprocess
import time

OURS = ("tradedesk", "stockbot", "fastcgi-fixture", "wrk", "nginx")


def cpu_busy(seconds=2.0):
    """Fraction of all cores busy over `seconds`, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        return sum(values), idle
    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def check():
    """Returns a list of reasons the machine is not quiet (empty when it is)."""
    reasons = []
    ps = subprocess.run(["ps", "-eo", "pid=,comm=,pcpu="], capture_output=True, text=True).stdout.splitlines()
    strays = sorted({line.split()[1] for line in ps if len(line.split()) >= 2 and line.split()[1] in OURS
                     and int(line.split()[0]) != os.getpid()})
    if strays:
        reasons.append("already running: " + ", ".join(strays))
    busy = cpu_busy()
    if busy > 0.10:
        top = subprocess.run(["ps", "-eo", "pcpu=,comm=", "--sort=-pcpu"], capture_output=True, text=True).stdout.splitlines()[:3]
        reasons.append(f"CPU {busy:.0%} busy before the run (top: {'; '.join(' '.join(t.split()) for t in top)})")
    load = os.getloadavg()[0]
    if load > 1.0:
        reasons.append(f"load average {load:.2f}")
    return reasons
