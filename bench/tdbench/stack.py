"""The processes under test: nginx, the FastCGI ceiling fixture, the responder, bots, a quote server.

Everything listens on loopback in a temporary directory and is stopped by `Stack.close()`.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .database import PostgresCluster, SQLiteDatabase

BACKENDS = ("sqlite", "postgres")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench password 1"
# The upstream pool given to tradedesk's core when the shipped nginx.conf has none and a row wants
# kept connections: about what the production config is meant to carry.
DEFAULT_KEEPALIVE = 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


class Process:
    """A child process with its stderr in a log file, and what /proc says about it."""

    def __init__(self, name, argv, env, log_dir, stdin=None):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=stdin or subprocess.DEVNULL)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def cpu_ticks(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    def status(self, key):
        """A field of /proc/PID/status, in kB for memory figures."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss_mib(self):
        return self.status("VmRSS") / 1024

    def threads(self):
        return self.status("Threads")

    def open_fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def memory_mib(self):
        """VmRSS and its parts (anonymous, file-backed, shared memory), in MiB."""
        return {key: self.status(key) / 1024 for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}

    def fd_kinds(self):
        """Open descriptors by what they point at: socket, pipe, anon_inode:[eventfd], or a file's path."""
        return fd_kinds(self.pid)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after `timeout` s. Returns the exit status."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()
        return self.popen.returncode

    def tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])


