"""``kafkalite certs DIR --hostname HOST``: a test CA, a broker and a client certificate.

Writes ``ca.crt``, ``broker.crt``, ``broker.key``, ``client.crt`` and ``client.key`` (PEM,
keys unencrypted) for the SSL / SASL_SSL listeners and their clients. The broker certificate
names HOST, ``localhost`` and 127.0.0.1; the client certificate's subject is
``CN=client,OU=test,O=kafkalite`` (its principal: ``User:CN=client,OU=test,O=kafkalite``).
Needs the ``cryptography`` package (``pip install 'kafkalite[certs]'``). For tests only: the
CA key is thrown away, nothing else can be signed with it.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
from pathlib import Path
from typing import Sequence

import attrs

from kafkalite.tools.client import ToolError

CLIENT_SUBJECT = "CN=client,OU=test,O=kafkalite"
VALID_DAYS = 3650


@attrs.frozen
class CertFiles:
    ca: Path
    broker_cert: Path
    broker_key: Path
    client_cert: Path
    client_key: Path


def write_certs(directory: Path | str, hostname: str = "localhost") -> CertFiles:
    """Write the five files into *directory* (created if missing) and return their paths."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise ToolError("kafkalite certs needs the cryptography package: pip install 'kafkalite[certs]'") from None

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    until = now + datetime.timedelta(days=VALID_DAYS)

    def name(**parts: str) -> x509.Name:
        oids = {"CN": NameOID.COMMON_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "O": NameOID.ORGANIZATION_NAME}
        # Most general first in the certificate, as RFC 5280 orders them (O, OU, CN).
        return x509.Name([x509.NameAttribute(oids[k], parts[k]) for k in ("O", "OU", "CN") if k in parts])

    def pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(CN="kafkalite test CA", O="kafkalite")
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(subject: x509.Name, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName]) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), pem_key(key)

    dns = [hostname] + (["localhost"] if hostname != "localhost" else [])
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in dns]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    try:
        sans.append(x509.IPAddress(ipaddress.ip_address(hostname)))
        sans.remove(x509.DNSName(hostname))
    except ValueError:
        pass
    broker_pem, broker_key = leaf(name(CN=hostname, O="kafkalite"), ExtendedKeyUsageOID.SERVER_AUTH, sans)
    client_pem, client_key = leaf(name(CN="client", OU="test", O="kafkalite"), ExtendedKeyUsageOID.CLIENT_AUTH, [])
    files = CertFiles(out / "ca.crt", out / "broker.crt", out / "broker.key", out / "client.crt", out / "client.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.broker_cert.write_bytes(broker_pem)
    files.client_cert.write_bytes(client_pem)
    for path, data in ((files.broker_key, broker_key), (files.client_key, client_key)):
        path.write_bytes(data)
        path.chmod(0o600)
    return files


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="kafkalite certs", description=__doc__.split("\n")[0])
    parser.add_argument("directory", help="where to write ca.crt, broker.crt/.key, client.crt/.key")
    parser.add_argument("--hostname", default="localhost", help="the broker's host name (default localhost)")
    args = parser.parse_args(argv)
    files = write_certs(args.directory, args.hostname)
    for path in attrs.astuple(files):
        print(path)
    return 0
