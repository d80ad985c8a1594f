"""The database a Stack's responder and bots use: a SQLite file (the default), or a private
PostgreSQL 15 cluster in the stack's temporary directory.

Both answer the few queries the scenarios make themselves (`scalar`, `execute`), say how the
programs reach them (`environment(role)`), and PostgreSQL also says what its processes did (CPU,
transactions, WAL), which SQLite, living inside the responder, cannot separate from it.
"""
import glob
import os
import pwd
import sqlite3
import subprocess
import threading
import time

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


class SQLiteDatabase:
    name, label = "sqlite", "SQLite"

    def __init__(self, directory):
        self.path = os.path.join(directory, "tradedesk.sqlite")

    def start(self):
        pass

    def stop(self):
        pass

    def environment(self, role):
        return {"DATABASE_PATH": self.path}

    def scalar(self, sql):
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchone()[0]

    def execute(self, sql):
        """Runs `sql` (one statement) in one transaction."""
        db = sqlite3.connect(self.path)
        try:
            with db:
                db.execute(sql)
        finally:
            db.close()

    def close(self):
        pass


def postgres_binaries():
    """/usr/lib/postgresql/15/bin (Debian keeps initdb, pg_ctl and postgres off PATH), else the newest."""
    for directory in ["/usr/lib/postgresql/15/bin", *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        if all(os.access(os.path.join(directory, tool), os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    raise RuntimeError("PostgreSQL is not installed: no initdb, pg_ctl and postgres under /usr/lib/postgresql/*/bin "
                       "(apt-get install postgresql)")


class PostgresCluster:
    """A PostgreSQL cluster of its own, listening only on a unix socket in `directory`.

    Commits are durable as PostgreSQL ships it (fsync and synchronous_commit on), as SQLite's are with
    `synchronous = FULL`: the comparison is one of durable commits. The database `tradedesk` belongs
    to `bench_owner`, which `tradedesk migrate` runs as; it makes the tables and the group roles, and
    the responder and the bots then log in as roles of those groups, as a deployment would.
    """
    name, label = "postgres", "PostgreSQL"
    DATABASE = "tradedesk"
    OWNER = "bench_owner"
    ROLES = {"owner": OWNER, "responder": "bench_responder", "bot": "bench_bot"}
    GROUPS = {"bench_responder": "tradedesk_responder", "bench_bot": "tradedesk_bot"}
    # The responder's pool (16) and listener, the bots' (two at once), the bench's psql, and room to spare.
    MAX_CONNECTIONS = 100

    def __init__(self, directory, log_dir):
        self.dir = os.path.join(directory, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(log_dir, "postgres.log")
        self.bin = postgres_binaries()
        self.initialized = self.running = self.roles_made = False
        self.session = None
        # initdb and postgres refuse root: as root they run as the `postgres` user, which must own the directory.
        self.server_user = None
        if os.geteuid() == 0:
            try:
                self.server_user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, and initdb refuses root, but there is no `postgres` user "
                                   "(apt-get install postgresql makes it)") from None

    def _as_server(self, argv):
        return ["runuser", "-u", "postgres", "--", *argv] if self.server_user else argv

    def _run(self, argv, what):
        result = subprocess.run(self._as_server(argv), capture_output=True, text=True, cwd="/")
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self):
        if self.running:
            return
        if not self.initialized:
            os.makedirs(self.dir)
            os.chmod(self.dir, 0o700)
            if self.server_user:
                os.chown(self.dir, self.server_user.pw_uid, self.server_user.pw_gid)
                # The server's log beside the others, written by the server's user.
                open(self.log_path, "a").close()
                os.chown(self.log_path, self.server_user.pw_uid, self.server_user.pw_gid)
            self._run([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "postgres", "--auth=trust",
                       "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"], "initdb")
            with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
                conf.write(f"""
# tradedesk's bench: a unix socket in the cluster's directory, no TCP.
listen_addresses = ''
unix_socket_directories = '{self.dir}'
max_connections = {self.MAX_CONNECTIONS}
# Durable commits, PostgreSQL's defaults, named so that nobody turns them off for a better number.
fsync = on
synchronous_commit = on
# The WAL segments kept for reuse after a checkpoint (see `warm_wal`).
min_wal_size = 512MB
# Statements counted and timed (`counters`): the round trips a request costs, and the costliest.
shared_preload_libraries = 'pg_stat_statements'
""")
            self.initialized = True
        self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-l", self.log_path, "-w", "-t", "60", "start"],
                  "pg_ctl start")
        self.running = True
        if not self.roles_made:
            self.psql(f"CREATE ROLE {self.OWNER} LOGIN CREATEROLE", user="postgres", database="postgres")
            self.psql(f"CREATE DATABASE {self.DATABASE} OWNER {self.OWNER}", user="postgres", database="postgres")
            self.psql("CREATE EXTENSION pg_stat_statements", user="postgres")
            self.warm_wal()
            self.roles_made = True

    def warm_wal(self):
        """Writes and checkpoints some 300 MB of WAL, so that the run's WAL goes into recycled segments.

        A server that has run for a while renames the segments a checkpoint frees into the next
        ones it will write; a new cluster creates every segment, and on this kind of machine's ext4
        (a file system that builds create and delete files on all day) creating a file took a tenth
        of PostgreSQL's CPU during the orders (`perf`: open → ext4_create → find_inode_bit). The
        rows measure a server in its steady state, not its first minutes."""
        self.psql("CREATE TABLE bench_warm_wal AS SELECT g AS i, repeat('x', 100) AS t FROM generate_series(1, 2000000) AS g; "
                  "DROP TABLE bench_warm_wal; CHECKPOINT; SELECT pg_switch_wal(); CHECKPOINT", user="postgres", database="postgres")

    def stop(self):
        """Stops the server (a fast shutdown: its checkpoint is written now, not during the next scenario)."""
        if self.session:
            self.session.close()
            self.session = None
        if self.running:
            self._run([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"],
                      "pg_ctl stop")
            self.running = False

    def url(self, user, database=None):
        return f"postgresql:///{database or self.DATABASE}?host={self.dir}&user={user}"

    def environment(self, role):
        return {"DATABASE_URL": self.url(self.ROLES[role])}

    def make_login_roles(self):
        """The responder's and the bot's login roles, members of the groups `tradedesk migrate` made."""
        for login, group in self.GROUPS.items():
            self.psql(f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{login}') THEN "
                      f"CREATE ROLE {login} LOGIN IN ROLE {group}; END IF; END$$", user="postgres")

    def psql(self, sql, user="postgres", database=None):
        """One psql run: its rows, unaligned and tab-separated."""
        result = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql,
                                 "--dbname=" + self.url(user, database)], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({result.returncode}) on {sql[:200]!r}:\n{result.stderr}")
        return result.stdout

    def query(self, sql):
        """Rows (lists of text) from the bench's own psql, which stays connected: the scenarios poll
        the job table every 20 ms, and a psql started for each look would cost the bots CPU."""
        if not self.session:
            self.session = PsqlSession(self.url("postgres"))
        return self.session.query(sql)

    def scalar(self, sql):
        value = self.query(sql)[0][0]
        return int(value) if value.lstrip("-").isdigit() else value

    def execute(self, sql):
        self.psql(sql, user=self.OWNER)

    # -- what the server's processes did -----------------------------------------------------------

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def cpu_ticks(self):
        """CPU of the postmaster, its live children (backends, WAL writer, checkpointer, …) and its
        children that have exited since it started (cutime, cstime), in clock ticks."""
        pid = self.postmaster_pid()
        fields = _stat_fields(pid)
        total = sum(int(fields[i]) for i in (11, 12, 13, 14))
        for child in _children(pid):
            try:
                child_fields = _stat_fields(child)
            except OSError:
                continue  # exited between the listing and the read; its ticks are in cutime next time
            total += int(child_fields[11]) + int(child_fields[12])
        return total

    def counters(self):
        """Counters to subtract around a run: WAL bytes (from the LSN, exact), transactions that wrote
        (from the transaction id, exact less the one this look takes), the server's connections, and
        per statement of the programs (not this bench's, which looks as `postgres`) its calls and
        time (pg_stat_statements: top-level statements, each a round trip)."""
        lsn, xid, connections = self.query(
            "SELECT pg_current_wal_lsn() - '0/0', pg_current_xact_id()::text::bigint, "
            f"(SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.DATABASE}')")[0]
        statements = {row[0]: (int(row[1]), float(row[2]), row[3]) for row in self.query(
            "SELECT queryid, calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 40) FROM pg_stat_statements "
            f"WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '{self.DATABASE}') "
            "AND userid <> (SELECT oid FROM pg_roles WHERE rolname = 'postgres')")}
        return {"wal_bytes": int(float(lsn)), "xid": int(xid), "connections": int(connections), "statements": statements}

    def flush_counters(self):
        """pg_stat_wal's flushes (wal_sync) and writes, and the commits of the database. These come from the
        cumulative statistics, which a backend reports at most once a second and an idle one within
        ten: exact only once the responder and bots that made them have exited."""
        commits, syncs, writes = self.query(
            f"SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '{self.DATABASE}'), wal_sync, wal_write "
            "FROM pg_stat_wal")[0]
        return {"commits": int(commits), "wal_syncs": int(syncs), "wal_writes": int(writes)}

    def close(self):
        try:
            self.stop()
        except (RuntimeError, OSError):
            pass


class PsqlSession:
    """One psql process fed statements on stdin; each answer ends at a marker line it echoes."""
    MARKER = "--tdbench-end--"

    def __init__(self, url):
        self.popen = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "--dbname=" + url],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, bufsize=1)
        self.lock = threading.Lock()

    def query(self, sql):
        with self.lock:
            self.popen.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo " + self.MARKER + "\n")
            self.popen.stdin.flush()
            lines = []
            while True:
                line = self.popen.stdout.readline()
                if not line:
                    raise RuntimeError(f"psql exited:\n{''.join(lines)}")
                line = line.rstrip("\n")
                if line == self.MARKER:
                    break
                lines.append(line)
        errors = [line for line in lines if line.startswith(("ERROR:", "FATAL:", "psql:"))]
        if errors:
            raise RuntimeError(f"psql: {sql[:200]!r}: " + "; ".join(errors))
        return [line.split("\t") for line in lines if line]

    def close(self):
        try:
            self.popen.stdin.close()
            self.popen.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.popen.kill()
            self.popen.wait()


