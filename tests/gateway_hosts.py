"""Kernel Gateway "hosts" for the remote-judging tests and benchmark: each one a network namespace of its own,
reached from the judge over a veth pair, running ``jupyter kernelgateway`` with the duel sandbox kernelspec,
TLS with a self-signed certificate (pinned by the judge) and a token. Needs root (we are root here and in CI).

Why ``nsenter --net`` rather than ``ip netns exec``: the latter also remounts /sys for the namespace, which hides
the cgroup hierarchy (/sys/fs/cgroup) the sandbox needs; entering the network namespace alone keeps it.

The sandboxes use their own host uid, cgroup parent and runtime directory (``SANDBOX_ARGV``), so leftovers are
theirs only (``leftovers()``), and a host's processes are found through its namespace (``ip netns pids``).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from jupyter_duel_server.sandbox import namespaces
from jupyter_duel_server.sandbox.cgroups import Cgroup, CgroupHierarchy
from jupyter_duel_server.sandbox.errors import SandboxUnavailable

REPO = Path(__file__).resolve().parents[1]
SANDBOX_UID = 61003
CGROUP_PARENT = f"jupyter-duel-gateway-tests-{os.getpid()}"
SANDBOX_ARGV = [f"--SandboxConfig.uid={SANDBOX_UID}", f"--SandboxConfig.gid={SANDBOX_UID}",
                f"--SandboxConfig.cgroup_parent={CGROUP_PARENT}"]
PORT = 8888


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class Lab:
    """What the hosts share: a work directory, the kernelspec + provisioner registration, a certificate naming
    every host address, the token, the sandboxes' runtime directory."""

    def __init__(self, count: int = 2):
        self.dir = Path(tempfile.mkdtemp(prefix="duel-gateway-lab-"))
        self.tag = f"{os.getpid() % 10000}"
        self.subnet = 100 + os.getpid() % 100
        self.token = secrets.token_urlsafe(24)
        self.runtime_dir = self.dir / "runtime"
        self.runtime_dir.mkdir()
        os.chmod(self.dir, 0o711)
        os.chmod(self.runtime_dir, 0o711)
        from jupyter_duel_server.sandbox.kernelspec import install

        self.data = self.dir / "share"
        install(self.data)
        self.site = self.dir / "site"
        dist = self.site / "jupyter_duel_sandbox_test-0.0.dist-info"
        dist.mkdir(parents=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-duel-sandbox-test\nVersion: 0.0\n")
        (dist / "entry_points.txt").write_text(
            "[jupyter_client.kernel_provisioners]\n"
            "duel-sandbox-provisioner = jupyter_duel_server.sandbox.provisioner:DuelSandboxProvisioner\n")
        self.addresses = [self.address(i) for i in range(count)]
        self.cert, self.key = self.dir / "gateway.pem", self.dir / "gateway.key"
        san = ",".join(f"IP:{a}" for a in self.addresses)
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=duel-gateway", "-addext", f"subjectAltName={san}",
            "-keyout", str(self.key), "-out", str(self.cert))
        self.hosts = [GatewayHost(self, i) for i in range(count)]

    def address(self, index: int) -> str:
        return f"10.{self.subnet}.{index + 1}.2"

    def env(self) -> dict:
        return dict(os.environ, JUPYTER_PATH=str(self.data), KG_AUTH_TOKEN=self.token,
                    PYTHONPATH=os.pathsep.join([str(self.site), str(REPO), str(REPO / "server")]))

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def runner_config(self) -> dict:
        """Traits of a GatewayPoolRunner that reaches these hosts."""
        return {"gateways": [h.url for h in self.hosts], "auth_token": self.token, "ca_file": str(self.cert)}

    def leftovers(self) -> dict:
        """What the hosts' sandboxes may leave behind: processes of the sandbox uid, runtime dirs, cgroups."""
        procs = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/status") as f:
                        uid = next(line for line in f if line.startswith("Uid:")).split()[1]
                    if int(uid) == SANDBOX_UID:
                        procs.append(int(pid))
                except (OSError, StopIteration):
                    pass
        try:
            cgroups = CgroupHierarchy.detect("auto", CGROUP_PARENT).leftovers()
        except SandboxUnavailable:
            cgroups = []
        runtime = sorted(os.listdir(self.runtime_dir)) if self.runtime_dir.exists() else []
        return {"processes": procs, "runtime": runtime, "cgroups": cgroups}

    def close(self) -> None:
        """Stop every host, sweep what killed hosts left (cgroups), remove the namespaces and the files."""
        for host in self.hosts:
            host.close()
        # A host killed mid-run leaves its sandboxes' cgroups (their launcher died before removing them).
        try:
            hierarchy = CgroupHierarchy.detect("auto", CGROUP_PARENT)
            dirs = hierarchy.leftovers()
            if dirs:
                Cgroup(hierarchy.version, {str(i) if hierarchy.version == "v1" else "": d
                                           for i, d in enumerate(dirs)}).remove(5.0)
            for base in set(hierarchy.bases.values()):
                try:
                    os.rmdir(base)
                except OSError:
                    pass
        except SandboxUnavailable:
            pass
        for entry in list(self.runtime_dir.iterdir()) if self.runtime_dir.exists() else []:
            namespaces.remove_runtime_dir(str(entry))
        run("rm", "-rf", str(self.dir), check=False)


