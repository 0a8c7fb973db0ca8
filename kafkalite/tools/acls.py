"""``kafkalite acls``: add, list and remove ACLs, as kafka-acls does.

    kafkalite acls add --allow-principal User:bob --operation Read --topic orders
    kafkalite acls add --deny-principal User:eve --operation All --topic app- --resource-pattern-type prefixed
    kafkalite acls add --allow-principal User:bob --operation Read --group app
    kafkalite acls list [--topic orders] [--principal User:bob]
    kafkalite acls remove --allow-principal User:bob --operation Read --topic orders

Kafka's own spelling works too (``--add``, ``--list``, ``--remove``). It speaks CreateAcls,
DescribeAcls and DeleteAcls, so the broker needs its authorizer on (``kafkalite serve
--acls``; otherwise it answers SECURITY_DISABLED) and the principal of this connection
(ANONYMOUS on a plain listener) needs ALTER (add, remove) or DESCRIBE (list) on the cluster,
or to be a super user.
"""

from __future__ import annotations

import argparse
import re

from kafkalite.wire.acl_codes import AclOperation, AclPermission, PatternType, ResourceType
from kafkalite.tools import add_connection_options, parser
from kafkalite.tools.client import Client, KafkaError, ToolError

CLUSTER_NAME = "kafka-cluster"
_KAFKA_ACTIONS = {"--add": "add", "--list": "list", "--remove": "remove"}


def _kafka_style(argv: list[str]) -> list[str]:
    actions = [a for a in argv if a in _KAFKA_ACTIONS]
    if len(actions) == 1 and not any(a in _KAFKA_ACTIONS.values() for a in argv):
        return [_KAFKA_ACTIONS[actions[0]], *(a for a in argv if a != actions[0])]
    return argv


def build_parser() -> argparse.ArgumentParser:
    p = parser("acls", "Add, list and remove ACLs (the broker must run with --acls).")
    add_connection_options(p)
    sub = p.add_subparsers(dest="action", required=True)
    for name, help_text in (("add", "add ACLs"), ("list", "list ACLs"), ("remove", "remove ACLs")):
        a = sub.add_parser(name, help=help_text)
        add_connection_options(a, subcommand=True)
        a.add_argument("--topic", action="append", default=[], help="a topic resource (repeatable)")
        a.add_argument("--group", action="append", default=[], help="a group resource (repeatable)")
        a.add_argument("--transactional-id", action="append", default=[], help="a transactional id resource")
        a.add_argument("--cluster", action="store_true", help="the cluster resource")
        a.add_argument("--resource-pattern-type", default=None,
                       help="literal (default), prefixed; list and remove also take any, match")
        if name == "list":
            a.add_argument("--principal", action="append", default=[], help="only ACLs of this principal")
            continue
        a.add_argument("--allow-principal", action="append", default=[], help="e.g. User:bob (repeatable)")
        a.add_argument("--deny-principal", action="append", default=[], help="e.g. User:eve (repeatable)")
        a.add_argument("--allow-host", action="append", default=[], help="hosts the allow ACLs apply to (default *)")
        a.add_argument("--deny-host", action="append", default=[], help="hosts the deny ACLs apply to (default *)")
        a.add_argument("--operation", action="append", default=[],
                       help="Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, "
                            "AlterConfigs, IdempotentWrite, All (repeatable; add needs one)")
        a.add_argument("--force", action="store_true", help="accepted for kafka-acls compatibility")
    return p


def _code(enum_cls: type, text: str, what: str) -> int:
    """The code of *text* in Kafka's spellings: Read, READ, read, DescribeConfigs,
    describe-configs, DESCRIBE_CONFIGS."""
    key = text.strip()
    if "_" not in key and "-" not in key and not key.isupper() and not key.islower():
        key = re.sub(r"(?<!^)(?=[A-Z])", "_", key)
    member = enum_cls.__members__.get(key.upper().replace("-", "_"))  # type: ignore[attr-defined]
    if member is None or member.name == "UNKNOWN":
        raise ToolError(f"unknown {what} {text!r}")
    return int(member)


def _resources(args: argparse.Namespace, *, filtering: bool) -> list[tuple[int, str | None]]:
    resources: list[tuple[int, str | None]] = [(ResourceType.TOPIC, t) for t in args.topic]
    resources += [(ResourceType.GROUP, g) for g in args.group]
    resources += [(ResourceType.TRANSACTIONAL_ID, t) for t in args.transactional_id]
    if args.cluster:
        resources.append((ResourceType.CLUSTER, CLUSTER_NAME))
    if not resources:
        if not filtering:
            raise ToolError("name a resource: --topic, --group, --transactional-id or --cluster")
        resources.append((ResourceType.ANY, None))
    return resources