class DatabaseMeter:
    """What the PostgreSQL server did between its start and `finish(requests)`: its processes' CPU (% of
    one core), and per request the transactions that wrote and the WAL bytes. Nothing for SQLite,
    whose work is inside the responder's CPU."""

    def __init__(self, db):
        self.db = db if isinstance(db, PostgresCluster) else None
        if self.db:
            self.ticks = self.db.cpu_ticks()
            self.counters = self.db.counters()
            self.started = time.monotonic()

    def cpu(self):
        """{"db_cpu_percent": …} since the start, or nothing on SQLite."""
        if not self.db:
            return {}
        return {"db_cpu_percent": ticks_to_percent(self.db.cpu_ticks() - self.ticks, time.monotonic() - self.started)}

    def finish(self, requests):
        if not self.db:
            return {}
        seconds = time.monotonic() - self.started
        ticks, counters = self.db.cpu_ticks(), self.db.counters()
        per = max(requests, 1)
        calls, costliest = 0, None
        for key, (count, total_ms, text) in counters["statements"].items():
            before_count, before_ms, _ = self.counters["statements"].get(key, (0, 0.0, text))
            count, total_ms = count - before_count, total_ms - before_ms
            calls += count
            if count and (costliest is None or total_ms > costliest["total_ms"]):
                costliest = {"statement": text, "calls": count, "total_ms": total_ms, "mean_ms": total_ms / count}
        return {"db_cpu_percent": ticks_to_percent(ticks - self.ticks, seconds),
                # Less the transaction id that the first look took.
                "db_writes_per_request": (counters["xid"] - self.counters["xid"] - 1) / per,
                "db_wal_bytes_per_request": (counters["wal_bytes"] - self.counters["wal_bytes"]) / per,
                "db_connections": counters["connections"],
                "db_statements_per_request": calls / per, "db_costliest": costliest, "db_seconds": seconds}


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(_stat_fields(int(entry))[1]) == pid:
                    found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return found


def ticks_to_percent(ticks, seconds):
    return 100 * ticks / TICKS_PER_SECOND / seconds
