"""A reference Apache Kafka broker for the compat tests: fetched by Maven, started here.

The jars come from Maven Central through ``pom.xml`` beside this file (the only place that
names the Kafka version) into ``.cache/kafka-reference/VERSION/libs`` at the repository's
root (ignored by git). A broker is one KRaft node that is broker and controller at once, on
127.0.0.1 with free ports, its data and its log in a temp dir that is deleted when it stops.
The configuration is Kafka's defaults except what a single-node test broker needs: internal
topics with one replica, and kafkalite's 60 ms initial rebalance delay.

Besides PLAINTEXT it has the listeners of the security compat tests (compat_tests/security.py):
SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-512 and OAUTHBEARER (Kafka's unsecured JWT
validator) for the users in `SASL_USERS`, and SSL asking for a client certificate, with
certificates from ``kafkalite certs`` (PEM files; without the ``cryptography`` package there
are no TLS listeners, and the tests that need them skip). ``run`` passes their addresses to
the command as KAFKALITE_TEST_SSL, KAFKALITE_TEST_SASL_PLAINTEXT, KAFKALITE_TEST_SASL_SSL and
the certificates' folder as KAFKALITE_TEST_CERTS.

As a module (standard library only)::

    with reference_kafka() as bootstrap:    # "127.0.0.1:PORT", once it answers ApiVersions
        ...

As a command::

    python compat_tests/reference/kafka_reference.py run -- pytest compat_tests
        starts Kafka, runs the command with KAFKALITE_TEST_BOOTSTRAP set to it (and
        KAFKALITE_TEST_BROKER=kafka-VERSION), stops Kafka and exits with the command's status
    python compat_tests/reference/kafka_reference.py serve     # until Ctrl-C
    python compat_tests/reference/kafka_reference.py fetch     # only download the jars

Environment: ``KAFKA_REFERENCE_CACHE`` (another cache folder), ``JAVA`` (the java binary;
else ``$JAVA_HOME/bin/java``, else ``java``), ``MVN`` (the Maven binary), and
``KAFKA_REFERENCE_KEEP=1`` to keep the temp dir (data, server.properties, server.log).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator, Sequence

HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
ROOT = HERE.parent.parent
START_TIMEOUT = 120.0  # a cold JVM on a busy 2-core machine can take a while
STOP_TIMEOUT = 30.0

API_VERSIONS = 18

#: The SASL users of the security compat tests (compat_tests/security.py has the same).
SASL_USERS = {"alice": "alice-secret", "admin": "admin-secret"}
SECURE_LISTENERS = ("SSL", "SASL_PLAINTEXT", "SASL_SSL")


class ReferenceKafkaError(RuntimeError):
    """The reference broker could not be fetched or started."""


class _PortTaken(Exception):
    """Kafka could not bind a port that was free a moment before."""


def kafka_version() -> str:
    """The Kafka version pinned in pom.xml."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.parse(POM).getroot().find("m:properties/m:kafka.version", ns)
    if node is None or not (node.text or "").strip():
        raise ReferenceKafkaError(f"{POM} has no <kafka.version> property")
    return node.text.strip()


def libs_dir(version: str | None = None) -> Path:
    cache = Path(os.environ.get("KAFKA_REFERENCE_CACHE") or ROOT / ".cache" / "kafka-reference")
    return cache / (version or kafka_version()) / "libs"


def ensure_jars(version: str | None = None) -> Path:
    """The folder of the broker's jars, copied there by Maven on first use."""
    version = version or kafka_version()
    libs = libs_dir(version)
    if (libs / f"kafka_2.13-{version}.jar").exists():
        return libs
    mvn = os.environ.get("MVN") or shutil.which("mvn")
    if not mvn:
        raise ReferenceKafkaError("Maven (mvn) is needed to fetch the reference Kafka's jars")
    libs.parent.mkdir(parents=True, exist_ok=True)
    # Copy into a sibling folder and rename it at the end, so an interrupted download never
    # leaves a half-filled cache that looks complete.
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    print(f"kafka-reference: fetching Kafka {version} with Maven into {libs}", file=sys.stderr)
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={staging}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0 or not (staging / f"kafka_2.13-{version}.jar").exists():
        shutil.rmtree(staging, ignore_errors=True)
        raise ReferenceKafkaError(f"mvn dependency:copy-dependencies failed ({result.returncode}):\n{result.stdout}")
    if libs.exists():
        shutil.rmtree(libs)
    staging.rename(libs)
    return libs


