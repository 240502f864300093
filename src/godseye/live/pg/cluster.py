"""Three real PostgreSQL clusters, one per lab cloud, run as the `postgres` user on loopback.

Layout under `lab_dir()/pg/`: one data directory per cloud, its log, and a `.pid` file with the pid
of its postmaster. A cluster's processes are its postmaster and its children, found through /proc
(by parent, or by the cluster name in their title once a crash orphaned them): a "cloud killed" is
SIGKILL of all of them, "hung" is SIGSTOP of all of them, and teardown finds every process it
started, even after a crash.

Per-cluster settings live in `godseye.conf` (included from postgresql.conf) and `pg_hba.conf`.
Both are rewritten after every pg_basebackup or pg_rewind because those copy the source's files.
`postgresql.auto.conf` stays empty (no ALTER SYSTEM) so a copy never carries another cloud's settings.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from godseye.live.paths import cloud_address, lab_dir
from godseye.live.pg.pointer import PrimaryPointer, write_pointer

CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")
BASE_PORT = 25432
OS_USER = "postgres"
SUPERUSER = "postgres"  # the fault injector and bootstrap; stays allowed during a partition
ADMIN_USER = "godseye"  # the control plane: probes, promotion, fencing
REPL_USER = "replicator"
APP_USER = "app"
DB_NAME = "lab"

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15
COMMAND_TIMEOUT_S = 120
GROUP_EXIT_TIMEOUT_S = 5.0
REAP_AFTER_KILL_S = 30.0
REAP_POLL_S = 0.05
CONNECT_TIMEOUT_S = 2  # libpq's minimum
DEAD_STATES = frozenset({"Z", "X", "x"})  # zombie, dead: exited, only not reaped yet


class ClusterError(RuntimeError):
    """A PostgreSQL command of the lab failed; the message carries its output."""


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server binary from Debian's package (highest installed version)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise ClusterError(f"{name} not found under /usr/lib/postgresql/*/bin: run scripts/install-lab-deps.sh")
    return found[-1]


def _as_postgres() -> str | None:
    """PostgreSQL refuses to run as root: when we are root, commands run as the postgres user."""
    return OS_USER if os.geteuid() == 0 else None


def run_pg(args: list[str], timeout_s: float = COMMAND_TIMEOUT_S, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, user=_as_postgres(), capture_output=True, text=True, timeout=timeout_s, check=False)
    if check and proc.returncode != 0:
        raise ClusterError(f"{' '.join(args)} exited {proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(OS_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _proc_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cluster_pids(title: str | None, postmaster: int | None) -> list[int]:
    """Every live process of one cluster: its postmaster, the postmaster's children, and orphans of
    a dead postmaster (found by the process title carrying the cluster's name). PostgreSQL's
    children each call setsid(), so a process group would only ever hold the postmaster."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        state = _proc_state(pid)
        if state is None or state[0] in DEAD_STATES:
            continue
        titled = title is not None and _cmdline(pid).startswith(f"postgres: {title}: ")
        if pid == postmaster or state[1] == postmaster or titled:
            found.append(pid)
    # The postmaster first: stopped or killed first, it forks nothing new behind our back.
    return sorted(found, key=lambda p: p != postmaster)


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            continue


@dataclass(frozen=True, slots=True)
class Node:
    """One cloud's cluster: where it listens and where it keeps its files."""

    cloud: str
    index: int
    host: str
    port: int
    data_dir: Path
    log_file: Path
    pid_file: Path  # the postmaster's pid, kept outside the data directory so a crash cannot lose it

    @property
    def title(self) -> str:
        """cluster_name: every child process carries it in its title ("postgres: <title>: ...")."""
        return f"godseye-{self.cloud}-{self.port}"

    def dsn(self, user: str = ADMIN_USER, dbname: str = DB_NAME, **extra: str) -> str:
        params = {"host": self.host, "port": str(self.port), "user": user, "dbname": dbname,
                  "connect_timeout": str(CONNECT_TIMEOUT_S), "application_name": f"godseye-{user}", **extra}
        return make_conninfo(**params)


def _hba(partitioned: bool) -> str:
    """Trust on loopback only (the lab never listens elsewhere). A partition rejects the replication
    and control-plane users, so the primary is cut from both replicas and from the control plane,
    while clients in its own cloud can still reach it."""
    lines = ["# written by godseye.live.pg.cluster"]
    if partitioned:
        lines += ["host replication all 127.0.0.0/8 reject", f"host all {ADMIN_USER} 127.0.0.0/8 reject"]
    lines += [f"host replication {REPL_USER} 127.0.0.0/8 trust", "host all all 127.0.0.0/8 trust"]
    return "\n".join(lines) + "\n"


class Triplet:
    """The three clusters of the lab and every operation the lab performs on their processes."""

    def __init__(self, root: Path | None = None, clouds: tuple[str, ...] = CLOUDS, base_port: int = BASE_PORT) -> None:
        self.root = root if root is not None else lab_dir() / "pg"
        self.nodes: dict[str, Node] = {
            cloud: Node(cloud=cloud, index=i, host=cloud_address(i, 1), port=base_port + i,
                        data_dir=self.root / cloud, log_file=self.root / f"{cloud}.log", pid_file=self.root / f"{cloud}.pid")
            for i, cloud in enumerate(clouds)
        }

    @property
    def clouds(self) -> tuple[str, ...]:
        return tuple(self.nodes)

    # ---- configuration -------------------------------------------------------------------------

    def _write_file(self, path: Path, text: str) -> None:
        path.write_text(text)
        _give_to_postgres(path)

    def write_config(self, cloud: str, follow: str | None, partitioned: bool = False) -> None:
        """Per-cluster settings; `follow` names the primary this cluster streams from (None: it is primary)."""
        node = self.nodes[cloud]
        others = ", ".join(c for c in self.clouds if c != cloud)
        settings = {
            "listen_addresses": f"'{node.host}'",
            "port": str(node.port),
            "unix_socket_directories": "''",  # TCP on the cloud's own address only
            "cluster_name": f"'{node.title}'",
            "wal_level": "replica",
            "wal_log_hints": "on",  # pg_rewind needs it to rejoin an old primary
            "max_wal_senders": "10",
            "wal_keep_size": "'256MB'",
            "hot_standby": "on",
            "synchronous_commit": "on",
            # Quorum of one other cloud: a commit is acknowledged only once a second cloud flushed it.
            # Every cluster lists the two others, so whichever is promoted is synchronous at once.
            "synchronous_standby_names": f"'ANY 1 ({others})'",
            "wal_sender_timeout": "'5s'",
            "wal_receiver_timeout": "'5s'",
            "wal_receiver_status_interval": "'1s'",
            "wal_retrieve_retry_interval": "'500ms'",
            "recovery_target_timeline": "'latest'",
            "shared_buffers": "'32MB'",
            "max_connections": "60",
            # A client that gave up on a commit stuck waiting for a standby leaves a backend behind;
            # checking the client's socket frees that slot instead of holding it forever.
            "client_connection_check_interval": "'1s'",
            "log_min_messages": "warning",
            "log_line_prefix": "'%m [%p] %a '",
        }
        if follow is not None:
            primary = self.nodes[follow]
            conninfo = (f"host={primary.host} port={primary.port} user={REPL_USER} application_name={cloud} "
                        f"connect_timeout={CONNECT_TIMEOUT_S}")
            settings["primary_conninfo"] = f"'{conninfo}'"
        self._write_file(node.data_dir / "godseye.conf", "".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._write_file(node.data_dir / "postgresql.auto.conf", "# godseye never uses ALTER SYSTEM\n")
        self._write_file(node.data_dir / "pg_hba.conf", _hba(partitioned))
        signal_file = node.data_dir / "standby.signal"
        if follow is not None:
            self._write_file(signal_file, "")
        else:
            signal_file.unlink(missing_ok=True)

    def following(self, cloud: str) -> str | None:
        """Which primary this cluster is configured to stream from, read back from its own files."""
        conf = self.nodes[cloud].data_dir / "godseye.conf"
        if not (self.nodes[cloud].data_dir / "standby.signal").exists() or not conf.exists():
            return None
        for line in conf.read_text().splitlines():
            if line.startswith("primary_conninfo"):
                for node in self.nodes.values():
                    if f"host={node.host} port={node.port} " in line:
                        return node.cloud
        return None

    # ---- lifecycle -----------------------------------------------------------------------------

    def _prepare_root(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(self.root)
        os.chmod(self.root, 0o700)
        if run_pg(["test", "-w", str(self.root)], check=False).returncode != 0:
            raise ClusterError(f"{self.root}: the postgres user cannot reach it; use a lab dir with world-searchable parents")

    def up(self) -> None:
        """A fresh triplet: initdb the first cloud as primary, clone the others as streaming replicas."""
        self.down()
        self._prepare_root()
        primary, *replicas = self.clouds
        node = self.nodes[primary]
        run_pg([pg_bin("initdb"), "-D", str(node.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8", "--no-instructions"])
        with open(node.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'godseye.conf'\n")
        self.write_config(primary, follow=None)
        self.start(primary)
        # Bootstrap commits cannot wait for standbys that do not exist yet.
        local = "-c synchronous_commit=local"
        with psycopg.connect(node.dsn(user=SUPERUSER, dbname="postgres", options=local), autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {ADMIN_USER} LOGIN SUPERUSER")
            conn.execute(f"CREATE ROLE {REPL_USER} LOGIN REPLICATION")
            conn.execute(f"CREATE ROLE {APP_USER} LOGIN")
            conn.execute(f"CREATE DATABASE {DB_NAME} OWNER {APP_USER}")
        with psycopg.connect(node.dsn(user=SUPERUSER, options=local), autocommit=True) as conn:
            # The fencing token: the epoch of the primary that may take writes, bumped at every promotion.
            conn.execute("CREATE TABLE godseye_fence (epoch integer NOT NULL)")
            conn.execute("INSERT INTO godseye_fence VALUES (1)")
            conn.execute(f"GRANT SELECT ON godseye_fence TO {APP_USER}")
            # What the tier-1 lab services record (live/pg/orders.py); ids are theirs, so retries stay idempotent.
            conn.execute("CREATE TABLE orders (id text NOT NULL, epoch integer NOT NULL, at timestamptz NOT NULL DEFAULT now())")
            conn.execute("CREATE UNIQUE INDEX orders_id_key ON orders (id)")  # the order id is the idempotency key
            conn.execute(f"GRANT SELECT, INSERT ON orders TO {APP_USER}")
        for replica in replicas:
            self.clone(replica, primary)
            self.start(replica)
        write_pointer(self.root, PrimaryPointer(epoch=1, primary=primary, host=node.host, port=node.port, hold=False))

    def clone(self, cloud: str, primary: str) -> None:
        """A fresh copy of `primary` (pg_basebackup, WAL streamed alongside) configured to follow it."""
        node, source = self.nodes[cloud], self.nodes[primary]
        self._remove_data(cloud)
        run_pg([pg_bin("pg_basebackup"), "-h", source.host, "-p", str(source.port), "-U", REPL_USER,
                "-D", str(node.data_dir), "-X", "stream", "-c", "fast"])
        self.write_config(cloud, follow=primary)

    def _remove_data(self, cloud: str) -> None:
        shutil.rmtree(self.nodes[cloud].data_dir, ignore_errors=True)

    def _postmaster(self, cloud: str) -> int | None:
        node = self.nodes[cloud]
        try:
            pid = int(node.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        state = _proc_state(pid)
        if state is None or state[0] in DEAD_STATES or str(node.data_dir) not in _cmdline(pid):
            return None  # gone, or the pid now belongs to someone else
        return pid

    def pids(self, cloud: str) -> list[int]:
        """Every live process of the cluster (postmaster first), orphans of a crashed one included."""
        return cluster_pids(self.nodes[cloud].title, self._postmaster(cloud))

    def running(self, cloud: str) -> bool:
        return self._postmaster(cloud) is not None

    def start(self, cloud: str) -> None:
        node = self.nodes[cloud]
        run_pg([pg_bin("pg_ctl"), "-D", str(node.data_dir), "-l", str(node.log_file), "-w", "-t", str(START_TIMEOUT_S), "start"],
               timeout_s=START_TIMEOUT_S + 10)
        pid = int((node.data_dir / "postmaster.pid").read_text().splitlines()[0])
        node.pid_file.write_text(f"{pid}\n")

    def stop(self, cloud: str, mode: str = "fast") -> None:
        """Stop a cluster and make sure nothing of it survives (resumed first if it was paused)."""
        pids = self.pids(cloud)
        if not pids:
            return
        _signal_all(pids, signal.SIGCONT)
        node = self.nodes[cloud]
        if self.running(cloud) and node.data_dir.exists():
            run_pg([pg_bin("pg_ctl"), "-D", str(node.data_dir), "-m", mode, "-w", "-t", str(STOP_TIMEOUT_S), "stop"],
                   timeout_s=STOP_TIMEOUT_S + 10, check=False)
        self._reap(cloud)

    def kill(self, cloud: str) -> None:
        """The cloud dies: SIGKILL to every process of the cluster at once."""
        _signal_all(self.pids(cloud), signal.SIGKILL)
        self._reap(cloud)

    def pause(self, cloud: str) -> None:
        """The cloud hangs: every process of the cluster stopped (SIGSTOP); sockets stay open."""
        _signal_all(self.pids(cloud), signal.SIGSTOP)

    def resume(self, cloud: str) -> None:
        _signal_all(self.pids(cloud), signal.SIGCONT)

    def _reap(self, cloud: str) -> None:
        """Wait for the cluster's processes to be gone; SIGKILL what lingers; fail loudly if any survives.

        After SIGKILL every poll signals again whatever `pids` finds: a backend the postmaster forked
        between our listing and its own death was never signalled. The wait after SIGKILL is long
        (REAP_AFTER_KILL_S) because a killed process blocked in the kernel (state D: an fsync on a
        disk busy with another test's writes) only dies once that I/O returns; on a loaded machine
        that took longer than the 5 s this once allowed ("survived SIGKILL"). Zombies and exiting
        tasks (Z, X) are not counted: they are dead, merely not reaped yet by their new parent.
        """
        deadline = time.monotonic() + GROUP_EXIT_TIMEOUT_S
        while self.pids(cloud) and time.monotonic() < deadline:
            time.sleep(REAP_POLL_S)
        deadline = time.monotonic() + REAP_AFTER_KILL_S
        while (left := self.pids(cloud)) and time.monotonic() < deadline:
            _signal_all(left, signal.SIGKILL)
            time.sleep(REAP_POLL_S)
        left = self.pids(cloud)
        if left:
            states = {pid: (_proc_state(pid) or ("gone", 0))[0] for pid in left}
            raise ClusterError(f"{cloud}: processes survived SIGKILL for {REAP_AFTER_KILL_S:g} s (pid: state): {states}")

    def down(self) -> None:
        """Stop every cluster (immediate, then SIGKILL) and remove all lab PostgreSQL files."""
        for cloud in self.clouds:
            self.stop(cloud, mode="immediate")
        if self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    # ---- faults on the network path ------------------------------------------------------------

    def partition(self, cloud: str) -> None:
        """Cut a cluster from both replicas and the control plane: pg_hba rejects the replication and
        control-plane users, the configuration is reloaded, and their live sessions are terminated."""
        follow = self.following(cloud)
        self.write_config(cloud, follow=follow, partitioned=True)
        node = self.nodes[cloud]
        with psycopg.connect(node.dsn(user=SUPERUSER), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            for _ in range(3):  # a session opened just before the reload took effect is caught on the next pass
                time.sleep(0.2)
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE backend_type = 'walsender' OR usename = %s", (ADMIN_USER,))

    def heal(self, cloud: str) -> None:
        follow = self.following(cloud)
        self.write_config(cloud, follow=follow, partitioned=False)
        run_pg([pg_bin("pg_ctl"), "-D", str(self.nodes[cloud].data_dir), "reload"], check=False)

    # ---- role changes (applied by the failover adapter) ----------------------------------------

    def promote(self, cloud: str, timeout_s: int = 10) -> None:
        node = self.nodes[cloud]
        with psycopg.connect(node.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_promote(true, %s)", (timeout_s,)).fetchone()
            if row is None or row[0] is not True:
                raise ClusterError(f"{cloud}: pg_promote did not finish within {timeout_s} s")
            # The control file names the new timeline only after a checkpoint; until then pg_rewind
            # would compare timelines, find them equal and rewind nothing (Patroni does the same).
            conn.execute("CHECKPOINT")
        # Keep its files truthful: it now follows nobody.
        self.write_config(cloud, follow=None)

    def follow(self, cloud: str, primary: str) -> None:
        """Re-point a running replica: new primary_conninfo, then reload (the walreceiver restarts)."""
        self.write_config(cloud, follow=primary)
        run_pg([pg_bin("pg_ctl"), "-D", str(self.nodes[cloud].data_dir), "reload"])

    def rejoin(self, cloud: str, primary: str) -> str:
        """Turn a (former primary) cluster into a replica of `primary`: stopped first so it can never
        accept a write, then pg_rewind; a fresh pg_basebackup when rewinding is impossible.
        Returns how it rejoined: "rewind" or "clone"."""
        self.stop(cloud, mode="immediate")
        node, source = self.nodes[cloud], self.nodes[primary]
        how = "clone"
        with psycopg.connect(source.dsn(), autocommit=True) as conn:
            conn.execute("CHECKPOINT")  # the source's control file must show its current timeline
        if (node.data_dir / "PG_VERSION").exists():
            # --no-sync: the rewound cluster is started next, and a cluster that was not shut down cleanly
            # fsyncs its whole data directory before recovery anyway; syncing it here too doubled the
            # restored cloud's burst of fsyncs on the disk the surviving clouds commit on.
            rewind = run_pg([pg_bin("pg_rewind"), "--no-sync", "-D", str(node.data_dir),
                             f"--source-server=host={source.host} port={source.port} user={ADMIN_USER} dbname={DB_NAME}"],
                            check=False)
            if rewind.returncode == 0:
                how = "rewind"
                # pg_rewind copied the source's configuration: make it this cloud's again.
                self.write_config(cloud, follow=primary)
        if how == "clone":
            self.clone(cloud, primary)
        self.start(cloud)
        return how