def fd_kinds(pid):
    kinds = {}
    directory = f"/proc/{pid}/fd"
    for fd in os.listdir(directory):
        try:
            target = os.readlink(os.path.join(directory, fd))
        except OSError:
            continue  # closed since the listing
        kind = target.split(":[", 1)[0] if target.startswith(("socket:", "pipe:")) else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def children(pid):
    """Process ids whose parent is `pid` (nginx's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(found)


class CPUMeter:
    """CPU used by a process between start and `percent()`, as % of one core."""

    def __init__(self, process):
        self.process = process
        self.ticks = process.cpu_ticks()
        self.started = time.monotonic()

    def percent(self):
        seconds = time.monotonic() - self.started
        return 100 * (self.process.cpu_ticks() - self.ticks) / TICKS_PER_SECOND / seconds


class Stack:
    """nginx with the production nginx.conf (rendered by deploy/render-nginx-conf.sh), in front of
    whichever FastCGI program listens on the shared socket: the ceiling fixture, or the responder.

    The responder and bots use one database at a time, `db`: SQLite's file unless `use_backend`
    chose another. Each backend keeps its own database (and user and token) for the whole run; a
    PostgreSQL cluster runs only while it is the one in use, so that its checkpoints and autovacuum
    do not fall into the other backend's rows."""

    def __init__(self, root, bin_dir):
        self.root = root
        self.bin = bin_dir
        self.dir = tempfile.mkdtemp(prefix="tradedesk-bench.")
        # nginx's workers run as www-data when nginx starts as root: they need the socket and the page.
        os.chmod(self.dir, 0o755)
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        self.socket = os.path.join(self.dir, "tradedesk.sock")
        self.databases = {"sqlite": SQLiteDatabase(self.dir)}
        self.db = self.databases["sqlite"]
        self.database = self.db.path  # the SQLite file, which the soak reads the size of
        self.tokens = {}
        self.port = free_port()
        self.quote_port = free_port()
        self.far_quote_port = free_port()
        self.nginx = self.quotes = self.far_quotes = self.fastcgi = None
        self.shipped_keep_conn = self.keep_conn = None  # keep_conn_settings of the rendered nginx.conf
        self.bots = []
        self.token = None

    # -- the database ---------------------------------------------------------------------------

    @property
    def backend(self):
        return self.db.name

    def use_backend(self, name):
        """Makes `name` (sqlite, postgres) the database of the next responder and bots: the FastCGI
        program must be stopped. A PostgreSQL cluster is made the first time and started; one not
        chosen is stopped."""
        assert not self.fastcgi and not self.bots, "use_backend with the responder or bots running"
        if name not in self.databases:
            self.databases[name] = {"postgres": lambda: PostgresCluster(self.dir, self.logs)}[name]()
        for other in self.databases.values():
            if other.name != name:
                other.stop()
        self.db = self.databases[name]
        self.db.start()
        self.token = self.tokens.get(name)

    # -- environment -------------------------------------------------------------------------

    def environment(self, role="responder", **overrides):
        """The programs' environment; `role` picks the database role on PostgreSQL (owner, responder, bot)."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LOG_LEVEL": "info", "FCGI_LISTEN": f"unix:{self.socket}",
               **self.db.environment(role)}
        if os.getuid() == 0:
            env["FCGI_SOCKET_GROUP"] = "www-data"
        env.update({key: str(value) for key, value in overrides.items()})
        return env

    def run_tool(self, *arguments, input_text=None, role="owner"):
        result = subprocess.run([os.path.join(self.bin, "tradedesk"), *arguments], env=self.environment(role),
                                input=input_text, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"tradedesk {' '.join(arguments)} on {self.db.label} exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout.strip()

    # -- nginx and the quote server -------------------------------------------------------------

    def start_nginx(self, edit_conf=None):
        """nginx with the production nginx.conf rendered for this stack; `edit_conf(text)` may change
        the rendered copy (fuzz/api/run.py raises the login limit with it). Called again, it stops
        the running nginx first and starts it on the same port with the new edit."""
        if self.nginx:
            self.nginx.stop()
            self.nginx = None
        prefix = os.path.join(self.dir, "nginx")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        os.makedirs(os.path.join(prefix, "temp"), exist_ok=True)
        webroot = os.path.join(self.dir, "www")
        if not os.path.exists(webroot):
            shutil.copytree(os.path.join(self.root, "web"), webroot)
        conf = subprocess.run([os.path.join(self.root, "deploy/render-nginx-conf.sh"), prefix, str(self.port),
                               self.socket, webroot], capture_output=True, text=True, check=True).stdout
        self.shipped_keep_conn = keep_conn_settings(conf)
        if edit_conf:
            conf = edit_conf(conf)
        self.keep_conn = keep_conn_settings(conf)
        conf_path = os.path.join(prefix, "nginx.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        self.nginx = Process("nginx", ["nginx", "-p", prefix, "-c", conf_path, "-e", os.path.join(prefix, "logs/error.log"),
                                       "-g", "daemon off;"], os.environ.copy(), self.logs)
        wait_for(lambda: self.get("/index.html")[0] == 200, 10, "nginx")

    def start_quote_server(self):
        prefix = os.path.join(self.dir, "quotes")
        os.makedirs(os.path.join(prefix, "temp"))
        with open(os.path.join(self.root, "bench/quotes.conf")) as f:
            conf = f.read().replace("PREFIX", prefix).replace("PORT", str(self.quote_port))
        conf_path = os.path.join(prefix, "quotes.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        self.quotes = Process("quotes", ["nginx", "-p", prefix, "-c", conf_path, "-e", os.path.join(prefix, "quotes-error.log"),
                                         "-g", "daemon off;"], os.environ.copy(), self.logs)
        wait_for(lambda: _port_open(self.quote_port), 10, "the quote server")

    @property
    def quote_url(self):
        return f"http://127.0.0.1:{self.quote_port}/q/l/?s={{code}}&f=sd2t2ohlcv&h&e=csv"

    def start_far_quote_server(self, latency_ms):
        """A quote server `latency_ms` away (bench/tdbench/farquotes.py): what stooq is from most places."""
        env = dict(os.environ, PYTHONPATH=os.path.join(self.root, "bench"))
        self.far_quotes = Process("far-quotes", ["/usr/bin/python3", "-m", "tdbench.farquotes", str(self.far_quote_port),
                                                 str(latency_ms)], env, self.logs)
        wait_for(lambda: _port_open(self.far_quote_port), 10, "the far quote server")

    @property
    def far_quote_url(self):
        return f"http://127.0.0.1:{self.far_quote_port}/q/l/?s={{code}}&f=sd2t2ohlcv&h&e=csv"

    # -- FastCGI programs ---------------------------------------------------------------------

    def _start_fastcgi(self, name, argv, env):
        if self.fastcgi:
            self.stop_fastcgi()
        self.fastcgi = Process(name, argv, env, self.logs)
        wait_for(lambda: os.path.exists(self.socket) or not self.fastcgi.alive(), 10, name)
        if not self.fastcgi.alive():
            raise RuntimeError(f"{name} exited:\n{self.fastcgi.tail()}")
        wait_for(lambda: self.get("/api/health")[0] == 200, 10, f"{name} through nginx")
        return self.fastcgi

    def start_fixture(self):
        """The ceiling: the same FastCGI core and router answering a constant, with no database."""
        return self._start_fastcgi("fixture", [os.path.join(self.bin, "fastcgi-fixture"), self.socket, "20000"],
                                   self.environment("owner"))

    def start_constant(self, threads):
        """The bare libfcgi ceiling (bench/fcgi-constant/constant.c): `threads` threads answering a
        constant. Compiled once per stack into its temporary directory, never installed."""
        binary = os.path.join(self.dir, "fcgi-constant")
        if not os.path.exists(binary):
            subprocess.run([c_compiler(), "-O2", "-o", binary, os.path.join(self.root, "bench/fcgi-constant/constant.c"),
                            "-lfcgi", "-lpthread"], check=True, capture_output=True, text=True)
        return self._start_fastcgi(f"constant-{threads}", [binary, self.socket, str(threads)], self.environment("owner"))

    def start_responder(self, **settings):
        if not self.token:
            self.run_tool("migrate")
            if isinstance(self.db, PostgresCluster):
                self.db.make_login_roles()
            self.run_tool("users", "add", "bench", input_text=PASSWORD + "\n")
            self.token = self.tokens[self.backend] = self.run_tool("tokens", "create", "bench", "--label", "bench")
        # One user (one token) stands for every client: its per-user limits are lifted.
        env = self.environment(MAX_HELD_REQUESTS=20000, MAX_HELD_PER_USER=20000, ORDER_BURST=1000000, ORDER_RATE=1000000,
                               MESSAGE_RATE=1000000, MESSAGE_BURST=10000, COMMAND_RATE=1000000, COMMAND_BURST=10000, **settings)
        return self._start_fastcgi("responder", [os.path.join(self.bin, "tradedesk"), "serve"], env)

    def stop_fastcgi(self):
        status = self.fastcgi.stop()
        if status != 0:
            raise RuntimeError(f"{self.fastcgi.name} exited {status}:\n{self.fastcgi.tail()}")
        self.fastcgi = None
        if os.path.exists(self.socket):
            os.unlink(self.socket)

    def start_bots(self, count, quote_url=None, **settings):
        env = self.environment("bot", STOCKBOT_QUOTE_URL=quote_url or self.quote_url, **settings)
        for _ in range(count):
            self.bots.append(Process(f"stockbot-{len(self.bots) + 1}", [os.path.join(self.bin, "stockbot")], env, self.logs))
        time.sleep(0.2)
        for bot in self.bots:
            if not bot.alive():
                raise RuntimeError(f"{bot.name} exited:\n{bot.tail()}")

    def stop_bots(self):
        for bot in self.bots:
            if bot.stop() != 0:
                raise RuntimeError(f"{bot.name} did not stop cleanly:\n{bot.tail()}")
        self.bots = []

    # -- HTTP through nginx ----------------------------------------------------------------------

    def request(self, method, path, body=None, timeout=35):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            if body is not None:
                headers["Content-Type"] = "application/json"
                body = json.dumps(body)
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, (json.loads(data) if data[:1] in (b"{", b"[") else data)
        except OSError:
            return 0, None
        finally:
            connection.close()

    def get(self, path):
        return self.request("GET", path, timeout=5)

    def nginx_workers(self):
        """Each nginx worker's open descriptors: about one per client connection and one per
        FastCGI connection, against worker_connections (per worker) in nginx.conf."""
        workers = {}
        for pid in children(self.nginx.pid):
            try:
                workers[pid] = len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                pass
        return workers

    def nginx_errors(self, needle):
        """Lines of nginx's error log containing `needle`."""
        path = os.path.join(self.dir, "nginx/logs/error.log")
        if not os.path.exists(path):
            return []
        with open(path, errors="replace") as f:
            return [line.rstrip() for line in f if needle in line]

    def close(self):
        for process in [*self.bots, self.fastcgi, self.nginx, self.quotes, self.far_quotes]:
            if process:
                process.stop(timeout=5)
        for database in self.databases.values():
            database.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def c_compiler():
    """cc, or else the clang beside swift: a minimal Debian with the Swift toolchain has no gcc."""
    found = shutil.which("cc")
    if found:
        return found
    swift = shutil.which("swift")
    clang = os.path.join(os.path.dirname(os.path.realpath(swift)), "clang") if swift else None
    if clang and os.access(clang, os.X_OK):
        return clang
    raise RuntimeError("no C compiler for bench/fcgi-constant/constant.c: neither cc nor the Swift toolchain's clang")


