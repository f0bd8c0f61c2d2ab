"""Web hosts made of network namespaces on this machine, for the fleet test (tests/e2e/test_fleet.py).

One bridge in the root namespace holds the "third address" (where the test's MariaDB, Redis and nginx are), and
each host is a namespace with one veth end on that bridge and its own loopback. Every name and the /24 are this
run's own, and everything is removed in `finally`; only these addresses (and loopback) are ever targets.

A host also needs its own disk: every host's processes see the same path (the deploy root given to `fab`), each
with that host's own folder mounted over it (`NetnsHost.command`), as two machines have the same /srv/miniplex.
"""

import ipaddress
import os
import secrets
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

# Run a command with `$1` mounted over `$2` (a mount namespace of its own: `ip netns exec` makes one per command,
# its mounts seen by that command and its children only).
_MOUNTED = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'


@dataclass(frozen=True)
class NetnsHost:
    name: str
    netns: str
    address: str

    def command(self, argv: Sequence[str], *, disk: tuple[Path, Path] | None = None) -> list[str]:
        """`argv` inside this host's namespace; with `disk=(own, shared)`, its folder `own` is seen at `shared`."""
        inside = ["ip", "netns", "exec", self.netns]
        if disk is None:
            return [*inside, *argv]
        own, shared = disk
        return [*inside, "sh", "-c", _MOUNTED, "sh", str(own), str(shared), *argv]


@dataclass(frozen=True)
class Bridge:
    name: str
    address: str
    network: str
    hosts: tuple[NetnsHost, ...]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _free_network() -> ipaddress.IPv4Network:
    """A /24 under 10.200.0.0/13 that no interface of this machine is on."""
    used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    taken = [network for word in (used + routes).split() if (network := _as_network(word)) is not None]
    for _ in range(100):
        network = ipaddress.IPv4Network(f"10.{200 + secrets.randbelow(8)}.{secrets.randbelow(256)}.0/24")
        if not any(network.overlaps(other) for other in taken):
            return network
    raise RuntimeError("no free /24 under 10.200.0.0/13 for the test's namespaces")


def _as_network(word: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(word, strict=False)
    except ValueError:
        return None


@contextmanager
def bridged_hosts(names: Sequence[str]) -> Iterator[Bridge]:
    """A namespace per name, each on one bridge of the root namespace; all of it removed in finally."""
    tag = f"{os.getpid() % 10000:04d}{secrets.token_hex(1)}"  # interface names have 15 characters at most
    network = _free_network()
    addresses = list(network.hosts())
    bridge = Bridge(
        name=f"mpx{tag}br",
        address=str(addresses[0]),
        network=str(network),
        hosts=tuple(
            NetnsHost(name=name, netns=f"miniplex-{tag}-{name}", address=str(addresses[10 + index]))
            for index, name in enumerate(names)
        ),
    )
    with ExitStack() as cleanup:
        _ip("link", "add", bridge.name, "type", "bridge")
        cleanup.callback(_ip, "link", "del", bridge.name)
        _ip("addr", "add", f"{bridge.address}/{network.prefixlen}", "dev", bridge.name)
        _ip("link", "set", bridge.name, "up")
        for index, host in enumerate(bridge.hosts):
            _ip("netns", "add", host.netns)
            cleanup.callback(_ip, "netns", "del", host.netns)  # takes its veth pair with it
            veth = f"mpx{tag}v{index}"
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
            _ip("link", "set", veth, "master", bridge.name, "up")
            _ip("-n", host.netns, "addr", "add", f"{host.address}/{network.prefixlen}", "dev", "eth0")
            _ip("-n", host.netns, "link", "set", "eth0", "up")
            _ip("-n", host.netns, "link", "set", "lo", "up")
        yield bridge
