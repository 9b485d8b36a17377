"""A throwaway PostgreSQL server on 127.0.0.1 (its own data folder, password authentication),
started and stopped by the tests and the fault benchmark. Needs the server binaries (initdb,
pg_ctl; Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """A throwaway server: its own data folder, password authentication, loopback only.
    initdb refuses to run as root, so as root it runs as the 'postgres' (or 'nobody') user."""

    def __init__(self, root: Path) -> None:
        self.initdb, self.pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
        self.data, self.log = root / "data", root / "server.log"
        self.port, self.password = _free_port(), secrets.token_hex(12)
        self.user = None
        if os.geteuid() == 0:
            import pwd

            self.user = next(u for u in ("postgres", "nobody") if _has_user(u))
            pw = pwd.getpwnam(self.user)
            root.chmod(0o777)
            os.chown(root, pw.pw_uid, pw.pw_gid)
        pwfile = root / "pw"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o644)
        self._run([self.initdb, "-D", str(self.data), "-U", "sweeper", "--auth=scram-sha-256",
                   f"--pwfile={pwfile}", "-E", "UTF8"])
        self.start()
        self._run([pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(self.port),
                   "-U", "sweeper", "sweeper"], env={"PGPASSWORD": self.password})

    def _run(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, cwd="/",
                              env={**os.environ, **(env or {})})
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, argv, done.stdout,
                                                done.stderr[-2000:])

    def start(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-o",
                   f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''",
                   "start"])

    def stop(self) -> None:
        self._run([self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def url(self, password: str | None = None) -> str:
        return (f"postgresql://sweeper:{self.password if password is None else password}"
                f"@127.0.0.1:{self.port}/sweeper")


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