def java_binary() -> str:
    if os.environ.get("JAVA"):
        return os.environ["JAVA"]
    if os.environ.get("JAVA_HOME"):
        return str(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise ReferenceKafkaError("a Java runtime (17+) is needed for the reference Kafka")
    return java


def free_ports(count: int) -> list[int]:
    """Ports that were free a moment ago (all held at once, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cluster_id() -> str:
    """A random cluster id in Kafka's form: a UUID, base64url without padding (22 chars).

    Never one that starts with "-": the storage tool would read it as an option (1 in 64
    random ids did, and formatting failed).
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def write_certs(workdir: Path) -> Path | None:
    """Certificates for the TLS listeners (``kafkalite certs``), or None without cryptography."""
    sys.path.insert(0, str(ROOT))
    try:
        from kafkalite.tools.certs import write_certs as kafkalite_certs

        files = kafkalite_certs(workdir / "certs", "localhost")
    except Exception as exc:  # noqa: BLE001 - no certificates: no TLS listeners, said so
        print(f"kafka-reference: no TLS listeners ({exc})", file=sys.stderr)
        return None
    finally:
        sys.path.remove(str(ROOT))
    # Kafka's PEM key store: the private key and its certificate chain in one file.
    (workdir / "certs" / "broker.pem").write_bytes(files.broker_key.read_bytes() + files.broker_cert.read_bytes())
    return workdir / "certs"


def _sasl_settings(listener: str) -> dict[str, str]:
    prefix = f"listener.name.{listener.lower()}"
    plain_users = " ".join(f'user_{name}="{password}"' for name, password in SASL_USERS.items())
    return {
        f"{prefix}.plain.sasl.jaas.config":
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
        f"{prefix}.scram-sha-512.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        f"{prefix}.oauthbearer.sasl.jaas.config":
            'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";',
    }


def server_properties(
    workdir: Path, port: int, controller_port: int, secure_ports: dict[str, int] | None = None, certs: Path | None = None
) -> str:
    listeners = {"PLAINTEXT": port, **(secure_ports or {})}
    addresses = ",".join(f"{name}://127.0.0.1:{p}" for name, p in listeners.items())
    protocols = ",".join(f"{name}:{name}" for name in listeners)
    settings = {
        # One node that is both the broker and the (single, standalone) KRaft controller.
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
        "listeners": f"{addresses},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"{addresses},CONTROLLER://127.0.0.1:{controller_port}",
        "listener.security.protocol.map": f"{protocols},CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(workdir / "data"),
        # What makes it a test broker, as kafkalite is by default: a new group waits 60 ms
        # for more members, not Kafka's 3 s (kafkalite also caps the whole wait at 1 s) ...
        "group.initial.rebalance.delay.ms": "60",
        # ... and internal topics fit on one node (Kafka's default asks for 3 replicas).
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "num.partitions": "1",
    }
    sasl = [name for name in listeners if name.startswith("SASL_")]
    if sasl:
        settings["sasl.enabled.mechanisms"] = "PLAIN,SCRAM-SHA-512,OAUTHBEARER"
        for name in sasl:
            settings.update(_sasl_settings(name))
    if certs is not None:
        settings.update({
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(certs / "broker.pem"),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(certs / "ca.crt"),
            "listener.name.ssl.ssl.client.auth": "requested",
        })
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def log4j2_properties(workdir: Path) -> str:
    """Everything Kafka logs goes to server.log in the temp dir; nothing to the terminal."""
    log = workdir / "server.log"
    return "\n".join(
        [
            "status = warn",
            # Keep logging to the file while Kafka shuts down (log4j's own hook would stop it).
            "shutdownHook = disable",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {log}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = file",
            "",
        ]
    )


def api_versions_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether the broker answers an ApiVersions v0 request without an error."""
    client_id = b"kafka-reference"
    correlation_id = 7
    header = struct.pack(">hhih", API_VERSIONS, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(header)) + header)
            size = struct.unpack(">i", _recv_exactly(s, 4))[0]
            body = _recv_exactly(s, size)
    except (OSError, EOFError):
        return False
    if len(body) < 10:
        return False
    got_correlation, error_code, count = struct.unpack(">ihi", body[:10])
    return got_correlation == correlation_id and error_code == 0 and count > 0


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _errors(log: str, tail: int = 20) -> str:
    """What explains a failed start: the log's first errors, then its last lines."""
    lines = log.splitlines()
    errors = [line for line in lines if " ERROR " in line or "Exception" in line][:20]
    return "\n".join([*errors, "...", *lines[-tail:]] if errors else lines[-tail:]) or "(no log)"


class ReferenceKafka:
    """One running reference broker; ``start()`` then ``stop()``, or use ``reference_kafka()``."""

    def __init__(self, keep: bool | None = None) -> None:
        self.version = kafka_version()
        self.keep = keep if keep is not None else os.environ.get("KAFKA_REFERENCE_KEEP") == "1"
        self.workdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.secure_ports: dict[str, int] = {}  # listener name -> port (only those opened)
        self.certs: Path | None = None
        self.startup_seconds = 0.0  # from the temp dir's creation to the first ApiVersions answer
        self.format_seconds = 0.0  # of which formatting the storage (a JVM of its own)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def test_environment(self) -> dict[str, str]:
        """What the compat tests read: the bootstrap, the security listeners, the certificates."""
        env = {"KAFKALITE_TEST_BOOTSTRAP": self.bootstrap, "KAFKALITE_TEST_BROKER": f"kafka-{self.version}"}
        for name, port in self.secure_ports.items():
            env[f"KAFKALITE_TEST_{name}"] = f"127.0.0.1:{port}"
        if self.certs is not None:
            env["KAFKALITE_TEST_CERTS"] = str(self.certs)
        return env

    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Start the broker; return its bootstrap address once it answers ApiVersions.

        Raises ReferenceKafkaError (with the end of Kafka's log) if it exits or does not
        answer within *timeout* seconds. The free ports are found before Kafka binds them,
        so another process may take one meanwhile: then it starts again on other ports.
        """
        for attempt in range(3):
            try:
                return self._start(timeout)
            except _PortTaken:
                continue
        raise ReferenceKafkaError("Kafka found its ports taken three times in a row")

    def _start(self, timeout: float) -> str:
        libs = ensure_jars(self.version)
        java = java_binary()
        classpath = str(libs / "*")
        started = time.monotonic()
        self.workdir = workdir = Path(tempfile.mkdtemp(prefix="kafka-reference-"))
        self.port, controller_port, *secure = free_ports(2 + len(SECURE_LISTENERS))
        self.certs = write_certs(workdir)
        self.secure_ports = {
            name: p for name, p in zip(SECURE_LISTENERS, secure) if self.certs is not None or name == "SASL_PLAINTEXT"
        }
        config = workdir / "server.properties"
        config.write_text(server_properties(workdir, self.port, controller_port, self.secure_ports, self.certs))
        (workdir / "log4j2.properties").write_text(log4j2_properties(workdir))
        jvm = [java, f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}", "-cp", classpath]
        output = workdir / "stdout.log"
        fmt = subprocess.run(
            [
                *jvm, "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(config), "--standalone",
                # SCRAM credentials are metadata records in KRaft: written when formatting.
                *(arg for name, password in SASL_USERS.items()
                  for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]")),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.format_seconds = time.monotonic() - started
        if fmt.returncode != 0:
            self._cleanup()
            raise ReferenceKafkaError(f"formatting the KRaft storage failed ({fmt.returncode}):\n{fmt.stdout}")
        with open(output, "wb") as out:
            self.proc = subprocess.Popen(
                [java, "-Xmx512m", *jvm[1:], "kafka.Kafka", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, we stop it
            )
        deadline = started + timeout
        # Answers from the port count only while our process lives (not someone else's server).
        while not (api_versions_ok("127.0.0.1", self.port) and self.proc.poll() is None):
            if self.proc.poll() is not None:
                log = f"{_read(output)}\n{_read(workdir / 'server.log')}"
                status = self.proc.returncode
                self.stop()
                if "Address already in use" in log:
                    raise _PortTaken
                raise ReferenceKafkaError(f"Kafka exited with status {status} before answering:\n{_errors(log)}")
            if time.monotonic() > deadline:
                log = _read(workdir / "server.log")
                message = f"Kafka did not answer ApiVersions within {timeout:.0f} s:\n{_errors(log)}"
                self.stop()
                raise ReferenceKafkaError(message)
            time.sleep(0.1)
        self.startup_seconds = time.monotonic() - started
        return self.bootstrap

    def stop(self) -> int | None:
        """SIGTERM (a controlled shutdown), SIGKILL if it takes too long; delete the temp dir."""
        status = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            status = self.proc.returncode
            self.proc = None
        self._cleanup()
        return status

    def _cleanup(self) -> None:
        if self.workdir is not None:
            if self.keep:
                print(f"kafka-reference: kept {self.workdir}", file=sys.stderr)
            else:
                shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@contextlib.contextmanager
def reference_kafka(timeout: float = START_TIMEOUT) -> Iterator[str]:
    """A running reference broker for the block; yields its bootstrap address."""
    broker = ReferenceKafka()
    broker.start(timeout)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


def _run(command: Sequence[str]) -> int:
    broker = ReferenceKafka()
    broker.start()
    print(
        f"kafka-reference: Kafka {broker.version} ready on {broker.bootstrap} in {broker.startup_seconds:.1f} s "
        f"(storage format {broker.format_seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    # The command gets SIGINT/SIGTERM itself (same process group); we only wait for it and
    # then stop the broker, whatever happened.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        # KAFKALITE_TEST_BROKER names the broker in the tests' skip messages and reports.
        env = {**os.environ, **broker.test_environment()}
        started = time.monotonic()
        child = subprocess.Popen(list(command), env=env)
        while True:
            try:
                status = child.wait()
                break
            except KeyboardInterrupt:
                continue  # the child got the Ctrl-C too; let it finish its way
        print(f"kafka-reference: command finished with status {status} in {time.monotonic() - started:.1f} s",
              file=sys.stderr, flush=True)
        return status if status >= 0 else 128 - status
    finally:
        signal.signal(signal.SIGTERM, previous)
        stopping = time.monotonic()
        stopped = broker.stop()  # 143: how a JVM exits after SIGTERM and its shutdown hooks
        print(f"kafka-reference: Kafka stopped (exit status {stopped}) in {time.monotonic() - stopping:.1f} s",
              file=sys.stderr, flush=True)


def _serve() -> int:
    broker = ReferenceKafka()
    broker.start()
    print(f"kafka-reference: Kafka {broker.version} listening on {broker.bootstrap} "
          f"(ready in {broker.startup_seconds:.1f} s); Ctrl-C stops it", flush=True)
    try:
        while broker.proc is not None and broker.proc.poll() is None:
            time.sleep(0.5)
        print("kafka-reference: Kafka exited by itself", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Kafka, run COMMAND with KAFKALITE_TEST_BOOTSTRAP set, stop Kafka")
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    sub.add_parser("serve", help="start Kafka and keep it running until Ctrl-C")
    sub.add_parser("fetch", help="download the jars into the cache (nothing else)")
    sub.add_parser("version", help="print the pinned Kafka version")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            command = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            if not command:
                parser.error("run needs a command after --")
            return _run(command)
        if args.command == "serve":
            return _serve()
        if args.command == "fetch":
            print(ensure_jars())
            return 0
        print(kafka_version())
        return 0
    except ReferenceKafkaError as exc:
        print(f"kafka-reference: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
