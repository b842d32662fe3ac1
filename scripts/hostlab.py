#!/usr/bin/env python3
"""Booted Debian 12 test hosts: systemd-nspawn containers on a local bridge.

    scripts/hostlab.py build [--force]        build the cached root file system (no-op when cached)
    scripts/hostlab.py up NAME... [--alias N=HOST]   boot hosts, print {"NAME": "ADDRESS", ...} as JSON
    scripts/hostlab.py down NAME...           power hosts off and remove everything they left
    scripts/hostlab.py cleanup                down every host, then the bridge (what a crashed run left)
    scripts/hostlab.py status                 the hosts that run, their addresses
    scripts/hostlab.py ssh NAME [COMMAND...]  a shell or a command on a host, as root
    scripts/hostlab.py env                    print HOSTLAB_* exports (bridge address, SSH key)

The root file system is built once with debootstrap (Debian 12, the AMI's
system) with every package the host roles and the data host need already
installed, because the hosts have no route out of this machine: they
cannot reach a mirror. It is kept in HOSTLAB_CACHE (default .cache/hostlab/,
git-ignored) as a directory named after a hash of its recipe, used read-only
as the lower layer of one overlay mount per host, and as a tarball
(rootfs-<hash>.tar.zst) that a CI cache can restore instead of rebuilding.

Each host is a systemd-nspawn container booting systemd, in a network
namespace of its own (hl-NAME) with one veth on the bridge hl0
(10.231.0.1/24, the controller's address); there is no default route, and
no resolver: every name a host resolves is in its /etc/hosts and points at a
lab host or the controller. The controller reaches the hosts by SSH as root
with the key in the cache directory. Runtime state is in HOSTLAB_STATE
(default /var/lib/hostlab/): a host's overlay, pid and address. `up` of a
name that exists first removes what is left of it, and `cleanup` removes
every host, so a crashed run leaves nothing the next one trips on.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("hostlab")

SUITE = "bookworm"
# Everything a host may need, installed at build time: the hosts cannot reach a mirror.
# The base (systemd as PID 1, SSH, Python for Ansible), then what the roles install
# (common: chrony, unattended-upgrades; frontend: nginx; backend: python3-venv), then
# what the data host of the stack scenario runs (Redis and MariaDB standing in for
# ElastiCache and RDS) and openssl for its certificates. python3-boto3 is what the
# compute layer's user data fetches the bundle with (it installs the packages an
# image lacks; with no mirror here, the root file system is the pre-built image).
PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "iproute2",
    "openssh-server",
    "sudo",
    "ca-certificates",
    "curl",
    "chrony",
    "unattended-upgrades",
    "nginx",
    "python3-venv",
    "python3-boto3",
    "redis-server",
    "mariadb-server",
    "openssl",
]
# Services the packages enable; each role (or scenario) enables what its host runs.
DISABLED_UNITS = [
    "nginx.service",
    "redis-server.service",
    "mariadb.service",
    "chrony.service",
    "unattended-upgrades.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "fstrim.timer",
    "systemd-networkd-wait-online.service",
]
# Bump to rebuild every cached root file system when the recipe below changes.
RECIPE_VERSION = "1"

BRIDGE = "hl0"
NETWORK = ipaddress.ip_network("10.231.0.0/24")
CONTROLLER = str(NETWORK[1])
FIRST_HOST = 10


def cache_dir() -> Path:
    return Path(os.environ.get("HOSTLAB_CACHE", ROOT / ".cache" / "hostlab")).resolve()


def state_dir() -> Path:
    return Path(os.environ.get("HOSTLAB_STATE", "/var/lib/hostlab")).resolve()


def mirror() -> str:
    return os.environ.get("HOSTLAB_MIRROR", "http://deb.debian.org/debian")


def recipe_key() -> str:
    recipe = json.dumps([RECIPE_VERSION, SUITE, PACKAGES, DISABLED_UNITS])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def rootfs_dir() -> Path:
    return cache_dir() / f"rootfs-{recipe_key()}"


def tarball() -> Path:
    return cache_dir() / f"rootfs-{recipe_key()}.tar.zst"


def ssh_key() -> Path:
    return cache_dir() / "id_ed25519"


def run(*command: str, check: bool = True, quiet: bool = False, **kwargs) -> subprocess.CompletedProcess:
    LOG.debug("run %s", " ".join(command))
    output = subprocess.DEVNULL if quiet else None
    return subprocess.run(command, check=check, stdout=kwargs.pop("stdout", output), stderr=output, **kwargs)


@contextlib.contextmanager
def locked() -> Iterator[None]:
    state_dir().mkdir(parents=True, exist_ok=True)
    with open(state_dir() / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- the cached root file system -------------------------------------------------


def build(force: bool = False) -> Path:
    """Build (or unpack from its tarball) the root file system of the current recipe."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    if not ssh_key().exists():
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "hostlab", "-f", str(ssh_key()))
    target = rootfs_dir()
    if target.exists() and not force:
        return target
    started = time.monotonic()
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # what a crashed build left
    if tarball().exists() and not force:
        partial.mkdir()
        run("tar", "-I", "zstd -d -T0", "-xpf", str(tarball()), "-C", str(partial))
        partial.rename(target)
        LOG.info("unpacked %s in %.1f s", tarball().name, time.monotonic() - started)
        return target
    LOG.info("building %s with debootstrap from %s (once per recipe)", target.name, mirror())
    run(
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(partial),
        mirror(),
        stdout=subprocess.DEVNULL,
    )
    configure_rootfs(partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    built = time.monotonic() - started
    if shutil.which("zstd"):
        tarball().unlink(missing_ok=True)
        run("tar", "-I", "zstd -T0 -3", "-cpf", str(tarball()), "-C", str(target), ".")
    for old in cache_dir().glob("rootfs-*"):
        if not old.name.startswith(target.name):
            LOG.info("removing the outdated %s", old.name)
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    LOG.info("built %s in %.1f s (tarball: %.1f s more)", target.name, built, time.monotonic() - started - built)
    return target


def configure_rootfs(root: Path) -> None:
    """What every host shares: no services but SSH, the controller's key, no resolver, no apt lists."""
    run("chroot", str(root), "systemctl", "disable", *DISABLED_UNITS, check=False, quiet=True)
    run("chroot", str(root), "systemctl", "mask", "systemd-resolved.service", check=False, quiet=True)
    ssh_dir = root / "root" / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(ssh_key().with_suffix(".pub").read_text())
    (ssh_dir / "authorized_keys").chmod(0o600)
    # No resolver: names come from /etc/hosts (written per host at boot); anything else
    # fails at once on the host's own loopback instead of leaving this machine.
    (root / "etc" / "resolv.conf").unlink(missing_ok=True)
    (root / "etc" / "resolv.conf").write_text(
        "# hostlab: no resolver; every name is in /etc/hosts\nnameserver 127.0.0.1\n"
    )
    (root / "etc" / "machine-id").write_text("")
    # The apt lists would be stale; a role that only installs what is missing never reads them.
    for lists in (root / "var" / "lib" / "apt" / "lists").glob("*_*"):
        lists.unlink()
    for archive in (root / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        archive.unlink()


# --- hosts --------------------------------------------------------------------------


def host_dir(name: str) -> Path:
    return state_dir() / "hosts" / name


def known_hosts() -> list[str]:
    hosts = state_dir() / "hosts"
    return sorted(path.name for path in hosts.iterdir()) if hosts.is_dir() else []


def host_address(name: str) -> str | None:
    path = host_dir(name) / "address"
    return path.read_text().strip() if path.exists() else None


def netns(name: str) -> str:
    return f"hl-{name}"


def veth(address: str) -> str:
    return f"hlv{address.rsplit('.', 1)[1]}"


def ensure_bridge() -> None:
    if run("ip", "link", "show", BRIDGE, check=False, quiet=True).returncode != 0:
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{CONTROLLER}/{NETWORK.prefixlen}", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")


def ensure_bridge_address(address: str) -> None:
    """One more address of this machine on the bridge (a /32: a load balancer's, the metadata service's)."""
    shown = run("ip", "-o", "addr", "show", "dev", BRIDGE, stdout=subprocess.PIPE, text=True)
    if f" {address}/32 " not in shown.stdout:
        run("ip", "addr", "add", f"{address}/32", "dev", BRIDGE)


def free_address() -> str:
    taken = {host_address(name) for name in known_hosts()}
    for host in list(NETWORK.hosts())[FIRST_HOST - 1 :]:
        if str(host) not in taken:
            return str(host)
    raise SystemExit(f"hostlab: no free address left in {NETWORK}")


def mounted(path: Path) -> bool:
    return run("mountpoint", "-q", str(path), check=False, quiet=True).returncode == 0


def remove_host(name: str) -> None:
    """Power the host off (SIGTERM to nspawn), then remove its mount, namespace, veth and files."""
    directory = host_dir(name)
    pid_file = directory / "nspawn.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
                time.sleep(0.1)
            if Path(f"/proc/{pid}").exists():
                LOG.warning("%s did not power off in 15 s: killing it", name)
                os.killpg(pid, signal.SIGKILL)
                time.sleep(0.5)
    root = directory / "root"
    kill_leftovers(name)
    if mounted(root) and run("umount", str(root), check=False, quiet=True).returncode != 0:
        run("umount", "-l", str(root), check=False, quiet=True)
    address = host_address(name)
    if address:
        run("ip", "link", "del", veth(address), check=False, quiet=True)
    run("ip", "netns", "del", netns(name), check=False, quiet=True)
    shutil.rmtree(directory, ignore_errors=True)


def process_identity(pid: int) -> str | None:
    """pid and start time: a pid the kernel gave to another process since does not match."""
    with contextlib.suppress(OSError):
        return f"{pid} {Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[19]}"
    return None


def record_leader(name: str) -> None:
    """Remember the container's PID 1 (nspawn's child): killing it ends every process of the host."""
    nspawn = int((host_dir(name) / "nspawn.pid").read_text())
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{nspawn}/task").iterdir():
            for child in (task / "children").read_text().split():
                identity = process_identity(int(child))
                if identity:
                    (host_dir(name) / "leader").write_text(identity + "\n")
                    return


def kill_leftovers(name: str) -> None:
    """Kill the container if it outlived its nspawn (nspawn killed by SIGKILL, a crashed run)."""
    leader = host_dir(name) / "leader"
    if not leader.exists():
        return
    identity = leader.read_text().strip()
    pid = int(identity.split()[0])
    if process_identity(pid) == identity:
        LOG.warning("%s outlived its systemd-nspawn: killing it", name)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while process_identity(pid) == identity and time.monotonic() < deadline:
            time.sleep(0.1)


def hosts_file(name: str, addresses: dict[str, str], aliases: dict[str, str]) -> str:
    lines = ["127.0.0.1 localhost", f"127.0.1.1 {name}", "::1 localhost ip6-localhost ip6-loopback"]
    lines.append(f"{CONTROLLER} controller.hostlab")
    lines += [f"{address} {host}" for host, address in sorted(addresses.items()) if host != name]
    for alias, target in sorted(aliases.items()):
        address = addresses.get(target) or host_address(target) or (CONTROLLER if target == "controller" else target)
        lines.append(f"{address} {alias}")
    return "\n".join(lines) + "\n"


def start_host(name: str, lower: Path, address: str, etc_hosts: str) -> None:
    directory = host_dir(name)
    for sub in ("upper", "work", "root"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    (directory / "address").write_text(address + "\n")
    run(
        "mount",
        "-t",
        "overlay",
        "overlay",
        "-o",
        f"lowerdir={lower},upperdir={directory / 'upper'},workdir={directory / 'work'}",
        str(directory / "root"),
    )
    root = directory / "root"
    (root / "etc" / "hostname").write_text(name + "\n")
    (root / "etc" / "hosts").write_text(etc_hosts)
    namespace = netns(name)
    run("ip", "netns", "add", namespace)
    run("ip", "link", "add", veth(address), "type", "veth", "peer", "name", "host0", "netns", namespace)
    run("ip", "link", "set", veth(address), "master", BRIDGE, "up")
    run("ip", "-n", namespace, "addr", "add", f"{address}/{NETWORK.prefixlen}", "dev", "host0")
    run("ip", "-n", namespace, "link", "set", "host0", "up")
    run("ip", "-n", namespace, "link", "set", "lo", "up")
    log = open(directory / "console.log", "w")  # noqa: SIM115 - the container keeps it
    process = subprocess.Popen(
        [
            "systemd-nspawn",
            "--quiet",
            "--register=no",
            "--keep-unit",
            "--boot",
            "-D",
            str(root),
            "-M",
            name,
            f"--network-namespace-path=/run/netns/{namespace}",
            "--resolv-conf=off",
            "--timezone=off",
            "--link-journal=no",
            "--console=read-only",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (directory / "nspawn.pid").write_text(f"{process.pid}\n")


def ssh_command(address: str, *command: str) -> list[str]:
    return [
        "ssh",
        "-q",
        "-i",
        str(ssh_key()),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=2",
        f"root@{address}",
        *command,
    ]


def wait_booted(name: str, address: str, timeout: float = 90) -> None:
    """Wait for SSH, then for systemd to finish booting (running or degraded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = int((host_dir(name) / "nspawn.pid").read_text())
        if not Path(f"/proc/{pid}").exists():
            console = (host_dir(name) / "console.log").read_text()[-2000:]
            raise SystemExit(f"hostlab: {name} stopped while booting:\n{console}")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex((address, 22)) == 0:
                state = subprocess.run(
                    ssh_command(address, "systemctl", "is-system-running", "--wait"),
                    capture_output=True,
                    text=True,
                    timeout=max(1.0, deadline - time.monotonic()),
                    check=False,
                ).stdout.strip()
                if state in ("running", "degraded"):
                    record_leader(name)
                    return
        time.sleep(0.2)
    raise SystemExit(f"hostlab: {name} ({address}) did not finish booting in {timeout:.0f} s")


def up(names: list[str], aliases: dict[str, str]) -> dict[str, str]:
    started = time.monotonic()
    lower = build()
    with locked():
        ensure_bridge()
        addresses = {}
        for name in names:
            remove_host(name)  # what an earlier run left under this name
            addresses[name] = free_address()
            (host_dir(name)).mkdir(parents=True)
            (host_dir(name) / "address").write_text(addresses[name] + "\n")
        for name in names:
            start_host(name, lower, addresses[name], hosts_file(name, addresses, aliases))
    for name in names:
        wait_booted(name, addresses[name])
    LOG.info("booted %s in %.1f s", ", ".join(names), time.monotonic() - started)
    return addresses


def down(names: list[str]) -> None:
    with locked():
        for name in names:
            remove_host(name)


def cleanup() -> None:
    with locked():
        for name in known_hosts():
            remove_host(name)
        # Namespaces and veths whose state directory is already gone.
        for namespace in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n"):
            if namespace.startswith("hl-"):
                run("ip", "netns", "del", namespace.split()[0], check=False, quiet=True)
        run("ip", "link", "del", BRIDGE, check=False, quiet=True)


def status() -> dict[str, dict[str, object]]:
    hosts = {}
    for name in known_hosts():
        pid_file = host_dir(name) / "nspawn.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        hosts[name] = {"address": host_address(name), "running": bool(pid and Path(f"/proc/{pid}").exists())}
    return hosts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build the cached root file system")
    build_parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    up_parser = commands.add_parser("up", help="boot hosts (again, when they exist)")
    up_parser.add_argument("names", nargs="+")
    up_parser.add_argument(
        "--alias",
        action="append",
        default=[],
        metavar="NAME=HOST",
        help="a name every host resolves to HOST's address (a lab host, 'controller', or an address)",
    )
    down_parser = commands.add_parser("down", help="power hosts off and remove them")
    down_parser.add_argument("names", nargs="+")
    commands.add_parser("cleanup", help="remove every host and the bridge")
    commands.add_parser("status", help="the hosts and their addresses, as JSON")
    ssh_parser = commands.add_parser("ssh", help="run a command on a host")
    ssh_parser.add_argument("name")
    ssh_parser.add_argument("remote", nargs=argparse.REMAINDER)
    commands.add_parser("env", help="print HOSTLAB_* shell exports")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="hostlab: %(message)s")
    if os.geteuid() != 0 and args.command not in ("status", "env"):
        parser.error("needs root (mounts, network namespaces, systemd-nspawn)")
    if args.command == "build":
        print(build(force=args.force))
    elif args.command == "up":
        aliases = dict(alias.split("=", 1) for alias in args.alias)
        print(json.dumps(up(args.names, aliases)))
    elif args.command == "down":
        down(args.names)
    elif args.command == "cleanup":
        cleanup()
    elif args.command == "status":
        print(json.dumps(status(), indent=2))
    elif args.command == "ssh":
        address = host_address(args.name)
        if not address:
            raise SystemExit(f"hostlab: no host named {args.name}")
        return subprocess.run(ssh_command(address, *args.remote), check=False).returncode
    elif args.command == "env":
        print(f"export HOSTLAB_CONTROLLER={CONTROLLER}")
        print(f"export HOSTLAB_SSH_KEY={ssh_key()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
