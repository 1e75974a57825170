"""A throw-away single-node SLURM cluster for the SLURM end-to-end test.

Debian's ``munge``, ``slurmctld`` and ``slurmd`` (installed by ``.ci/run``) run as root with
every file under one temporary directory: no cgroups (``proctrack/linuxproc``,
``task/none``), no accounting database, no systemd. :func:`single_node_cluster` starts the
three daemons, waits for the node to be idle, yields the environment a ``snakemake
--executor slurm`` run needs, and stops exactly the daemons it started (by their pid files).

Snakemake's job-step executor removes ``SLURM_*`` variables before its nested ``srun``, so
``SLURM_CONF`` would be lost inside jobs: a small ``srun`` wrapper placed first on ``PATH``
puts it back.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

#: Programs the cluster needs.
REQUIRED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "sinfo")
_SBIN = ("/usr/sbin", "/usr/bin")


def missing_programs() -> list[str]:
    """The required programs that are not installed (empty when the cluster can start)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SBIN])
    return [p for p in REQUIRED if shutil.which(p, path=path) is None]


def _which(name: str) -> str:
    path = os.pathsep.join([*_SBIN, os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        raise FileNotFoundError(name)
    return found


def _memory_mb() -> int:
    """Node memory for slurm.conf: 90% of MemTotal (slurmd refuses a node that claims more)."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) / 1024 * 0.9)
    raise RuntimeError("no MemTotal in /proc/meminfo")


def _slurm_conf(root: Path, host: str) -> str:
    settings = {
        "ClusterName": "tmesigtest",
        "SlurmctldHost": f"{host}(127.0.0.1)",
        "SlurmUser": "root",
        "SlurmdUser": "root",
        "SlurmctldPort": "16817",
        "SlurmdPort": "16818",
        "AuthType": "auth/munge",
        "AuthInfo": f"socket={root}/munge-sock/munge.socket.2",
        "CredType": "cred/munge",
        "StateSaveLocation": f"{root}/spool/ctld",
        "SlurmdSpoolDir": f"{root}/spool/d",
        "SlurmctldPidFile": f"{root}/run/slurmctld.pid",
        "SlurmdPidFile": f"{root}/run/slurmd.pid",
        "SlurmctldLogFile": f"{root}/log/slurmctld.log",
        "SlurmdLogFile": f"{root}/log/slurmd.log",
        "ProctrackType": "proctrack/linuxproc",
        "TaskPlugin": "task/none",
        "JobAcctGatherType": "jobacct_gather/none",
        "AccountingStorageType": "accounting_storage/none",
        "JobCompType": "jobcomp/none",
        "MpiDefault": "none",
        "SwitchType": "switch/none",
        "SchedulerType": "sched/backfill",
        "SelectType": "select/cons_tres",
        "SelectTypeParameters": "CR_Core_Memory",
        "ReturnToService": "2",
        "MinJobAge": "600",
        "KillWait": "5",
        "Waittime": "0",
        "InactiveLimit": "0",
    }
    lines = [f"{k}={v}" for k, v in settings.items()]
    cpus = os.cpu_count() or 1
    lines.append(
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_memory_mb()} State=UNKNOWN"
    )
    lines.append(f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


def _start_munge(root: Path) -> None:
    key_dir, sock = root / "munge", root / "munge-sock"
    key_dir.mkdir()
    sock.mkdir()
    key = key_dir / "munge.key"
    key.write_bytes(os.urandom(1024))
    munge = pwd.getpwnam("munge")
    for p in (key_dir, sock, key):
        os.chown(p, munge.pw_uid, munge.pw_gid)
    key_dir.chmod(0o700)
    key.chmod(0o400)
    sock.chmod(0o755)
    cmd = (
        f"{_which('munged')} --socket={sock}/munge.socket.2 --key-file={key} "
        f"--log-file={key_dir}/munged.log --pid-file={key_dir}/munged.pid "
        f"--seed-file={key_dir}/munged.seed"
    )
    subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", cmd], check=True)


def _wait_idle(env: dict[str, str], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        res = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, check=False
        )
        if res.stdout.strip().startswith("idle"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the test SLURM node did not become idle within {timeout:.0f} s")


def _stop(root: Path) -> None:
    pid_files = [root / "run/slurmd.pid", root / "run/slurmctld.pid", root / "munge/munged.pid"]
    for pid_file in pid_files:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    time.sleep(1)


@contextlib.contextmanager
def single_node_cluster() -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd in a new temporary directory; yield the job environment.

    The directory (configuration, spools, logs, pid files, munge key and socket) is made
    with :func:`tempfile.mkdtemp` directly under the system's temporary directory: the
    ``munge`` user must reach it (pytest's own temporary directories are private to root) and
    a socket path must stay short. It is removed after the daemons stop.

    Yields
    ------
    dict
        ``os.environ`` with ``SLURM_CONF`` set and the ``srun`` wrapper first on ``PATH``.
    """
    root = Path(tempfile.mkdtemp(prefix="tmesig-slurm-"))
    root.chmod(0o755)
    for sub in ("log", "run", "spool/ctld", "spool/d", "bin"):
        (root / sub).mkdir(parents=True)
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, host))
    wrapper = root / "bin" / "srun"
    wrapper.write_text(f'#!/bin/sh\nexport SLURM_CONF={conf}\nexec {_which("srun")} "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": f"{root / 'bin'}:{os.environ['PATH']}"}
    try:
        _start_munge(root)
        subprocess.run([_which("slurmctld"), "-f", str(conf)], env=env, check=True)
        subprocess.run([_which("slurmd"), "-f", str(conf)], env=env, check=True)
        _wait_idle(env)
        yield env
    finally:
        _stop(root)
        shutil.rmtree(root, ignore_errors=True)
