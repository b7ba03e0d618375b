"""A local Neo4j without Docker: build, start, watch and stop GraphFlow's Java launcher.

The launcher (``docker/neo4j-launcher/``) embeds Neo4j Community 5.26 LTS from Maven Central
and serves Bolt on 127.0.0.1 with authentication disabled. ``graphflow neo4j start`` runs it in
the background and records it in a state file, ``<graphflow home>/neo4j.json`` (the graphflow
home is ``GRAPHFLOW_HOME``, else ``~/.graphflow``); every command that talks to Neo4j falls
back to that server when neither ``--neo4j`` nor ``NEO4J_URI`` is given.

Tests and benchmarks use :func:`running_server`, which starts a throw-away server on a free
port and stops it on exit (and, should the parent die, the server stops with it: it watches
its stdin).

Examples
--------
>>> state_file({"GRAPHFLOW_HOME": "/tmp/gf"})
PosixPath('/tmp/gf/neo4j.json')
>>> launcher_command(Path("l.jar"), Path("/d"), 7688)[:2]
['java', '-Xmx1g']
>>> ServerState.from_dict(ServerState(1, "bolt://127.0.0.1:7687", 7687, "/d", "/d/l").to_dict()).uri
'bolt://127.0.0.1:7687'
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from graphflow.errors import StoreUnavailable

__all__ = [
    "JAVA_OPENS",
    "READY_LINE",
    "ServerState",
    "ServerStatus",
    "build_launcher",
    "free_port",
    "graphflow_home",
    "launcher_command",
    "launcher_dir",
    "read_state",
    "running_server",
    "server_status",
    "start_server",
    "state_file",
    "stop_server",
    "wait_for_bolt",
]

logger = logging.getLogger(__name__)

#: The module opens Neo4j 5 needs on Java 17 (off-heap page cache, native IO).
JAVA_OPENS: tuple[str, ...] = (
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)
#: What the launcher prints once the database is available.
READY_LINE = "graphflow-neo4j ready "
JAR_NAME = "graphflow-neo4j-launcher.jar"
DEFAULT_PORT = 7687
DEFAULT_PAGE_CACHE = "512m"
DEFAULT_HEAP = "1g"


def graphflow_home(env: Mapping[str, str] | None = None) -> Path:
    """``GRAPHFLOW_HOME``, else ``~/.graphflow``: where the managed server and its state live."""
    env = os.environ if env is None else env
    if env.get("GRAPHFLOW_HOME"):
        return Path(env["GRAPHFLOW_HOME"])
    return Path.home() / ".graphflow"


def state_file(env: Mapping[str, str] | None = None) -> Path:
    """The state file written by ``graphflow neo4j start``."""
    return graphflow_home(env) / "neo4j.json"


def launcher_dir(env: Mapping[str, str] | None = None) -> Path:
    """The launcher's Maven project: ``GRAPHFLOW_NEO4J_LAUNCHER``, else ``docker/`` in the repo."""
    env = os.environ if env is None else env
    if env.get("GRAPHFLOW_NEO4J_LAUNCHER"):
        return Path(env["GRAPHFLOW_NEO4J_LAUNCHER"])
    return Path(__file__).resolve().parents[1] / "docker" / "neo4j-launcher"


def _newest_source(project: Path) -> float:
    paths = [project / "pom.xml", *(project / "src").rglob("*.java")]
    return max(p.stat().st_mtime for p in paths if p.exists())


def build_launcher(project: Path | None = None) -> Path:
    """Build the launcher jar once (``mvn -q -B -o package``, online only if that fails).

    Returns the jar. Nothing is run when the jar is newer than the sources.
    """
    project = project or launcher_dir()
    jar = project / "target" / JAR_NAME
    if not (project / "pom.xml").exists():
        raise StoreUnavailable(
            f"{project}: the Neo4j launcher's sources are not there (set "
            "GRAPHFLOW_NEO4J_LAUNCHER to the docker/neo4j-launcher directory of a GraphFlow "
            "checkout)")
    if jar.exists() and (project / "target" / "lib").is_dir() and (
            jar.stat().st_mtime >= _newest_source(project)):
        return jar
    mvn = shutil.which("mvn")
    if mvn is None or shutil.which("java") is None:
        raise StoreUnavailable("building the Neo4j launcher needs Java 17 and Maven "
                               "(apt-get install openjdk-17-jdk-headless maven)")
    errors = ""
    for offline in (True, False):
        cmd = [mvn, "-q", "-B", "-Dstyle.color=never", *(["-o"] if offline else []), "package"]
        logger.info("building the Neo4j launcher: %s", " ".join(cmd))
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, check=False)
        if proc.returncode == 0 and jar.exists():
            return jar
        errors = (proc.stdout + proc.stderr)[-2000:]
    raise StoreUnavailable(f"could not build the Neo4j launcher in {project}:\n{errors}")


