"""Run the application's stores and processes on this machine, as on AWS.

Used by the tests (tests/app/) and the benchmark (app/dev/bench.py):

- ``make_tls``: a CA and a server certificate for 127.0.0.1 and localhost (openssl).
- ``Redis``: redis-server with TLS only and a password, like ElastiCache with
  transit encryption and an AUTH token; no persistence.
- ``MariaDB``: mariadbd (standing in for RDS MySQL) on a throwaway datadir, with
  ``require_secure_transport``, and a master user like RDS's.
- ``Backend``: ``webstack-backend serve`` as a subprocess.
- ``Nginx``: nginx as an unprivileged process with a given server configuration.

Everything listens on 127.0.0.1, on free ports, and lives in one directory.
Nothing is installed here: scripts/bootstrap.sh installs the Debian packages.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check, what: str, timeout: float = 30.0, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode} while starting:\n{tail}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout} s\n{tail}")


def binary(name: str, *alternatives: str) -> str:
    for candidate in (name, *alternatives):
        found = shutil.which(candidate) or next(
            (str(Path(d) / candidate) for d in ("/usr/sbin", "/usr/bin") if (Path(d) / candidate).exists()), None
        )
        if found:
            return found
    raise FileNotFoundError(f"{name} not found: run scripts/bootstrap.sh (it installs the Debian packages)")


def stop_process(process: subprocess.Popen | None, timeout: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path) -> TLSFiles:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    openssl = binary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=webstack test CA",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    extensions = directory / "server.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "2", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    for path in (ca_key, key):
        path.chmod(0o600)
    return TLSFiles(ca=ca, cert=cert, key=key)


class Redis:
    """redis-server with TLS only and a password, like ElastiCache with transit encryption and AUTH."""

    def __init__(self, directory: Path, tls: TLSFiles, password: str, port: int | None = None) -> None:
        self.directory = directory
        self.tls = tls
        self.password = password
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The URL without the token (the backend gets it through --redis-auth-token)."""
        return f"rediss://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    "port 0",
                    f"tls-port {self.port}",
                    f"tls-cert-file {self.tls.cert}",
                    f"tls-key-file {self.tls.key}",
                    f"tls-ca-cert-file {self.tls.ca}",
                    "tls-auth-clients no",
                    f"requirepass {self.password}",
                    'save ""',
                    "appendonly no",
                    f"dir {self.directory}",
                    f"logfile {self.directory / 'redis.log'}",
                    "daemonize no",
                    "maxclients 4096",
                ]
            )
            + "\n"
        )
        config.chmod(0o600)
        self.process = subprocess.Popen(
            [binary("redis-server"), str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(lambda: port_open(self.port), "redis-server", 15, self.process, self.directory / "redis.log")

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


class MariaDB:
    """mariadbd on a throwaway datadir with require_secure_transport, and a master user as on RDS."""

    def __init__(self, directory: Path, tls: TLSFiles, user: str, password: str, port: int | None = None) -> None:
        self.directory = directory
        self.tls = tls
        self.user = user
        self.password = password
        self.port = port or free_port()
        self.datadir = directory / "data"
        self.socket = directory / "mysqld.sock"
        self.log = directory / "mariadb.log"
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, database: str = "app") -> str:
        return f"mysql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to (CI runs as root).
        return ["--user=root"] if os.geteuid() == 0 else []

    def initialise(self) -> None:
        if self.datadir.exists():
            return
        subprocess.run(
            [binary("mariadb-install-db", "mysql_install_db"), "--no-defaults", f"--datadir={self.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
             *self._user_args()],
            check=True, capture_output=True,
        )  # fmt: skip
        self.start()
        import pymysql

        connection = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        with connection, connection.cursor() as cursor:
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", (self.user, self.password))
            cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (self.user,))

    def start(self) -> None:
        self.process = subprocess.Popen(
            [binary("mariadbd", "mysqld"), "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.directory / 'mariadb.pid'}",
             f"--log-error={self.log}", f"--ssl-ca={self.tls.ca}", f"--ssl-cert={self.tls.cert}",
             f"--ssl-key={self.tls.key}", "--require-secure-transport=ON", "--skip-name-resolve",
             "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
             "--innodb-flush-log-at-trx-commit=2", "--max-connections=500", *self._user_args()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: self.socket.exists() and port_open(self.port), "mariadbd", 60, self.process, self.log)

    def stop(self) -> None:
        stop_process(self.process, 60)
        self.process = None


class Backend:
    """``webstack-backend serve`` as a subprocess; its JSON log goes to a file."""

    def __init__(self, directory: Path, args: list[str], env: dict[str, str] | None = None, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.log = directory / f"backend-{self.port}.log"
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        script = Path(sys.executable).parent / "webstack-backend"
        return [str(script), "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args]

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=self.env)

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as response:  # noqa: S310 - our own URL
                    return response.status == 200
            except (urllib.error.URLError, ConnectionError):
                return False

        wait_for(healthy, "webstack-backend", timeout, self.process, self.log)

    def stop(self) -> int | None:
        stop_process(self.process, 40)
        code = self.process.returncode if self.process else None
        self.process = None
        return code


class Nginx:
    """nginx as an unprivileged process: the given ``server`` blocks in a minimal main configuration."""

    def __init__(self, directory: Path, server_config: str) -> None:
        self.directory = directory
        self.server_config = server_config
        self.process: subprocess.Popen | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def start(self, port: int, workers: int = 1) -> None:
        (self.directory / "server.conf").write_text(self.server_config)
        temp = self.directory / "temp"
        temp.mkdir(exist_ok=True)
        config = self.directory / "nginx.conf"
        config.write_text(
            f"""daemon off;
worker_processes {workers};
pid {self.directory / "nginx.pid"};
error_log {self.directory / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.directory / "server.conf"};
}}
"""
        )
        self.process = subprocess.Popen(
            [binary("nginx"), "-p", str(self.directory), "-c", str(config), "-e", str(self.directory / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(port), "nginx", 15, self.process, self.directory / "error.log")

    def stop(self) -> None:
        # nginx finishes its requests on SIGQUIT; SIGTERM is its fast shutdown.
        stop_process(self.process)
        self.process = None