class Capture:
    """Every frame crossing a network interface (a raw AF_PACKET socket, both directions), as tcpdump would see it:
    ``with Capture(ifname) as cap: ...`` then ``cap.data()``."""

    def __init__(self, ifname: str):
        import socket
        import threading

        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))  # ETH_P_ALL
        self._sock.bind((ifname, 0))
        self._sock.settimeout(0.1)
        self._frames: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self._frames.append(self._sock.recv(1 << 16))
            except OSError:
                continue

    def __enter__(self) -> "Capture":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()

    def data(self) -> bytes:
        return b"".join(self._frames)


class GatewayHost:
    """One gateway host: network namespace ``ns``, veth ``host_if`` (judge side, 10.S.N.1) to ``ns_if``
    (10.S.N.2, the gateway's address)."""

    def __init__(self, lab: Lab, index: int):
        self.lab = lab
        self.index = index
        self.ns = f"duelgw{lab.tag}-{index}"
        self.host_if = f"dg{lab.tag}h{index}"
        self.ns_if = f"dg{lab.tag}n{index}"
        self.address = lab.address(index)
        self.url = f"https://{self.address}:{PORT}"
        self.proc: subprocess.Popen | None = None
        self.log = lab.dir / f"gateway-{index}.log"
        self._made = False

    def start(self) -> None:
        prefix = self.address.rsplit(".", 1)[0]
        run("ip", "netns", "add", self.ns)
        self._made = True
        run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        run("ip", "link", "set", self.ns_if, "netns", self.ns)
        run("ip", "addr", "add", f"{prefix}.1/24", "dev", self.host_if)
        run("ip", "link", "set", self.host_if, "up")
        run("ip", "netns", "exec", self.ns, "ip", "addr", "add", f"{self.address}/24", "dev", self.ns_if)
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.ns_if, "up")
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up")
        self.launch()

    def launch(self) -> None:
        lab = self.lab
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.ns}", sys.executable, "-m", "jupyter", "kernelgateway",
                 f"--KernelGatewayApp.ip={self.address}", f"--KernelGatewayApp.port={PORT}",
                 f"--KernelGatewayApp.certfile={lab.cert}", f"--KernelGatewayApp.keyfile={lab.key}",
                 "--KernelGatewayApp.default_kernel_name=duel-sandbox", "--KernelRestarter.time_to_dead=0.2",
                 f"--SandboxConfig.runtime_dir={lab.runtime_dir}", *SANDBOX_ARGV],
                env=lab.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=str(lab.dir))

    def wait_up(self, timeout: float = 90.0) -> None:
        deadline = time.time() + timeout
        request = urllib.request.Request(self.url + "/api/kernelspecs",
                                         headers={"Authorization": f"token {self.lab.token}"})
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway {self.index} exited: {self.log.read_text()[-3000:]}")
            try:
                specs = json.load(urllib.request.urlopen(request, timeout=2, context=self.lab.ssl_context()))
                assert "duel-sandbox" in specs["kernelspecs"], specs
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gateway {self.index} did not come up: {self.log.read_text()[-3000:]}")

    def pids(self) -> list[int]:
        """Every process of this host (its network namespace): the gateway and the kernels' launchers."""
        out = run("ip", "netns", "pids", self.ns, check=False).stdout.split()
        return [int(p) for p in out if p.isdigit()]

    def kill(self) -> None:
        """The host dies: every one of its processes is killed at once."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def link_down(self) -> None:
        """The host drops off the network (its processes keep running, nothing answers): its end of the link goes
        down, as a cable pulled on its side; the judge's side keeps its route, and what it sends is lost."""
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.ns_if, "down")

    def link_up(self) -> None:
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.ns_if, "up")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the gateway shuts its kernels down (the launchers remove their cgroups)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        if self._made:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                pids = self.pids()
                for pid in pids:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.time() + 5
                while self.pids() and time.time() < deadline:
                    time.sleep(0.05)
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self._made:
            run("ip", "netns", "del", self.ns, check=False)  # its veth end goes with it, and the pair with it
            run("ip", "link", "del", self.host_if, check=False)
            self._made = False
