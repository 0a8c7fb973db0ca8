"""Certificates for tests of the SSL and SASL_SSL listeners (needs ``cryptography``).

    files = kafkalite.testing.certs.test_certs(tmp_path)
    with run_in_thread(listeners="SSL://127.0.0.1:0", **tls_config(files)) as broker: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kafkalite.tools.certs import CLIENT_SUBJECT, CertFiles, write_certs

__all__ = ["CLIENT_SUBJECT", "CertFiles", "test_certs", "tls_config"]


def test_certs(directory: Path | str, hostname: str = "localhost") -> CertFiles:
    """The five files in *directory*, written once (kept when they are already there)."""
    directory = Path(directory)
    files = CertFiles(*(directory / n for n in ("ca.crt", "broker.crt", "broker.key", "client.crt", "client.key")))
    if all(Path(p).exists() for p in (files.ca, files.broker_cert, files.broker_key, files.client_cert, files.client_key)):
        return files
    return write_certs(directory, hostname)


test_certs.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def tls_config(files: CertFiles, client_auth: str = "requested") -> dict[str, Any]:
    """BrokerConfig / run_in_thread keywords serving TLS with *files*."""
    return {
        "ssl_certfile": files.broker_cert, "ssl_keyfile": files.broker_key,
        "ssl_cafile": files.ca, "ssl_client_auth": client_auth,
    }