def _entries(args: argparse.Namespace) -> list[tuple[str, str, int]]:
    """(principal, host, permission) of every ACL the arguments describe."""
    entries = []
    for principals, hosts, permission in (
        (args.allow_principal, args.allow_host or ["*"], AclPermission.ALLOW),
        (args.deny_principal, args.deny_host or ["*"], AclPermission.DENY),
    ):
        entries += [(p, h, int(permission)) for p in principals for h in hosts]
    return entries


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(_kafka_style(argv))
    with Client(args.bootstrap_server, timeout=args.timeout) as client:
        if args.action == "add":
            return add(client, args)
        if args.action == "list":
            return list_acls(client, args)
        return remove(client, args)


def add(client: Client, args: argparse.Namespace) -> int:
    from kafkalite.wire.messages.create_acls import AclCreation, CreateAclsRequest

    pattern = _code(PatternType, args.resource_pattern_type or "literal", "resource pattern type")
    entries = _entries(args)
    if not entries:
        raise ToolError("add: give --allow-principal or --deny-principal")
    if not args.operation:
        raise ToolError("add: give at least one --operation")
    operations = [_code(AclOperation, op, "operation") for op in args.operation]
    creations = [
        AclCreation(resource_type=rtype, resource_name=name, resource_pattern_type=pattern, principal=principal,
                    host=host, operation=op, permission_type=permission)
        for rtype, name in _resources(args, filtering=False)
        for principal, host, permission in entries
        for op in operations
    ]
    response = client.bootstrap_connection.request(CreateAclsRequest(creations=creations))
    for creation, result in zip(creations, response.results):
        if result.error_code:
            raise KafkaError(result.error_code, f"adding {_describe_creation(creation)}", result.error_message)
    for creation in creations:
        print(f"Added {_describe_creation(creation)}")
    return 0


def list_acls(client: Client, args: argparse.Namespace) -> int:
    from kafkalite.wire.messages.describe_acls import DescribeAclsRequest

    pattern = _code(PatternType, args.resource_pattern_type or "any", "resource pattern type")
    shown: dict[tuple[int, str, int], list[str]] = {}
    for rtype, name in _resources(args, filtering=True):
        for principal in args.principal or [None]:
            response = client.bootstrap_connection.request(DescribeAclsRequest(
                resource_type_filter=rtype, resource_name_filter=name, pattern_type_filter=pattern,
                principal_filter=principal, host_filter=None, operation=AclOperation.ANY,
                permission_type=AclPermission.ANY,
            ))
            if response.error_code:
                raise KafkaError(response.error_code, "listing ACLs", response.error_message)
            for r in response.resources:
                lines = shown.setdefault((r.resource_type, r.resource_name, r.pattern_type), [])
                for a in r.acls:
                    line = (f"\t(principal={a.principal}, host={a.host}, operation={AclOperation(a.operation).name}, "
                            f"permissionType={AclPermission(a.permission_type).name})")
                    if line not in lines:
                        lines.append(line)
    for (rtype, name, pattern_type), lines in shown.items():
        print(f"Current ACLs for resource `ResourcePattern(resourceType={ResourceType(rtype).name}, name={name}, "
              f"patternType={PatternType(pattern_type).name})`:")
        print("\n".join(lines))
        print()
    return 0


def remove(client: Client, args: argparse.Namespace) -> int:
    from kafkalite.wire.messages.delete_acls import DeleteAclsFilter, DeleteAclsRequest

    pattern = _code(PatternType, args.resource_pattern_type or "literal", "resource pattern type")
    entries = _entries(args) or [(None, None, int(AclPermission.ANY))]
    operations = [_code(AclOperation, op, "operation") for op in args.operation] or [int(AclOperation.ANY)]
    filters = [
        DeleteAclsFilter(resource_type_filter=rtype, resource_name_filter=name, pattern_type_filter=pattern,
                         principal_filter=principal, host_filter=host, operation=op, permission_type=permission)
        for rtype, name in _resources(args, filtering=False)
        for principal, host, permission in entries
        for op in operations
    ]
    response = client.bootstrap_connection.request(DeleteAclsRequest(filters=filters))
    removed = 0
    for result in response.filter_results:
        if result.error_code:
            raise KafkaError(result.error_code, "removing ACLs", result.error_message)
        for m in result.matching_acls:
            removed += 1
            print(f"Removed ACL (principal={m.principal}, host={m.host}, operation={AclOperation(m.operation).name}, "
                  f"permissionType={AclPermission(m.permission_type).name}) on "
                  f"{ResourceType(m.resource_type).name} {m.resource_name} ({PatternType(m.pattern_type).name})")
    if not removed:
        print("No ACL matched.")
    return 0


def _describe_creation(c: object) -> str:
    return (f"ACL (principal={c.principal}, host={c.host}, operation={AclOperation(c.operation).name}, "  # type: ignore[attr-defined]
            f"permissionType={AclPermission(c.permission_type).name}) on "  # type: ignore[attr-defined]
            f"{ResourceType(c.resource_type).name} {c.resource_name} "  # type: ignore[attr-defined]
            f"({PatternType(c.resource_pattern_type).name})")  # type: ignore[attr-defined]