def keep_conn_settings(conf):
    """{"on": whether /api/ keeps FastCGI connections, "keepalive": the upstream pool or None}."""
    on = re.search(r"^\s*fastcgi_keep_conn\s+on\s*;", conf, re.M) is not None
    pool = re.search(r"^\s*keepalive\s+(\d+)\s*;", _upstream_body(conf), re.M)
    return {"on": on, "keepalive": int(pool.group(1)) if pool else None}


def _upstream_body(conf):
    match = re.search(r"upstream tradedesk \{(.*?)\n\s*\}", conf, re.S)
    if not match:
        raise RuntimeError("the rendered nginx.conf has no `upstream tradedesk { ... }`")
    return match.group(1)


def set_keep_conn(conf, on, keepalive=None):
    """The rendered nginx.conf with kept FastCGI connections on or off, whichever way it was shipped:
    `fastcgi_keep_conn on|off;` in /api/ (set, or added after its fastcgi_pass) and, when on, an
    upstream pool of `keepalive` connections (None: the shipped one, else DEFAULT_KEEPALIVE); when
    off, no pool."""
    directive = f"fastcgi_keep_conn {'on' if on else 'off'};"
    conf, count = re.subn(r"^(\s*)fastcgi_keep_conn\s+\w+\s*;", lambda m: m.group(1) + directive, conf, flags=re.M)
    if count == 0:
        conf, count = re.subn(r"(location /api/ \{.*?\n(\s*)fastcgi_pass tradedesk;\n)",
                              lambda m: m.group(1) + m.group(2) + directive + "\n", conf, count=1, flags=re.S)
        if count == 0:
            raise RuntimeError("the rendered nginx.conf has no `location /api/` with `fastcgi_pass tradedesk;`")
    shipped = keep_conn_settings(conf)["keepalive"]
    body = _upstream_body(conf)
    lines = [line for line in body.split("\n") if not re.match(r"\s*keepalive\s+\d+\s*;", line)]
    if on:
        indent = re.match(r"\s*", next((l for l in lines if l.strip()), "        ")).group(0)
        lines.append(f"{indent}keepalive {keepalive or shipped or DEFAULT_KEEPALIVE};")
    start = conf.index(body)
    return conf[:start] + "\n".join(lines) + conf[start + len(body):]


def _port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False
