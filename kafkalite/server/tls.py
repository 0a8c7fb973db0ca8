"""TLS for the SSL and SASL_SSL listeners: the server context, and the principal of a client
certificate as Kafka's default principal builder names it ("User:" + the subject DN in
RFC 2253 form, e.g. ``User:CN=client,OU=test,O=kafkalite``)."""

from __future__ import annotations

import ssl
from typing import Any

from kafkalite.broker.settings import BrokerConfig

_VERIFY = {"required": ssl.CERT_REQUIRED, "requested": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}

#: RFC 2253 attribute type names for the OIDs Python's ssl module reports by long name.
_SHORT_NAMES = {
    "commonName": "CN", "organizationalUnitName": "OU", "organizationName": "O", "localityName": "L",
    "stateOrProvinceName": "ST", "countryName": "C", "streetAddress": "STREET", "domainComponent": "DC",
    "userId": "UID", "emailAddress": "EMAILADDRESS",
}


def server_context(config: BrokerConfig) -> ssl.SSLContext:
    """An SSLContext with the broker's certificate, checking client certificates as
    ``ssl_client_auth`` says (against ``ssl_cafile``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    assert config.ssl_certfile is not None and config.ssl_keyfile is not None
    context.load_cert_chain(str(config.ssl_certfile), str(config.ssl_keyfile))
    if config.ssl_cafile is not None:
        context.load_verify_locations(cafile=str(config.ssl_cafile))
    context.verify_mode = _VERIFY[config.ssl_client_auth]
    return context


def _escape(value: str) -> str:
    # RFC 2253 section 2.4: escape , + " \ < > ; and a leading # or space, a trailing space.
    out = "".join("\\" + ch if ch in ',+"\\<>;' else ch for ch in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


def subject_dn(peer_cert: dict[str, Any]) -> str:
    """The subject of *peer_cert* (``SSLSocket.getpeercert()``) as RFC 2253 writes it: the
    most specific attribute first, as Java's ``X500Principal.getName()`` does."""
    rdns = []
    for rdn in reversed(peer_cert.get("subject", ())):
        rdns.append("+".join(f"{_SHORT_NAMES.get(key, key)}={_escape(value)}" for key, value in rdn))
    return ",".join(rdns)


def principal_of(peer_cert: dict[str, Any] | None) -> str:
    """User:DN of a client certificate; User:ANONYMOUS without one."""
    if not peer_cert:
        return "User:ANONYMOUS"
    return f"User:{subject_dn(peer_cert)}"
