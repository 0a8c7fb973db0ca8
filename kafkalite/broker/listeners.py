"""Listeners as Kafka configures them: ``NAME://host:port`` lists and a name -> protocol map.

``listeners`` says where the broker binds, ``advertised.listeners`` what Metadata tells the
clients that came in on each listener; ``listener.security.protocol.map`` gives each name its
security protocol (by default the four protocol names map to themselves, so
``SASL_SSL://:9094`` needs no map). Pure parsing: no sockets here.
"""

from __future__ import annotations

import re

import attrs

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
DEFAULT_PROTOCOL_MAP = {name: name for name in SECURITY_PROTOCOLS}

_LISTENER = re.compile(r"^([A-Za-z0-9_.-]+)://(\[[0-9a-fA-F:.]*\]|[^:\[\]]*):(-?[0-9]+)$")


class ListenerConfigError(ValueError):
    """A listeners / advertised listeners / protocol map string Kafka would refuse."""


@attrs.frozen
class Listener:
    """One listener: its name (upper case, as Kafka normalises it), protocol, host and port.

    An empty host means every interface (Kafka's rule for ``PLAINTEXT://:9092``)."""

    name: str
    security_protocol: str
    host: str
    port: int

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def parse_protocol_map(spec: str | None) -> dict[str, str]:
    """``"NAME:PROTOCOL,..."`` -> {NAME: PROTOCOL}; None or empty gives Kafka's default map."""
    if not spec:
        return dict(DEFAULT_PROTOCOL_MAP)
    result: dict[str, str] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, protocol = item.partition(":")
        name, protocol = name.strip().upper(), protocol.strip().upper()
        if not sep or not name:
            raise ListenerConfigError(f"listener security protocol map entry {item!r} is not NAME:PROTOCOL")
        if protocol not in SECURITY_PROTOCOLS:
            raise ListenerConfigError(
                f"unknown security protocol {protocol!r} for listener {name} (one of {', '.join(SECURITY_PROTOCOLS)})"
            )
        if name in result:
            raise ListenerConfigError(f"listener {name} appears twice in the security protocol map")
        result[name] = protocol
    return result


def parse_listeners(spec: str, protocol_map: dict[str, str] | None = None) -> tuple[Listener, ...]:
    """``"PLAINTEXT://h:9092,SSL://h:9093"`` -> the listeners, in order.

    Raises:
        ListenerConfigError: a malformed entry, a name missing from the map, a name twice, or
            two listeners on one port (port 0, a free port each, may repeat).
    """
    protocols = protocol_map if protocol_map is not None else DEFAULT_PROTOCOL_MAP
    listeners: list[Listener] = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        match = _LISTENER.match(item)
        if match is None:
            raise ListenerConfigError(f"listener {item!r} is not NAME://HOST:PORT")
        name, host, port_text = match.group(1).upper(), match.group(2), match.group(3)
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ListenerConfigError(f"listener {item!r}: port {port} is out of range")
        if host.startswith("["):
            host = host[1:-1]
        protocol = protocols.get(name)
        if protocol is None:
            raise ListenerConfigError(
                f"listener {name} has no security protocol: add it to the listener security protocol map"
            )
        listeners.append(Listener(name, protocol, host, port))
    if not listeners:
        raise ListenerConfigError("no listener given")
    names = [listener.name for listener in listeners]
    if len(set(names)) != len(names):
        raise ListenerConfigError(f"each listener name must appear once: {', '.join(names)}")
    ports = [listener.port for listener in listeners if listener.port]
    if len(set(ports)) != len(ports):
        raise ListenerConfigError(f"each listener needs a port of its own: {spec}")
    return tuple(listeners)


def parse_advertised(spec: str, listeners: tuple[Listener, ...], protocol_map: dict[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """advertised.listeners -> {listener name: (host, port)}; each name must be a listener's."""
    known = {listener.name for listener in listeners}
    protocols = dict(protocol_map if protocol_map is not None else DEFAULT_PROTOCOL_MAP)
    for name in known:
        protocols.setdefault(name, "PLAINTEXT")
    result: dict[str, tuple[str, int]] = {}
    for entry in parse_listeners(spec, protocols):
        if entry.name not in known:
            raise ListenerConfigError(f"advertised listener {entry.name} is not one of the listeners")
        if entry.port == 0:
            raise ListenerConfigError(f"advertised listener {entry.name} needs a port")
        result[entry.name] = (entry.host, entry.port)
    return result
