"""`make run`'s launcher (scripts/devserver.py) as a supervisor, a terminal and a crash meet it
(#10 item 10), with its third child, the local test Jira Cloud site (#11 item 7).

Each case starts the real launcher on free ports against a temporary SQLite database, as
`make run` does, waits until the site answers, the worker's processes are up and the local
test site answers, notes the launcher's whole process tree, then stops it one way or another.
Whatever stopped it, when it has exited every process it started (runserver and its
autoreloader child, qcluster and its worker processes, the local test site) is gone and both
ports can be bound again.
"""

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from backups.devsite import local_site
from tests.components import sqlite_pass_only
from tests.integration.workers import wait_for

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "scripts" / "devserver.py"
PROC = Path("/proc")
MARKER = "BACKUPSITE_DEVSERVER_TEST"  # inherited by everything the launcher starts
START_SECONDS = 60  # two cores shared with other test runs; it takes ~3 s when idle
EXIT_SECONDS = 30  # the launcher's own bound: 10 s grace, then SIGKILL, 5 s to see them gone

pytestmark = [
    pytest.mark.skipif(
        not PROC.is_dir(), reason="walks /proc for the launcher's process tree: Linux only"
    ),
    sqlite_pass_only,  # the launcher runs on its own SQLite file whatever DATABASE_URL says
]


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    args: str

    def __str__(self) -> str:
        return f"{self.pid} (parent {self.ppid}): {self.args}"


def process_table() -> dict[int, Process]:
    """Every running process (a zombie has exited: it holds no port and runs nothing)."""
    table = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # it exited while we looked
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state not in ("Z", "X"):
            table[int(entry.name)] = Process(int(entry.name), int(ppid), args)
    return table


def descendants(pid: int) -> list[Process]:
    table = process_table()
    found, parents = [], {pid}
    while True:
        children = [p for p in table.values() if p.ppid in parents and p not in found]
        if not children:
            return found
        found += children
        parents = {p.pid for p in children}


def marked(marker: str) -> list[Process]:
    """Running processes that inherited this test's marker: the launcher's, however orphaned."""
    needle = f"{MARKER}={marker}".encode()
    found = []
    for process in process_table().values():
        with contextlib.suppress(OSError):
            if needle in (PROC / str(process.pid) / "environ").read_bytes().split(b"\0"):
                found.append(process)
    return found


