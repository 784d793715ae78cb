"""Child-process plumbing shared by the PostgreSQL cluster and the tracking server: ports, process groups, logs."""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A port nothing listens on right now (the OS picks it; another process could still take it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """True when something already listens on ``host:port``; a port in TIME_WAIT counts as free, as for uvicorn."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group ``process`` leads (it was started with ``start_new_session``)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def stop_group(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the group, wait, SIGKILL what is left (uvicorn workers can outlive their parent by a moment)."""
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait(5)
    signal_group(process, signal.SIGKILL)


def venv_bin() -> Path:
    """The running interpreter's ``bin`` folder (not resolved: inside a virtual environment that is ``.venv/bin``)."""
    return Path(sys.executable).parent


def last_error(log_path: Path, lines: int = 200) -> str:
    """The last line of a log that reads like an error (the end of a traceback), else its last line."""
    try:
        text = log_path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    kept = [line.strip() for line in text if line.strip()]
    errors = [line for line in kept if re.match(r"^[\w.]*(Error|Exception)\b.*:", line) or "ERROR" in line or "FATAL" in line]
    return (errors or kept or ["(no output)"])[-1]
