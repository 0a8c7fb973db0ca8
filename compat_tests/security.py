"""A broker with SSL, SASL_PLAINTEXT and SASL_SSL listeners for the security compat tests.

Against kafkalite: a broker process of its own, started with ``--listeners``, a users file and
certificates from ``kafkalite certs``. Against another broker (KAFKALITE_TEST_BOOTSTRAP) the
addresses come from KAFKALITE_TEST_SSL, KAFKALITE_TEST_SASL_PLAINTEXT, KAFKALITE_TEST_SASL_SSL
and the certificates from KAFKALITE_TEST_CERTS (a folder as ``kafkalite certs`` writes it),
which compat_tests/reference/kafka_reference.py sets for the reference Kafka. The users are
`USERS` on both (PLAIN and SCRAM-SHA-512; OAUTHBEARER takes any unsecured token).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import attrs
import pytest

from . import journal
from .conftest import EXTERNAL, stop_broker

USERS = {"alice": "alice-secret", "admin": "admin-secret"}
LISTENER_ENV = {"SSL": "KAFKALITE_TEST_SSL", "SASL_PLAINTEXT": "KAFKALITE_TEST_SASL_PLAINTEXT", "SASL_SSL": "KAFKALITE_TEST_SASL_SSL"}


@attrs.frozen
class SecureBroker:
    addresses: dict[str, str]  # listener name -> bootstrap
    certs: Path

    @property
    def ca(self) -> str:
        return str(self.certs / "ca.crt")

    @property
    def client_cert(self) -> str:
        return str(self.certs / "client.crt")

    @property
    def client_key(self) -> str:
        return str(self.certs / "client.key")

    def confluent(self, listener: str, mechanism: str | None = None, user: str = "alice", password: str | None = None, **extra: Any) -> dict[str, Any]:
        """confluent-kafka settings for *listener* (and a SASL *mechanism*)."""
        conf: dict[str, Any] = {"bootstrap.servers": self.addresses[listener], "security.protocol": listener}
        if listener in ("SSL", "SASL_SSL"):
            conf.update({"ssl.ca.location": self.ca, "ssl.endpoint.identification.algorithm": "https"})
        if listener == "SSL":
            conf.update({"ssl.certificate.location": self.client_cert, "ssl.key.location": self.client_key})
        if mechanism == "OAUTHBEARER":
            conf.update({
                "sasl.mechanism": "OAUTHBEARER", "enable.sasl.oauthbearer.unsecure.jwt": True,
                "sasl.oauthbearer.config": f"principal={user}",
            })
        elif mechanism is not None:
            conf.update({
                "sasl.mechanism": mechanism, "sasl.username": user,
                "sasl.password": USERS[user] if password is None else password,
            })
        conf.update(extra)
        return conf

    def kafka_python(self, listener: str, mechanism: str | None = None, user: str = "alice", password: str | None = None) -> dict[str, Any]:
        """kafka-python keyword arguments for *listener* (and a SASL *mechanism*)."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.addresses[listener], "security_protocol": listener}
        if listener in ("SSL", "SASL_SSL"):
            kwargs.update({"ssl_cafile": self.ca, "ssl_check_hostname": True})
        if listener == "SSL":
            kwargs.update({"ssl_certfile": self.client_cert, "ssl_keyfile": self.client_key})
        if mechanism == "OAUTHBEARER":
            kwargs.update({"sasl_mechanism": "OAUTHBEARER", "sasl_oauth_token_provider": UnsecuredTokens(user)})
        elif mechanism is not None:
            kwargs.update({
                "sasl_mechanism": mechanism, "sasl_plain_username": user,
                "sasl_plain_password": USERS[user] if password is None else password,
            })
        return kwargs


def unsecured_jwt(principal: str, lifetime_s: int = 3600) -> str:
    """An unsecured JWT (alg none, empty signature) as Kafka's unsecured login module makes."""
    def enc(part: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{enc({'alg': 'none'})}.{enc({'sub': principal, 'iat': now, 'exp': now + lifetime_s})}."


from kafka.net.sasl.oauth import AbstractTokenProvider  # noqa: E402


class UnsecuredTokens(AbstractTokenProvider):
    """kafka-python's token provider (token(), extensions()) handing out unsecured JWTs."""

    def __init__(self, principal: str) -> None:
        super().__init__()
        self.principal = principal

    def token(self) -> str:
        return unsecured_jwt(self.principal)

    def extensions(self) -> dict[str, str]:
        return {}


def _start(tmp: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    from kafkalite.testing.certs import test_certs

    test_certs(tmp / "certs")
    users = tmp / "users.json"
    users.write_text(json.dumps(USERS))
    listeners = ",".join(f"{name}://127.0.0.1:0" for name in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"))
    proc = subprocess.Popen(
        [
            *journal.broker_command(), "serve", "--memory", "--listeners", listeners, "--users-file", str(users),
            "--sasl-mechanisms", "PLAIN,SCRAM-SHA-512,OAUTHBEARER",
            "--ssl-certfile", str(tmp / "certs" / "broker.crt"), "--ssl-keyfile", str(tmp / "certs" / "broker.key"),
            "--ssl-cafile", str(tmp / "certs" / "ca.crt"), "--ssl-client-auth", "requested",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.stdout is not None
    addresses: dict[str, str] = {}
    lines = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(addresses) < 4:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("kafkalite listener "):
            _, _, name, _, address = line.split()
            addresses[name] = address
    if len(addresses) < 4:
        proc.kill()
        raise RuntimeError("kafkalite did not start:\n" + "".join(lines))
    return proc, addresses


@pytest.fixture(scope="session")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    if EXTERNAL:
        addresses = {name: os.environ.get(var, "") for name, var in LISTENER_ENV.items()}
        certs = os.environ.get("KAFKALITE_TEST_CERTS", "")
        if not all(addresses.values()) or not certs:
            pytest.skip("the broker under test has no SSL / SASL listeners (set " + ", ".join(LISTENER_ENV.values()) + ", KAFKALITE_TEST_CERTS)")
        yield SecureBroker(addresses, Path(certs))
        return
    tmp = tmp_path_factory.mktemp("secure")
    proc, addresses = _start(tmp)
    drain = threading.Thread(target=proc.stdout.read, daemon=True)  # type: ignore[union-attr]
    drain.start()
    try:
        yield SecureBroker(addresses, tmp / "certs")
    finally:
        stop_broker(proc)
        drain.join(timeout=5)