def free_port(*not_these: int) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in not_these:
            return port


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def port_bindable(port: int) -> bool:
    """Can a new server listen on the port (as runserver does: SO_REUSEADDR)?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def launcher_env(var_dir: Path, marker: str) -> dict[str, str]:
    # As `make run`: DJANGO_DEBUG=1, the embedded default (SQLite, ORM broker, folders).
    # Nothing of the test run's own configuration leaks in.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BACKUPSITE_", "DATABASE_", "S3_", "Q_", MARKER))
        and k != "REDIS_URL"
    }
    return {**env, "DJANGO_DEBUG": "1", "BACKUPSITE_VAR_DIR": str(var_dir), MARKER: marker}


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """A migrated SQLite database (and folders) for the launchers of this module."""
    path = tmp_path_factory.mktemp("devserver")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=launcher_env(path, "migrate"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return path


class Launcher:
    """One `scripts/devserver.py`, leading its own process group as make does under a shell."""

    def __init__(
        self,
        var_dir: Path,
        log_path: Path,
        *,
        stdout_pipe: bool = False,
        site_port: int | None = None,
    ):
        self.marker = uuid.uuid4().hex
        self.site_port = site_port or free_port()
        self.confluence_port = free_port(self.site_port)
        self.port = free_port(self.site_port, self.confluence_port)
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(LAUNCHER),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--site-port",
                    str(self.site_port),
                    "--confluence-port",
                    str(self.confluence_port),
                ],
                cwd=ROOT,
                env=launcher_env(var_dir, self.marker),
                stdout=subprocess.PIPE if stdout_pipe else log,
                stderr=log,
                start_new_session=True,
            )
        self.tree: list[Process] = []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def explain(self) -> str:
        running = "\n".join(map(str, marked(self.marker))) or "none"
        return f"launcher's log:\n{self.log()}\nits processes still running:\n{running}"

    def named(self, name: str) -> list[Process]:
        return [p for p in self.tree if f"manage.py {name}" in p.args]

    def local_site(self) -> list[Process]:
        return [p for p in self.tree if "-m backups.devsite" in p.args]

    def started(self) -> bool:
        """The site and the local test site answer, runserver's and qcluster's own
        processes are up."""
        if self.proc.poll() is not None:
            raise AssertionError(f"the launcher exited ({self.proc.returncode})\n{self.log()}")
        if not all(map(port_answers, (self.port, self.site_port, self.confluence_port))):
            return False
        self.tree = descendants(self.proc.pid)
        runserver = [p for p in self.named("runserver") if p.ppid == self.proc.pid]
        qcluster = [p for p in self.named("qcluster") if p.ppid == self.proc.pid]
        # runserver's autoreloader child serves; qcluster's sentinel starts its worker
        # processes: three generations.
        reloaded = any(p.ppid in {r.pid for r in runserver} for p in self.named("runserver"))
        sentinels = {p.pid for p in self.named("qcluster") if p.ppid in {q.pid for q in qcluster}}
        workers = [p for p in self.named("qcluster") if p.ppid in sentinels]
        site = [p for p in self.local_site() if p.ppid == self.proc.pid]
        return bool(runserver and reloaded and len(workers) >= 2 and site)

    def wait_started(self) -> None:
        wait_for(self.started, timeout=START_SECONDS, what="the site and its worker", every=0.1)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it has exited: nothing left to signal
            os.killpg(self.proc.pid, signum)

    def wait_exit(self) -> int:
        try:
            return self.proc.wait(timeout=EXIT_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the launcher did not exit\n{self.explain()}") from None

    def assert_all_gone(self) -> None:
        """Right when the launcher has exited: no process of its tree runs, the port is free."""
        running = process_table()
        left = [p for p in self.tree if p.pid in running and running[p.pid].args == p.args]
        assert left == [], self.explain()
        assert marked(self.marker) == [], self.explain()
        for port in (self.port, self.site_port, self.confluence_port):
            assert not port_answers(port)
            assert port_bindable(port), self.explain()

    def kill_everything(self) -> None:
        """After a failed case: leave nothing running for the next one."""
        for process in [*marked(self.marker), *self.tree]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=EXIT_SECONDS)
        if self.proc.stdout:
            self.proc.stdout.close()


@pytest.fixture
def launch(var_dir, tmp_path):
    launchers = []

    def launch(**kwargs) -> Launcher:
        launcher = Launcher(var_dir, tmp_path / f"launcher-{len(launchers)}.log", **kwargs)
        launchers.append(launcher)
        return launcher

    yield launch
    for launcher in launchers:
        launcher.kill_everything()


def test_a_started_site_has_the_web_server_and_the_worker_with_their_own_processes(launch):
    launcher = launch()
    launcher.wait_started()

    assert len(launcher.named("runserver")) == 2  # the autoreloader and the server it runs
    assert len(launcher.named("qcluster")) >= 4  # qcluster, its sentinel, 2 workers, …
    assert len(launcher.local_site()) == 1  # one process, its server in threads
    wait_for(
        lambda: "backupsite is running at http://127.0.0.1:" in launcher.log(),
        timeout=10,
        what="the launcher to say where the site is",
        explain=launcher.log,
    )
    log = launcher.log()
    assert (
        "local test Jira Cloud and Confluence Cloud sites at "
        f"http://127.0.0.1:{launcher.site_port} and "
        f"http://127.0.0.1:{launcher.confluence_port}/wiki (their accounts are above). "
        "Ctrl-C stops all three."
    ) in log
    assert f"site admin: {local_site.ADMIN_EMAIL}  API token: {local_site.ADMIN_TOKEN}" in log
    # It is a Jira Cloud site, and the demo's connected product's account administers it.
    me = site_get(launcher.site_port, "/rest/api/3/myself")
    assert me["displayName"] == local_site.ADMIN_NAME
    # And a Confluence Cloud site, which the same account administers (#12).
    me = site_get(launcher.confluence_port, "/wiki/rest/api/user/current?expand=operations")
    assert me["displayName"] == local_site.ADMIN_NAME
    assert {"operation": "administer", "targetType": "application"} in me["operations"]
    launcher.signal_group(signal.SIGTERM)
    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 0


def site_get(port: int, path: str) -> dict:
    token = f"{local_site.ADMIN_EMAIL}:{local_site.ADMIN_TOKEN}".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Authorization": "Basic " + base64.b64encode(token).decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own
        return json.load(response)


def test_sigterm_to_the_whole_group_again_and_again_while_it_stops(launch):
    # What a supervisor or CI does (`kill -TERM -<pgid>`; make forwards one more): before
    # #10 the second SIGTERM interrupted the stop and left the web server or the worker
    # running with the port taken.
    launcher = launch()
    launcher.wait_started()

    for _ in range(5):
        launcher.signal_group(signal.SIGTERM)
    sent = []

    def exited_under_fire() -> bool:
        # Until it exits, a signal every 10 ms: each arrives during the stop.
        if launcher.proc.poll() is not None:
            return True
        launcher.signal_group((signal.SIGTERM, signal.SIGINT, signal.SIGHUP)[len(sent) % 3])
        sent.append(1)
        return False

    wait_for(exited_under_fire, timeout=EXIT_SECONDS, what="the launcher to exit", every=0.01)
    launcher.assert_all_gone()
    assert launcher.proc.returncode == 0, launcher.log()
    assert len(sent) > 3, "the signals should arrive while it stops"
    assert "SIGTERM: stopping the web server, the worker and the local test site" in (
        launcher.log()
    )


def test_ctrl_c_once(launch):
    launcher = launch()
    launcher.wait_started()

    launcher.signal_group(signal.SIGINT)  # a terminal's Ctrl-C: the foreground group

    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 0
    assert "SIGINT: stopping the web server, the worker and the local test site" in (launcher.log())


@pytest.mark.parametrize(
    "children", [1, 2, 3], ids=["web server started", "worker started", "all three started"]
)
def test_signals_during_start_up(launch, children):
    launcher = launch()
    # As soon as the launcher has started its first child (or two, or all three), before the
    # site answers or the worker's processes are up.
    wait_for(
        lambda: (
            len([p for p in descendants(launcher.proc.pid) if p.ppid == launcher.proc.pid])
            >= children
        ),
        timeout=START_SECONDS,
        what=f"the launcher's {children} child(ren)",
        every=0.01,
    )
    launcher.tree = descendants(launcher.proc.pid)
    assert not port_answers(launcher.port)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGTERM):
        launcher.signal_group(signum)

    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 0


def test_when_the_worker_dies_the_web_server_is_stopped_and_the_launcher_fails(launch):
    launcher = launch()
    launcher.wait_started()
    (worker,) = [p for p in launcher.named("qcluster") if p.ppid == launcher.proc.pid]

    os.kill(worker.pid, signal.SIGKILL)  # a crash: its sentinel and workers are orphaned

    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 128 + signal.SIGKILL
    assert "qcluster exited (-9); stopping." in launcher.log()


def test_the_terminal_gone_a_write_fails_and_the_stop_still_completes(launch):
    # A closed terminal: SIGHUP, and nobody reads the launcher's output any more, so its
    # "stopping" line raises BrokenPipeError inside the launcher. Before #10, SIGHUP killed
    # the launcher outright and left both children running.
    launcher = launch(stdout_pipe=True)
    launcher.wait_started()
    launcher.proc.stdout.close()

    launcher.signal_group(signal.SIGHUP)

    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 0, launcher.log()


def test_when_the_local_test_site_dies_the_others_are_stopped_and_the_launcher_fails(launch):
    launcher = launch()
    launcher.wait_started()
    (site,) = launcher.local_site()

    os.kill(site.pid, signal.SIGKILL)

    status = launcher.wait_exit()
    launcher.assert_all_gone()
    assert status == 128 + signal.SIGKILL
    assert (
        f"backups.devsite --port {launcher.site_port} --confluence-port "
        f"{launcher.confluence_port} exited (-9); stopping."
    ) in launcher.log()


def test_a_taken_local_site_port_is_named_and_nothing_is_left_running(launch):
    # Another `make run` (or anything) on the local test site's port: the launcher says so
    # and stops the web server and the worker it had started.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launcher = launch(site_port=taken.getsockname()[1])
        wait_for(
            lambda: launcher.proc.poll() is not None,
            timeout=START_SECONDS,
            what="the launcher to give up",
            explain=launcher.log,
        )
        launcher.tree = descendants(launcher.proc.pid)  # nothing: it has exited
        assert launcher.proc.returncode == 1
        assert (
            f"The local test site cannot listen on 127.0.0.1:{launcher.site_port}: Address "
            "already in use. Is another `make run` running?"
        ) in launcher.log()
        assert (
            f"backups.devsite --port {launcher.site_port} --confluence-port "
            f"{launcher.confluence_port} exited (1); stopping."
        ) in launcher.log()
        assert marked(launcher.marker) == [], launcher.explain()
        assert not port_answers(launcher.port)
