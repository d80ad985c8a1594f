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


def duration(seconds):
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def run_line(r, kind="Run"):
    """Who ran what where, and whether the machine was quiet: the first line of every results file."""
    m = r["machine"]
    return (f"{kind} {r['date']} with `{r['command']}` on {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), "
            f"Debian {m['debian']}, kernel {m['kernel']}, nginx {m['nginx']}, Swift {m['swift']}. "
            + (f"It took {duration(r['seconds'])}, the build aside. " if "seconds" in r else "")
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


def ratio_text(run, ceiling):
    return f"{run['rate'] / ceiling['rate']:.2f}" if ceiling else "n/a"


def keep_text(settings, shipped=False):
    """How nginx reached the FastCGI program: `fastcgi_keep_conn on`, `keepalive 32`, or keep_conn off."""
    text = (f"`fastcgi_keep_conn on`, `keepalive {settings['keepalive']}`" if settings["on"] and settings["keepalive"]
            else "`fastcgi_keep_conn on`, no upstream pool" if settings["on"] else "keep_conn off")
    return text + (" (the shipped nginx.conf)" if shipped else "")


def jobs_rate(run):
    """Jobs/s while the bots answer (`steady_rate`); for a backlog answered within one look, over the whole time."""
    return run.get("steady_rate") or run["rate"]


def verdict(ok):
    return "met" if ok else "**MISSED**"


LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# The issue's target for the second backend: orders/s on PostgreSQL at this many clients, against
# SQLite's in the same run.
BACKEND_TARGET_CLIENTS = 1000
BACKEND_TARGET_RATIO = 0.7


class Row:
    """One backend's cells of a row: `value` is its headline figure (a rate or a time), which the
    PostgreSQL ÷ SQLite column divides."""

    def __init__(self, measure, result, target="", ratio="", mark="", value=None):
        self.measure, self.result, self.target, self.ratio, self.mark, self.value = measure, result, target, ratio, mark, value


def pair(cells):
    """Cells of several backends in one: `a · b`, or the one cell when they are the same or alone."""
    return " · ".join(c or "–" for c in cells)


class Report:
    def __init__(self, results, profile):
        self.r = results
        self.profile = profile
        self.backends = [b for b in results.get("backends", ["sqlite"]) if b in results]
        self.targets = []  # (what, ok)

    def target(self, what, ok):
        self.targets.append((what, ok))
        return verdict(ok)

    def ran(self, scenario):
        """The backends on which `scenario` ran."""
        return [b for b in self.backends if scenario in self.r[b]]

    def markdown(self):
        """The ceilings once (no database), then each scenario's rows with a column per backend and
        their ratio (a run of --only prints its own); a ratio whose ceiling did not run shown as n/a
        and its target not judged."""
        r = self.r
        lines = [run_line(r), ""]
        row = lambda *cells: lines.append("| " + " | ".join(cells) + " |")
        if "ceilings" in r:
            lines += ["Ceilings: no database, measured once.", "",
                      "| Measure | Result | Ceiling or target | Ratio | |", "|---|---|---|---|---|"]
            self.ceiling_rows(row)
            lines.append("")
        sections = [("orders", self.order_rows), ("chat", self.chat_rows), ("bot", self.bot_rows), ("history", self.history_rows)]
        if any(self.ran(name) for name, _ in sections):
            both = len(self.backends) > 1
            labels = [LABELS[b] for b in self.backends]
            if both:
                lines += ["Each row on both backends in this run, one after the other (a fresh database each, the same "
                          "nginx); PostgreSQL ÷ SQLite divides the first figure of the row (a rate, or a time). "
                          "Where a cell holds two figures `a · b`, they are " + " and ".join(labels) + "'s.", ""]
            header = ["Measure", *labels] + (["PostgreSQL ÷ SQLite"] if both else []) + ["Ceiling or target", "Ratio", ""]
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for name, section in sections:
                merged = self.merge({b: self.collect(section, b) for b in self.ran(name)})
                for measure, cells in merged:
                    row(*self.cells(measure, cells, both))
                if name == "orders" and set(self.ran("orders")) >= {"sqlite", "postgres"}:
                    self.backend_target_row(row)
        if self.ran("orders"):
            self.scaling_table(lines, row)
        if self.ran("chat"):
            self.fanout_table(lines, row)
        return "\n".join(lines) + "\n"

    # -- rows of several backends ---------------------------------------------------------------

    def collect(self, section, backend):
        rows = []
        section(self.r[backend], backend, lambda *args, **kw: rows.append(Row(*args, **kw)))
        return rows

    @staticmethod
    def merge(by_backend):
        """[(measure, {backend: Row})] in the first backend's order, then rows only later ones have."""
        order, table = [], {}
        for backend, rows in by_backend.items():
            for one in rows:
                if one.measure not in table:
                    order.append(one.measure)
                    table[one.measure] = {}
                table[one.measure][backend] = one
        return [(measure, table[measure]) for measure in order]

    def cells(self, measure, cells, both):
        got = [cells.get(b) for b in self.backends]
        results = [c.result if c else "–" for c in got]
        targets = sorted({c.target for c in got if c and c.target}, key=[c.target for c in got if c].index)
        target = targets[0] if len(targets) == 1 else "; ".join(f"{LABELS[b]}: {cells[b].target}" for b in self.backends
                                                                  if b in cells and cells[b].target)
        many = len([c for c in got if c]) > 1
        ratio = " · ".join(c.ratio or "–" for c in got if c) if many and any(c and c.ratio for c in got) else next((c.ratio for c in got if c), "")
        mark = " · ".join(c.mark or "–" for c in got if c) if many and any(c and c.mark for c in got) else next((c.mark for c in got if c), "")
        out = [measure, *results]
        if both:
            s, p = cells.get("sqlite"), cells.get("postgres")
            out.append(f"{p.value / s.value:.2f}" if s and p and s.value and p.value is not None else "")
        return out + [target, ratio, mark]

    def backend_target_row(self, row):
        c = BACKEND_TARGET_CLIENTS
        s, p = self.r["sqlite"]["orders"]["immediate"].get(c), self.r["postgres"]["orders"]["immediate"].get(c)
        if not s or not p:
            return
        ratio = p["rate"] / s["rate"]
        mark = self.target(f"orders/s on PostgreSQL at {c} clients ≥ {BACKEND_TARGET_RATIO} × SQLite's, same run",
                           ratio >= BACKEND_TARGET_RATIO and p["errors"] == 0)
        row(f"**orders/s on PostgreSQL at {c} clients against SQLite's, same run**", f"{rate(s['rate'])} orders/s",
            f"{rate(p['rate'])} orders/s, {p['errors']} errors", f"{ratio:.2f}", f"PostgreSQL ≥ {BACKEND_TARGET_RATIO} × SQLite", f"{ratio:.2f}", mark)

    def scaling_table(self, lines, row):
        backends = self.ran("orders")
        both = len(backends) > 1
        labels = [LABELS[b] for b in backends]
        header = (["Clients", "FastCGI core", "bare C libfcgi, kept connections"] + [f"Orders, {l}" for l in labels]
                  + (["PostgreSQL ÷ SQLite"] if both else []) + ["÷ core", "÷ bare C kept", "Orders p99", "Errors"])
        lines += ["", "Scaling (mock 0 ms for orders; ceilings on the shipped nginx.conf unless said)"
                  + ("; two figures `a · b` are " + " and ".join(labels) + "'s" if both else "") + ":", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        clients = []
        for b in backends:
            clients += [c for c in self.r[b]["orders"]["immediate"] if c not in clients]
        for c in clients:
            core, bare = self.core_ceiling(c), self.constant_kept(c)
            runs = [self.r[b]["orders"]["immediate"].get(c) for b in backends]
            cells = [str(c), f"{rate(core['rate'])} req/s" if core else "n/a", f"{rate(bare['rate'])} req/s" if bare else "n/a"]
            cells += [f"{rate(run['rate'])} orders/s" if run else "–" for run in runs]
            if both:
                cells.append(f"{runs[1]['rate'] / runs[0]['rate']:.2f}" if all(runs) else "")
            cells += [pair([ratio_text(run, core) if run else "–" for run in runs]),
                      pair([ratio_text(run, bare) if run else "–" for run in runs]),
                      pair([ms(run["p99_ms"]) if run else "–" for run in runs]),
                      pair([str(run["errors"]) if run else "–" for run in runs])]
            row(*cells)

    def fanout_table(self, lines, row):
        backends = self.ran("chat")
        labels = [LABELS[b] for b in backends]
        both = len(backends) > 1
        header = (["Waiters", "Answered"] + [f"Fan-out p50 / last answered, {l}" for l in labels]
                  + ["Responder threads while held", "Responder RSS while held"])
        lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        waiters = []
        for b in backends:
            waiters += [w for w in self.r[b]["chat"]["fanout"] if w not in waiters]
        for w in waiters:
            fs = [self.r[b]["chat"]["fanout"].get(w) for b in backends]
            cells = [str(w), pair([str(f["delivered"]) if f else "–" for f in fs])]
            cells += [(f"{ms(f['p50_ms'])} / {ms(f['max_ms'])}" if f["max_ms"] is not None else "-") if f else "–" for f in fs]
            cells += [pair([str(f["held"]["threads"]) if f else "–" for f in fs]),
                      pair([f"{f['held']['rss_mib']:.0f} MiB" if f else "–" for f in fs])]
            row(*cells)
        if both:
            lines.append("")

    # -- the ceilings a ratio needs, None when they did not run ----------------------------------

    def core_ceiling(self, clients):
        """The FastCGI core answering a constant on the shipped nginx.conf."""
        return self.r.get("ceilings", {}).get("fastcgi", {}).get(clients)

    def constant_kept(self, clients):
        """The bare C libfcgi program with kept connections."""
        return self.r.get("ceilings", {}).get("constant", {}).get("on", {}).get("runs", {}).get(clients)

    def constant_kept_most(self):
        """The bare C program with kept connections at the most clients it ran at."""
        runs = self.r.get("ceilings", {}).get("constant", {}).get("on", {}).get("runs", {})
        return runs[max(runs)] if runs else None

    def judged(self, what, ok):
        """The mark for a target, or n/a (not counted) when what it compares with did not run."""
        return "n/a" if ok is None else self.target(what, ok)

    # -- sections ---------------------------------------------------------------------------

    def ceiling_rows(self, row):
        ceil = self.r["ceilings"]
        result = lambda run: f"{rate(run['rate'])} req/s, p99 {ms(run['p99_ms'])}" + (
            f", **{run['errors']} errors** {run['error_detail']}" if run["errors"] else "")
        for c, run in ceil["static"].items():
            row(f"nginx: a static file, {c} clients", result(run), "ceiling", "", "")
        for key in ("off", "on"):
            bare = ceil["constant"][key]
            for c, run in bare["runs"].items():
                row(f"nginx → a bare C libfcgi program, constant answer, {bare['threads']} threads, {keep_text(bare['settings'])}, {c} clients",
                    result(run), "ceiling", "", "")
        off = ceil["core"]["off"]
        for c, run in off["runs"].items():
            row(f"nginx → FastCGI core, constant answer, {keep_text(off['settings'], off['shipped'])}, {c} clients", result(run),
                "ceiling", "", "")
        on = ceil["core"]["on"]
        for c, run in on["runs"].items():
            bare, unkept = self.constant_kept(c), off["runs"].get(c)
            ratio = run["rate"] / bare["rate"] if bare else None
            ok = None if bare is None or unkept is None else ratio >= 0.9 and run["p99_ms"] <= unkept["p99_ms"] and run["errors"] == 0
            row(f"nginx → FastCGI core, constant answer, {keep_text(on['settings'], on['shipped'])}, {c} clients",
                result(run) if run["errors"] else f"{result(run)}, 0 errors",
                f"≥ 0.9 × the bare C program kept ({rate(bare['rate']) if bare else 'n/a'} req/s); "
                f"p99 ≤ keep_conn off's ({ms(unkept['p99_ms']) if unkept else 'n/a'})",
                f"{ratio:.2f}" if ratio is not None else "n/a",
                self.judged(f"FastCGI core kept at {c} clients ≥ 0.9 × bare C kept, p99 ≤ keep_conn off's", ok))
        kept_here = set(off["runs"]) if off["shipped"] else set(on["runs"]) if on["shipped"] else set()
        for c, run in ceil["fastcgi"].items():
            if c not in kept_here:
                row(f"nginx → FastCGI core, constant answer, {keep_text(ceil['shipped'], True)}, {c} clients", result(run),
                    "ceiling", "", "")

    @staticmethod
    def server_text(run):
        """What the PostgreSQL server did in a run (nothing on SQLite, which works inside the responder)."""
        if "db_cpu_percent" not in run:
            return ""
        text = (f"; postgres {run['db_cpu_percent']:.0f}% CPU, {run.get('db_statements_per_request', 0):.2f} statements, "
                f"{run['db_writes_per_request']:.3f} write transactions and {run['db_wal_bytes_per_request']:,.0f} WAL bytes a request, "
                f"{run['db_connections']} connections")
        top = run.get("db_costliest")
        if top:
            text += (f"; costliest statement `{top['statement'].strip()}…`: {top['calls']} calls, {ms(top['mean_ms'])} each, "
                     f"{100 * top['total_ms'] / 1000 / run['db_seconds']:.0f}% of the run")
        return text

    @staticmethod
    def cpu_per_request(run):
        """CPU time a request, the responder's and (on PostgreSQL) the server's: on 2 cores shared
        with nginx and wrk, what the rate is bound by."""
        each = lambda percent: percent / 100 / run["rate"] * 1e6 if run["rate"] else 0
        text = f"; CPU a request: responder {each(run['cpu_percent']):.0f} µs"
        if "db_cpu_percent" in run:
            text += f" + postgres {each(run['db_cpu_percent']):.0f} µs"
        return text

    def order_rows(self, b, backend, row):
        label = LABELS[backend]
        o, p = b["orders"], self.profile.on(backend)
        h = o["health"]
        row(f"`GET /api/health` (reads the database), {h['connections']} clients", f"{rate(h['rate'])} req/s",
            "FastCGI core", ratio_text(h, self.core_ceiling(h["connections"])), "", value=h["rate"])
        for c, run in o["immediate"].items():
            result = (f"{rate(run['rate'])} orders/s, p50 {ms(run['p50_ms'])}, p99 {ms(run['p99_ms'])}, "
                      f"{run['errors']} errors, responder {run['cpu_percent']:.0f}% CPU, {run['rss_mib']:.0f} MiB"
                      + self.server_text(run) + self.cpu_per_request(run))
            if c in p.order_target_clients:
                bare = self.constant_kept(c) or self.constant_kept_most()
                ok = None if bare is None else run["rate"] / bare["rate"] >= 0.6 and run["errors"] == 0
                row(f"orders, {c} clients, mock 0 ms", result,
                    f"bare C libfcgi kept at {bare['connections'] if bare else c} clients, ≥ 0.6×, 0 errors",
                    ratio_text(run, bare),
                    self.judged(f"orders/s at {c} clients ≥ 0.6 × bare C libfcgi kept, 0 errors ({label})", ok), value=run["rate"])
            else:
                row(f"orders, {c} clients, mock 0 ms", result, f"FastCGI core at {c} clients", ratio_text(run, self.core_ceiling(c)), "",
                    value=run["rate"])
        slow = o["slow"]
        for c, run in slow["runs"].items():
            ratio = run["rate"] / run["allowed_rate"]
            mark = self.target(f"with {slow['latency_ms']} ms execution at {c} clients, batches overlap (≥ 0.9 × what the latency allows) ({label})",
                               ratio >= 0.9)
            row(f"orders, {c} clients, mock {slow['latency_ms']} ms", f"{rate(run['rate'])} orders/s, p99 {ms(run['p99_ms'])}, {run['errors']} errors",
                f"{rate(run['allowed_rate'])}/s: clients ÷ latency, at most the 0 ms rate; ≥ 0.9×", f"{ratio:.2f}", mark, value=run["rate"])
        for i, (c, run) in enumerate(slow["runs"].items()):
            row(f"a held order's cost beyond its batch's execution (p99 − {slow['latency_ms']} ms), {c} clients", ms(run["held_cost_p99_ms"]),
                "< 10 ms" if i == 0 else "", "",
                self.target(f"held order p99 beyond execution < 10 ms at {c} clients ({label})", run["held_cost_p99_ms"] < 10) if i == 0 else "",
                value=run["held_cost_p99_ms"])

    def chat_rows(self, b, backend, row):
        label = LABELS[backend]
        ch, p = b["chat"], self.profile.on(backend)
        idle = ch["idle"]
        held = ch["fanout"][idle["waiters"]]["held"]
        # Threads must not grow with the waiters: against a tenth as many held, counted the same way
        # (with only 100 held, the responder had not yet started every pool thread it uses under load).
        fewer = [w for w in ch["fanout"] if w * 10 <= idle["waiters"]]
        few = max(fewer) if fewer else None
        few_threads = ch["fanout"][few]["held"]["threads"] if few else None
        ok = idle["cpu_percent"] < 2 and idle["rss_mib"] < 200 and (few is None or held["threads"] == few_threads)
        row(f"{idle['waiters']:,} long-polls held at once, idle {idle['seconds']} s, responder",
            f"{idle['cpu_percent']:.2f}% of a core, {idle['rss_mib']:.0f} MiB RSS; {held['threads']} threads while held, "
            + (f"{few_threads} with {few:,} held" if few else "no run with a tenth as many")
            + (f"; postgres {idle['db_cpu_percent']:.2f}% of a core" if "db_cpu_percent" in idle else ""),
            f"< 2%, < 200 MiB, threads as with {few:,} held" if few else "< 2%, < 200 MiB (threads: n/a)", "",
            self.target(f"{idle['waiters']:,} long-polls held: CPU < 2%, RSS < 200 MiB, threads constant ({label})", ok),
            value=idle["cpu_percent"])
        w = p.fanout_target_waiters
        if w in ch["fanout"]:
            f = ch["fanout"][w]
            answered = (f"all {f['delivered']}" if f["delivered"] == f["waiters"] else f"**{f['delivered']} of {f['waiters']}**")
            row(f"one message fanned out to {f['waiters']:,} waiters",
                f"{answered} answered in {ms(f['max_ms'])} (p50 {ms(f['p50_ms'])})" if f["max_ms"] is not None else "**none answered**",
                "< 150 ms", "", self.target(f"fan-out to {f['waiters']:,} < 150 ms ({label})",
                                            f["max_ms"] is not None and f["max_ms"] < 150 and f["delivered"] == f["waiters"]),
                value=f["max_ms"])
        most = ch["fanout"][max(ch["fanout"])]
        held = most["held"]
        row(f"{most['waiters']:,} long-polls held at once", f"health: {held['long_polls']} long-polls, {held['held_requests']} held requests; "
            f"responder {held['threads']} threads, {held['fds']} fds, {held['rss_mib']:.0f} MiB; "
            f"nginx workers' fds {' + '.join(str(n) for n in held['nginx_worker_fds'])}",
            "no thread per waiter", "", "")
        v = ch["post_to_visible"]
        row("a post → visible to a waiting long-poll", f"p50 {ms(v['p50_ms'])}, p99 {ms(v['p99_ms'])} ({v['samples']} posts)", "", "", "",
            value=v["p50_ms"])
        post = ch["posting"]
        core = self.core_ceiling(post["connections"])
        ok = None if core is None else post["rate"] / core["rate"] >= 0.5 and post["errors"] == 0
        row(f"posting messages, {post['connections']} clients",
            f"{rate(post['rate'])} messages/s, p99 {ms(post['p99_ms'])}, {post['errors']} errors, responder {post['cpu_percent']:.0f}% CPU"
            + self.server_text(post) + self.cpu_per_request(post),
            f"FastCGI core at {post['connections']} clients, ≥ 0.5×", ratio_text(post, core),
            self.judged(f"posting at {post['connections']} clients ≥ 0.5 × FastCGI core ({label})", ok), value=post["rate"])

    def bot_rows(self, b, backend, row):
        label = LABELS[backend]
        b = b["bot"]
        reply = b["reply"]
        row("`/stock=aapl.us` → the bot's reply visible to a long-poll", f"p50 {ms(reply['p50_ms'])}, p99 {ms(reply['p99_ms'])} "
            f"({reply['samples']} commands)", "< 300 ms", "",
            self.target(f"bot reply p99 < 300 ms ({label})", reply["p99_ms"] < 300 and reply["misses"] == 0), value=reply["p50_ms"])
        idle = b["idle"]
        row("the bot, idle", f"{idle['cpu_percent']:.2f}% of a core, {idle['rss_mib']:.0f} MiB RSS"
            + (f"; postgres {idle['db_cpu_percent']:.2f}% of a core" if "db_cpu_percent" in idle else ""), "", "", "",
            value=idle["cpu_percent"])
        t1, t2 = b["throughput"][1], b["throughput"][2]
        r1, r2 = jobs_rate(t1), jobs_rate(t2)
        job_server = lambda t: (f"; postgres {t['db_cpu_percent']:.0f}% CPU, {t['db_writes_per_request']:.2f} write transactions a job"
                                if "db_cpu_percent" in t else "")
        row("jobs answered, 1 bot, instant quote server", f"{rate(r1)} jobs/s ({t1['jobs']} jobs, all in {t1['seconds']:.2f} s{job_server(t1)})",
            "≥ 2,000 jobs/s", "", self.target(f"jobs ≥ 2,000/s with 1 bot ({label})", r1 >= 2000), value=r1)
        row("jobs answered, 2 bots, instant quote server", f"{rate(r2)} jobs/s ({t2['jobs']} jobs, all in {t2['seconds']:.2f} s{job_server(t2)})",
            "1 bot, ≥ 1.5×", f"{r2 / r1:.2f}", self.target(f"2 bots ≥ 1.5 × 1 bot ({label})", r2 >= 1.5 * r1), value=r2)
        far = b["far"]
        runs = far["runs"]
        for concurrency, run in runs.items():
            how = "one at a time, as before" if concurrency == 1 else f"{concurrency} at once"
            base = runs.get(1)
            row(f"jobs answered, 1 bot, quote server {far['latency_ms']} ms away, `STOCKBOT_CONCURRENCY={concurrency}` ({how})",
                f"{run['rate']:,.1f} jobs/s: {run['jobs']} commands in {run['seconds']:.2f} s",
                "one at a time" if base and concurrency != 1 else "", f"{run['rate'] / base['rate']:.2f}" if base and concurrency != 1 else "", "",
                value=run["rate"])

    def history_rows(self, b, backend, row):
        label = LABELS[backend]
        """The chat's reads in a big room against an empty one, by the median of one client's reads."""
        h = b["history"]
        n = h["messages"]
        for read, what in [("tail", "the long-poll's tail read (`after=` the last id, `wait=0`: `[]`)"),
                           ("first", "the first load (the last 50)")]:
            empty, full = h["runs"][read]["empty"], h["runs"][read]["full"]
            ratio = full["p50_ms"] / empty["p50_ms"]
            mark = self.target(f"chat {read} read in a room of {n:,} messages ≤ 2 × an empty room's ({label})", ratio <= 2 and full["errors"] == 0)
            row(f"chat: {what}, a room of {n:,} messages, 1 client",
                f"p50 {ms(full['p50_ms'])}, p99 {ms(full['p99_ms'])}, {rate(full['rate'])} reads/s, {full['errors']} errors; "
                f"an empty room: p50 {ms(empty['p50_ms'])}, p99 {ms(empty['p99_ms'])}",
                "≤ 2 × an empty room's p50", f"{ratio:.2f}", mark, value=full["p50_ms"])
            if "page" in h["runs"][read]:
                page = h["runs"][read]["page"]
                row(f"chat: {what}, a room of {n:,} messages, against a room of 50 (the same answer)",
                    f"p50 {ms(full['p50_ms'])}; a room of 50: p50 {ms(page['p50_ms'])}, p99 {ms(page['p99_ms'])}",
                    "", f"{full['p50_ms'] / page['p50_ms']:.2f}", "", value=full["p50_ms"])

    def plot(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        r = self.r
        styles = {"sqlite": ("o-", "tab:green"), "postgres": ("D-", "tab:purple")}
        figure, (throughput, fanout) = plt.subplots(1, 2, figsize=(11, 4))
        clients = []
        for b in self.ran("orders"):
            clients += [c for c in r[b]["orders"]["immediate"] if c not in clients]
        core = [c for c in clients if self.core_ceiling(c)]
        throughput.plot(core, [self.core_ceiling(c)["rate"] for c in core], "o--", color="tab:blue", label="FastCGI core (req/s)")
        kept = [c for c in clients if self.constant_kept(c)]
        throughput.plot(kept, [self.constant_kept(c)["rate"] for c in kept], "^--", color="tab:orange", label="bare C libfcgi, kept (req/s)")
        latency = throughput.twinx()
        for b in self.ran("orders"):
            runs = r[b]["orders"]["immediate"]
            style, color = styles[b]
            throughput.plot(list(runs), [run["rate"] for run in runs.values()], style, color=color, label=f"orders/s, {LABELS[b]}")
            latency.plot(list(runs), [run["p99_ms"] for run in runs.values()], ":", marker=style[0], color=color, alpha=0.6,
                         label=f"orders p99 (ms), {LABELS[b]}")
        throughput.set_xscale("log")
        throughput.set_xlabel("concurrent clients")
        throughput.set_ylabel("per second")
        throughput.set_ylim(bottom=0)
        latency.set_ylabel("p99 ms")
        latency.set_ylim(bottom=0)
        handles = throughput.get_legend_handles_labels()[0] + latency.get_legend_handles_labels()[0]
        throughput.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=7)
        throughput.set_title("Orders through nginx, batch 10, mock 0 ms")
        for b in self.ran("chat"):
            f = r[b]["chat"]["fanout"]
            style, color = styles[b]
            waiters = [w for w in f if f[w]["max_ms"] is not None]
            fanout.plot(waiters, [f[w]["max_ms"] for w in waiters], style, color=color, label=f"last waiter answered, {LABELS[b]}")
            fanout.plot(waiters, [f[w]["p50_ms"] for w in waiters], "--", marker=style[0], color=color, alpha=0.6,
                        label=f"median waiter, {LABELS[b]}")
        fanout.set_xscale("log")
        fanout.set_xlabel("long-poll waiters in the room")
        fanout.set_ylabel("ms after the post")
        fanout.set_ylim(bottom=0)
        fanout.legend(fontsize=7)
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
