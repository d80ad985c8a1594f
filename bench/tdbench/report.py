"""Turns the measurements into the table printed, saved under bench/results/ and put into the README."""
import json
import os
import re


def rate(value):
    return f"{value:,.0f}"


def ms(value):
    if value < 1:
        return f"{value:.2f} ms"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def run_line(r, kind="Run"):
    """Who ran what where, and whether the machine was quiet: the first line of every results file."""
    m = r["machine"]
    return (f"{kind} {r['date']} with `{r['command']}` on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
            f"Debian {m['debian']}, kernel {m['kernel']}, nginx {m['nginx']}, Swift {m['swift']}. "
            + ("The machine was quiet." if not r["noise"] else "The machine was **not quiet**: " + "; ".join(r["noise"]) + "."))


def write_results(root, stem, table, results):
    """bench/results/STEM.md and STEM.json."""
    out = os.path.join(root, "bench/results")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{stem}.md"), "w") as f:
        f.write(table)
    with open(os.path.join(out, f"{stem}.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    return out


def verdict(ok):
    return "met" if ok else "**MISSED**"


class Report:
    def __init__(self, results, profile):
        self.r = results
        self.profile = profile
        self.targets = []  # (what, ok)

    def target(self, what, ok):
        self.targets.append((what, ok))
        return verdict(ok)

    def markdown(self):
        r, p = self.r, self.profile
        lines = [
            run_line(r),
            "",
            "| Measure | Result | Ceiling or target | Ratio | |",
            "|---|---|---|---|---|",
        ]
        row = lambda *cells: lines.append("| " + " | ".join(cells) + " |")
        full = all(key in r for key in ("ceilings", "orders", "chat", "bot"))  # not a run of --only
        if full:
            ceil = r["ceilings"]
            for c, run in ceil["static"].items():
                row(f"nginx: a static file, {c} clients", f"{rate(run['rate'])} req/s, p99 {ms(run['p99_ms'])}", "ceiling", "", "")
            for c, run in ceil["fastcgi"].items():
                row(f"nginx → FastCGI core, constant answer, {c} clients", f"{rate(run['rate'])} req/s, p99 {ms(run['p99_ms'])}",
                    "ceiling", "", "")

            o = r["orders"]
            h = o["health"]
            row(f"`GET /api/health` (reads the database), {h['connections']} clients", f"{rate(h['rate'])} req/s",
                "FastCGI ceiling", f"{h['rate'] / ceil['fastcgi'][h['connections']]['rate']:.2f}", "")
            for c, run in o["immediate"].items():
                ratio = run["rate"] / ceil["fastcgi"][c]["rate"]
                mark = ""
                if c == p.headline_clients:
                    mark = self.target(f"orders/s at {c} clients ≥ 0.8 × FastCGI ceiling, 0 errors", ratio >= 0.8 and run["errors"] == 0)
                row(f"orders, {c} clients, mock 0 ms", f"{rate(run['rate'])} orders/s, p50 {ms(run['p50_ms'])}, p99 {ms(run['p99_ms'])}, "
                    f"{run['errors']} errors, responder {run['cpu_percent']:.0f}% CPU, {run['rss_mib']:.0f} MiB",
                    f"FastCGI ceiling at {c} clients" + (", ≥ 0.8×" if mark else ""), f"{ratio:.2f}", mark)
            slow = o["slow"]
            for c, run in slow["runs"].items():
                ratio = run["rate"] / run["allowed_rate"]
                mark = self.target(f"with {slow['latency_ms']} ms execution at {c} clients, batches overlap (≥ 0.9 × what the latency allows)", ratio >= 0.9)
                row(f"orders, {c} clients, mock {slow['latency_ms']} ms", f"{rate(run['rate'])} orders/s, p99 {ms(run['p99_ms'])}, {run['errors']} errors",
                    f"{rate(run['allowed_rate'])}/s: clients ÷ latency, at most the 0 ms rate; ≥ 0.9×", f"{ratio:.2f}", mark)
            for i, (c, run) in enumerate(slow["runs"].items()):
                row(f"a held order's cost beyond its batch's execution (p99 − {slow['latency_ms']} ms), {c} clients", ms(run["held_cost_p99_ms"]),
                    "< 20 ms" if i == 0 else "", "",
                    self.target(f"held order p99 beyond execution < 20 ms at {c} clients", run["held_cost_p99_ms"] < 20) if i == 0 else "")

            ch = r["chat"]
            idle = ch["idle"]
            row(f"{idle['waiters']} idle long-polls, responder", f"{idle['cpu_percent']:.2f}% of a core, {idle['rss_mib']:.0f} MiB RSS, "
                f"{idle['threads']} threads", "< 2%, < 100 MB", "",
                self.target(f"{idle['waiters']} idle long-polls: CPU < 2%, RSS < 100 MB", idle["cpu_percent"] < 2 and idle["rss_mib"] < 100))
            f = ch["fanout"][p.idle_waiters]
            answered = (f"all {f['delivered']}" if f["delivered"] == f["waiters"] else f"**{f['delivered']} of {f['waiters']}**")
            row(f"one message fanned out to {f['waiters']} waiters",
                f"{answered} answered in {ms(f['max_ms'])} (p50 {ms(f['p50_ms'])})" if f["max_ms"] is not None else "**none answered**",
                "< 200 ms", "", self.target(f"fan-out to {f['waiters']} < 200 ms",
                                            f["max_ms"] is not None and f["max_ms"] < 200 and f["delivered"] == f["waiters"]))
            most = ch["fanout"][max(ch["fanout"])]
            held = most["held"]
            row(f"{most['waiters']} long-polls held at once", f"health: {held['long_polls']} long-polls, {held['held_requests']} held requests; "
                f"responder {held['threads']} threads, {held['fds']} fds, {held['rss_mib']:.0f} MiB; "
                f"nginx workers' fds {' + '.join(str(n) for n in held['nginx_worker_fds'])}",
                "no thread per waiter", "", "")
            v = ch["post_to_visible"]
            row("a post → visible to a waiting long-poll", f"p50 {ms(v['p50_ms'])}, p99 {ms(v['p99_ms'])} ({v['samples']} posts)", "", "", "")
            post = ch["posting"]
            row(f"posting messages, {post['connections']} clients", f"{rate(post['rate'])} messages/s, p99 {ms(post['p99_ms'])}, {post['errors']} errors",
                f"FastCGI ceiling at {p.posting_clients} clients" if p.posting_clients in ceil["fastcgi"] else "",
                f"{post['rate'] / ceil['fastcgi'][p.posting_clients]['rate']:.2f}" if p.posting_clients in ceil["fastcgi"] else "", "")

            b = r["bot"]
            reply = b["reply"]
            row("`/stock=aapl.us` → the bot's reply visible to a long-poll", f"p50 {ms(reply['p50_ms'])}, p99 {ms(reply['p99_ms'])} "
                f"({reply['samples']} commands)", "< 300 ms", "", self.target("bot reply p99 < 300 ms", reply["p99_ms"] < 300 and reply["misses"] == 0))
            row("the bot, idle", f"{b['idle']['cpu_percent']:.2f}% of a core, {b['idle']['rss_mib']:.0f} MiB RSS", "", "", "")
            t1, t2 = b["throughput"][1], b["throughput"][2]
            row("jobs answered, 1 bot", f"{rate(t1['rate'])} jobs/s ({t1['jobs']} jobs)", "", "", "")
            row("jobs answered, 2 bots", f"{rate(t2['rate'])} jobs/s ({t2['jobs']} jobs)", "1 bot", f"{t2['rate'] / t1['rate']:.2f}", "")
            far = b["far"]
            runs = far["runs"]
            for concurrency, run in runs.items():
                how = "one at a time, as before" if concurrency == 1 else f"{concurrency} at once"
                base = runs.get(1)
                row(f"jobs answered, 1 bot, quote server {far['latency_ms']} ms away, `STOCKBOT_CONCURRENCY={concurrency}` ({how})",
                    f"{run['rate']:,.1f} jobs/s: {run['jobs']} commands in {run['seconds']:.2f} s",
                    "one at a time" if base and concurrency != 1 else "", f"{run['rate'] / base['rate']:.2f}" if base and concurrency != 1 else "", "")

        if "history" in r:
            self.history_rows(row)
        if full:
            lines += ["", "Scaling (mock 0 ms for orders):", "",
                      "| Clients | FastCGI ceiling | Orders | Ratio | Orders p99 | Errors |", "|---|---|---|---|---|---|"]
            for c, run in o["immediate"].items():
                ceiling = ceil["fastcgi"][c]
                row(str(c), f"{rate(ceiling['rate'])} req/s", f"{rate(run['rate'])} orders/s", f"{run['rate'] / ceiling['rate']:.2f}",
                    ms(run["p99_ms"]), str(run["errors"]))
            lines += ["", "| Waiters | Answered | Fan-out p50 | Fan-out, last answered | Responder threads while held |",
                      "|---|---|---|---|---|"]
            for w, f in ch["fanout"].items():
                row(str(w), str(f["delivered"]), ms(f["p50_ms"]) if f["p50_ms"] is not None else "-",
                    ms(f["max_ms"]) if f["max_ms"] is not None else "-", str(f["held"]["threads"]))
        return "\n".join(lines) + "\n"

    def history_rows(self, row):
        """The chat's reads in a big room against an empty one, by the median of one client's reads."""
        h = self.r["history"]
        n = h["messages"]
        for read, what in [("tail", "the long-poll's tail read (`after=` the last id, `wait=0`: `[]`)"),
                           ("first", "the first load (the last 50)")]:
            empty, full = h["runs"][read]["empty"], h["runs"][read]["full"]
            ratio = full["p50_ms"] / empty["p50_ms"]
            mark = self.target(f"chat {read} read in a room of {n:,} messages ≤ 2 × an empty room's", ratio <= 2 and full["errors"] == 0)
            row(f"chat: {what}, a room of {n:,} messages, 1 client",
                f"p50 {ms(full['p50_ms'])}, p99 {ms(full['p99_ms'])}, {rate(full['rate'])} reads/s, {full['errors']} errors",
                f"an empty room: p50 {ms(empty['p50_ms'])}, p99 {ms(empty['p99_ms'])}; ≤ 2×", f"{ratio:.2f}", mark)
            if "page" in h["runs"][read]:
                page = h["runs"][read]["page"]
                row(f"chat: {what}, a room of {n:,} messages, against a room of 50 (the same answer)", f"p50 {ms(full['p50_ms'])}",
                    f"a room of 50: p50 {ms(page['p50_ms'])}, p99 {ms(page['p99_ms'])}", f"{full['p50_ms'] / page['p50_ms']:.2f}", "")

    def plot(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        r = self.r
        clients = list(r["orders"]["immediate"])
        figure, (throughput, fanout) = plt.subplots(1, 2, figsize=(11, 4))
        throughput.plot(clients, [r["ceilings"]["fastcgi"][c]["rate"] for c in clients], "o--", label="FastCGI ceiling (req/s)")
        throughput.plot(clients, [r["orders"]["immediate"][c]["rate"] for c in clients], "o-", label="orders/s")
        throughput.set_xscale("log")
        throughput.set_xlabel("concurrent clients")
        throughput.set_ylabel("per second")
        throughput.set_ylim(bottom=0)
        latency = throughput.twinx()
        latency.plot(clients, [r["orders"]["immediate"][c]["p99_ms"] for c in clients], "s:", color="tab:red", label="orders p99 (ms)")
        latency.set_ylabel("p99 ms")
        latency.set_ylim(bottom=0)
        handles = throughput.get_legend_handles_labels()[0] + latency.get_legend_handles_labels()[0]
        throughput.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=8)
        throughput.set_title("Orders through nginx, batch 10, mock 0 ms")
        waiters = [w for w in r["chat"]["fanout"] if r["chat"]["fanout"][w]["max_ms"] is not None]
        fanout.plot(waiters, [r["chat"]["fanout"][w]["max_ms"] for w in waiters], "o-", label="last waiter answered")
        fanout.plot(waiters, [r["chat"]["fanout"][w]["p50_ms"] for w in waiters], "o--", label="median waiter")
        fanout.set_xscale("log")
        fanout.set_xlabel("long-poll waiters in the room")
        fanout.set_ylabel("ms after the post")
        fanout.set_ylim(bottom=0)
        fanout.legend(fontsize=8)
        fanout.set_title("One message fanned out")
        figure.suptitle(f"tradedesk bench, {r['date']}", fontsize=9)
        figure.tight_layout()
        figure.savefig(path, dpi=90)


def update_readme(readme_path, table, png_name):
    """Replaces what is between the README's bench markers with the table and the plot."""
    with open(readme_path) as f:
        text = f.read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        raise RuntimeError(f"{readme_path} has no {begin} … {end} section")
    body = f"{begin}\n{table}\n![Orders and fan-out as load grows]({png_name})\n{end}"
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S)
    with open(readme_path, "w") as f:
        f.write(text)
