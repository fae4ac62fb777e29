"""A real ACME server for tests: Pebble and pebble-challtestsrv on 127.0.0.1 (apt package C{pebble}).

Pebble validates HTTP-01 by connecting to its C{httpPort} (5002 in its example configuration) of the
name, which challtestsrv's DNS resolves to 127.0.0.1: whatever answers http-01 in a test listens on
127.0.0.1:C{pebble.http_port}. Every port here (directory, management, DNS, http-01) is a free one,
so that two test sessions on one machine never meet.

The package ships no TLS certificate for Pebble's own HTTPS: one is generated here. Both programs
are stopped by PID.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

READY_TIMEOUT = 20.0
PR_SET_PDEATHSIG = 1


@dataclass
class Pebble:
    """A running Pebble: where its directory is, the CA file its HTTPS is signed with, its root."""

    directory: str
    ca_bundle: str
    workdir: Path
    processes: list
    http_port: int          # where Pebble validates http-01: the name's port that must answer
    management_port: int
    dns_port: int
    challtest_port: int = 0  # challtestsrv's management API: change what its DNS answers

    def set_dns(self, command: str, payload: dict) -> None:
        """Ask challtestsrv to change its DNS data, e.g. C{("add-a", {"host": H, "addresses": [IP]})}
        or C{("set-servfail", {"host": H})}."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.challtest_port}/{command}",
                                         data=json.dumps(payload).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def root_pem(self) -> str:
        """The root issuing this run's certificates (regenerated at every Pebble start)."""
        context = ssl.create_default_context(cafile=self.ca_bundle)
        with urllib.request.urlopen(f"https://127.0.0.1:{self.management_port}/roots/0", context=context,
                                    timeout=5) as response:
            return response.read().decode("ascii")

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("*.log")))


def _tls_files(workdir: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = workdir / "pebble-cert.pem", workdir / "pebble-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM if the test process dies without tearing down (SIGKILL,
    pytest-timeout's os._exit), so that no Pebble outlives its session (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(pebble: Pebble) -> None:
    context = ssl.create_default_context(cafile=pebble.ca_bundle)
    deadline = time.monotonic() + READY_TIMEOUT
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        for proc in pebble.processes:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}:\n{pebble.log()}")
        try:
            with urllib.request.urlopen(pebble.directory, context=context, timeout=2) as response:
                json.loads(response.read())
            with socket.create_connection(("127.0.0.1", pebble.dns_port), timeout=2):
                pass
        except OSError as error:  # not listening yet
            last = error
            time.sleep(0.05)
            continue
        return
    raise RuntimeError(f"Pebble did not answer within {READY_TIMEOUT} s ({last}):\n{pebble.log()}")


def start_pebble() -> Pebble:
    """Start challtestsrv and Pebble (real HTTP-01 validation) and wait until both answer."""
    for program in ("pebble", "pebble-challtestsrv"):
        if shutil.which(program) is None:
            raise RuntimeError(f"{program} is not installed (apt-get install pebble; make system-deps)")
    directory, management, dns, challtest, http01, tls = (free_port() for _ in range(6))
    workdir = Path(tempfile.mkdtemp(prefix="fazt-pebble-"))
    cert, key = _tls_files(workdir)
    config = {"pebble": {
        "listenAddress": f"127.0.0.1:{directory}", "managementListenAddress": f"127.0.0.1:{management}",
        "certificate": cert, "privateKey": key, "httpPort": http01, "tlsPort": tls,
        "ocspResponderURL": "", "externalAccountBindingRequired": False}}
    (workdir / "pebble-config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
    env["PEBBLE_VA_NOSLEEP"] = "1"
    processes: list = []
    pebble = Pebble(f"https://127.0.0.1:{directory}/dir", cert, workdir, processes,
                    http_port=http01, management_port=management, dns_port=dns, challtest_port=challtest)
    try:
        for name, command in (
            ("challtestsrv", ["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                              "-dns01", f"127.0.0.1:{dns}", "-http01", "", "-https01", "", "-tlsalpn01", "",
                              "-management", f"127.0.0.1:{challtest}"]),
            ("pebble", ["pebble", "-config", str(workdir / "pebble-config.json"),
                        "-dnsserver", f"127.0.0.1:{dns}", "-strict"]),
        ):
            with open(workdir / f"{name}.log", "wb") as log:
                processes.append(subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                                  stdout=log, stderr=subprocess.STDOUT,
                                                  preexec_fn=_die_with_parent))
        _wait_ready(pebble)
    except BaseException:
        pebble.stop()
        raise
    return pebble


@pytest.fixture(scope="session")
def pebble():
    """A Pebble ACME server for the whole session, stopped (by PID) at its end."""
    server = start_pebble()
    yield server
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)