def launcher_command(jar: Path, data_dir: Path, port: int, *, host: str = "127.0.0.1",
                     page_cache: str = DEFAULT_PAGE_CACHE, heap: str = DEFAULT_HEAP,
                     stop_on_stdin_eof: bool = False,
                     settings: Mapping[str, str] | None = None) -> list[str]:
    """The ``java`` command line that runs the launcher."""
    cmd = ["java", f"-Xmx{heap}", *JAVA_OPENS, "-jar", str(jar), "-data", str(data_dir),
           "-host", host, "-port", str(port), "-pagecache", page_cache]
    if stop_on_stdin_eof:
        cmd.append("-stop-on-stdin-eof")
    for key, value in (settings or {}).items():
        cmd += ["-set", f"{key}={value}"]
    return cmd


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def _log_tail(log: Path, n: int = 20) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def wait_for_bolt(log: Path, host: str, port: int, proc: subprocess.Popen[Any] | None,
                  timeout: float) -> None:
    """Wait until the launcher printed its ready line in ``log`` and Bolt accepts connections.

    Raises :class:`StoreUnavailable` with the end of the log when the server dies or times out.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreUnavailable(f"the Neo4j launcher exited with status {proc.returncode}:\n"
                                   f"{_log_tail(log)}")
        try:
            ready = READY_LINE in log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            ready = False
        if ready and _port_open(host, port):
            return
        time.sleep(0.2)
    raise StoreUnavailable(f"Neo4j did not become ready on {host}:{port} within {timeout:.0f} s "
                           f"(log {log}):\n{_log_tail(log)}")


@dataclass(frozen=True)
class ServerState:
    """What ``graphflow neo4j start`` remembers about the server it started."""

    pid: int
    uri: str
    port: int
    data_dir: str
    log_file: str
    started_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ServerState:
        return cls(pid=int(d["pid"]), uri=str(d["uri"]), port=int(d["port"]),
                   data_dir=str(d["data_dir"]), log_file=str(d["log_file"]),
                   started_at=float(d.get("started_at", 0.0)))


@dataclass(frozen=True)
class ServerStatus:
    """The managed server as seen now: its state (if any), whether it runs and answers."""

    state: ServerState | None
    running: bool
    reachable: bool

    def to_dict(self) -> dict[str, Any]:
        return {"running": self.running, "reachable": self.reachable,
                **(self.state.to_dict() if self.state else {})}


def read_state(path: Path | None = None) -> ServerState | None:
    """The recorded server, or None when there is no (readable) state file."""
    path = path or state_file()
    try:
        return ServerState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_state(path: Path, state: ServerState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _is_launcher(pid: int) -> bool:
    """Whether ``pid`` is alive (not a zombie) and is our launcher (not a recycled pid)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it was our child and has exited
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X"):
        return False
    return JAR_NAME in cmdline


def server_status(path: Path | None = None) -> ServerStatus:
    """Whether the server recorded in the state file runs and accepts Bolt connections."""
    state = read_state(path)
    if state is None:
        return ServerStatus(None, False, False)
    running = _is_launcher(state.pid)
    reachable = running and _port_open("127.0.0.1", state.port)
    return ServerStatus(state, running, reachable)


def start_server(*, port: int = DEFAULT_PORT, data_dir: Path | None = None,
                 page_cache: str = DEFAULT_PAGE_CACHE, heap: str = DEFAULT_HEAP,
                 timeout: float = 180.0, path: Path | None = None) -> tuple[ServerState, bool]:
    """Start the launcher in the background and wait for Bolt; record it in the state file.

    ``port=0`` picks a free port. Returns ``(state, started)``; ``started`` is False when the
    recorded server was already running (it is then left as it is).
    """
    path = path or state_file()
    status = server_status(path)
    if status.running and status.state is not None:
        return status.state, False
    data_dir = (data_dir or graphflow_home() / "neo4j").absolute()
    port = port or free_port()
    if _port_open("127.0.0.1", port):
        raise StoreUnavailable(f"port {port} on 127.0.0.1 is already in use (another Neo4j?); "
                               "choose another with --port")
    jar = build_launcher()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "launcher.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            launcher_command(jar, data_dir, port, page_cache=page_cache, heap=heap),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=data_dir,
            start_new_session=True)  # survives the CLI process; SIGTERM stops it cleanly
    try:
        wait_for_bolt(log, "127.0.0.1", port, proc, timeout)
    except StoreUnavailable:
        _terminate(proc.pid, 30.0)
        raise
    state = ServerState(pid=proc.pid, uri=f"bolt://127.0.0.1:{port}", port=port,
                        data_dir=str(data_dir), log_file=str(log), started_at=time.time())
    _write_state(path, state)
    return state, True


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout`` s for a clean shutdown, then SIGKILL. True if clean."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_launcher(pid):
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    return False


def stop_server(path: Path | None = None, timeout: float = 60.0) -> ServerState | None:
    """Stop the recorded server (SIGTERM, clean shutdown) and remove the state file.

    Returns the state of the server that was stopped, or None when none was running.
    """
    path = path or state_file()
    status = server_status(path)
    if status.state is not None and status.running:
        _terminate(status.state.pid, timeout)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return status.state if status.running else None


@contextlib.contextmanager
def running_server(data_dir: Path, *, port: int | None = None,
                   page_cache: str = DEFAULT_PAGE_CACHE, heap: str = DEFAULT_HEAP,
                   timeout: float = 180.0) -> Iterator[str]:
    """A throw-away server for tests and benchmarks: yields its Bolt URI, stops it on exit.

    The server stops by itself when this process dies (it watches its stdin, our pipe).
    """
    jar = build_launcher()
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "launcher.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            launcher_command(jar, data_dir, port, page_cache=page_cache, heap=heap,
                             stop_on_stdin_eof=True),
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, cwd=data_dir)
    try:
        wait_for_bolt(log, "127.0.0.1", port, proc, timeout)
        yield f"bolt://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()
