"""``kafkalite quotas``: describe and alter client quotas, as kafka-configs.sh does for
``--entity-type users`` / ``clients``.

    kafkalite quotas alter --entity-type clients --entity-name app --add-config producer_byte_rate=1048576
    kafkalite quotas alter --entity-type users --entity-name alice --entity-type clients --entity-default \\
        --add-config consumer_byte_rate=2097152
    kafkalite quotas alter --entity-type clients --entity-name app --delete-config producer_byte_rate
    kafkalite quotas describe                                   # every entity with quotas
    kafkalite quotas describe --entity-type clients --entity-name app

The entity is one ``--entity-type`` (users, clients or ips) with an ``--entity-name`` or
``--entity-default`` after it, or a user and a client id together. ``describe`` without an
entity lists every entity with quotas; with one, that exact entity. Output lines are
kafka-configs.sh's: ``Quota configs for client-id 'app' are producer_byte_rate=1048576.0``.
Through AlterClientQuotas / DescribeClientQuotas, so it works against any Kafka cluster.
"""

from __future__ import annotations

import argparse

from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError

_TYPES = {"users": "user", "clients": "client-id", "ips": "ip"}
_SHOWN = {"user": "user-principal", "client-id": "client-id", "ip": "ip"}


class _Entity(argparse.Action):
    """--entity-type T, then --entity-name N or --entity-default: pairs, in order."""

    def __call__(self, p, namespace, values, option_string=None) -> None:  # type: ignore[override]
        pairs = getattr(namespace, "entity", None) or []
        if option_string == "--entity-type":
            pairs.append([_TYPES[values], False, None])
        else:
            if not pairs or pairs[-1][1]:
                raise argparse.ArgumentError(self, "give --entity-type before each --entity-name / --entity-default")
            pairs[-1][1] = True
            pairs[-1][2] = values if option_string == "--entity-name" else None
        namespace.entity = pairs


def _entity_options(a: argparse.ArgumentParser) -> None:
    a.add_argument("--entity-type", choices=sorted(_TYPES), action=_Entity, dest="entity", default=[])
    a.add_argument("--entity-name", action=_Entity, dest="entity", metavar="NAME")
    a.add_argument("--entity-default", action=_Entity, dest="entity", nargs=0)


def build_parser() -> argparse.ArgumentParser:
    p = parser("quotas", "Describe and alter client quotas (like kafka-configs --entity-type users/clients).")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("describe", help="the quotas of an entity, or of every entity with quotas")
    add_connection_options(a, subcommand=True)
    _entity_options(a)
    a = sub.add_parser("alter", help="set or remove quotas of an entity")
    add_connection_options(a, subcommand=True)
    _entity_options(a)
    a.add_argument("--add-config", default="", metavar="K=V,...", help="quotas to set, e.g. producer_byte_rate=1024")
    a.add_argument("--delete-config", default="", metavar="K,...", help="quotas to remove")
    a.add_argument("--validate-only", action="store_true", help="only check what the broker would say")
    return p


def _pairs(args: argparse.Namespace, required: bool) -> list[tuple[str, str | None]]:
    pairs = args.entity or []
    if any(not named for _t, named, _n in pairs):
        raise ToolError("each --entity-type needs an --entity-name or --entity-default")
    if required and not pairs:
        raise ToolError("give the entity: --entity-type users|clients|ips with --entity-name NAME or --entity-default")
    return [(t, n) for t, _named, n in pairs]


def describe_line(entity: list[tuple[str, str | None]], values: dict[str, float]) -> str:
    order = list(_SHOWN)  # user before client-id, as kafka-configs.sh prints them
    who = ", ".join(
        f"the default {_SHOWN[t]}" if n is None else f"{_SHOWN[t]} '{n}'"
        for t, n in sorted(entity, key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order))
    )
    return f"Quota configs for {who} are " + ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "describe":
            return describe(client, _pairs(args, required=False))
        return alter(client, _pairs(args, required=True), args.add_config, args.delete_config, args.validate_only)


def describe(client: Client, entity: list[tuple[str, str | None]]) -> int:
    from kafkalite.wire.messages.describe_client_quotas import ComponentData, DescribeClientQuotasRequest

    components = [ComponentData(entity_type=t, match_type=0 if n is not None else 1, match=n) for t, n in entity]
    response = client.bootstrap_connection.request(
        DescribeClientQuotasRequest(components=components, strict=bool(entity))
    )
    if response.error_code:
        raise KafkaError(response.error_code, "describe client quotas", response.error_message)
    for found in sorted(response.entries or [], key=lambda e: [(d.entity_type, d.entity_name or "") for d in e.entity]):
        pairs = [(d.entity_type, d.entity_name) for d in found.entity]
        print(describe_line(pairs, {v.key: v.value for v in found.values}))
    return 0


def alter(client: Client, entity: list[tuple[str, str | None]], add: str, delete: str, validate_only: bool) -> int:
    from kafkalite.wire.messages.alter_client_quotas import AlterClientQuotasRequest, EntityData, EntryData, OpData

    ops = []
    for item in filter(None, (s.strip() for s in add.split(","))):
        key, sep, value = item.partition("=")
        try:
            ops.append(OpData(key=key.strip(), value=float(value), remove=False))
        except ValueError:
            raise ToolError(f"--add-config wants KEY=NUMBER, not {item!r}") from None
        if not sep:
            raise ToolError(f"--add-config wants KEY=NUMBER, not {item!r}")
    ops += [OpData(key=k.strip(), value=0.0, remove=True) for k in delete.split(",") if k.strip()]
    if not ops:
        raise ToolError("nothing to alter: give --add-config and/or --delete-config")
    request = AlterClientQuotasRequest(
        entries=[EntryData(entity=[EntityData(entity_type=t, entity_name=n) for t, n in entity], ops=ops)],
        validate_only=validate_only,
    )
    (answer,) = client.bootstrap_connection.request(request).entries
    if answer.error_code:
        raise KafkaError(answer.error_code, "alter client quotas", answer.error_message)
    print(f"{'Validated' if validate_only else 'Completed'} updating quotas for {describe_line(entity, {})[len('Quota configs for '):-len(' are ')]}.")
    return 0
