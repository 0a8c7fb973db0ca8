# AlterClientQuotas: v0-1
#
# Version notes:
# * v0: set or remove quota values of user / client-id / ip entities, or only validate
#       (KIP-546)
# * v1: flexible versions
#
# Each entry is answered on its own, as Kafka's controller does: an invalid entity, key or
# value answers INVALID_REQUEST with Kafka's message and changes nothing for that entity; a
# key twice in one entry, or an entity twice in the request (the later one), too.
"""AlterClientQuotas: set or remove client quotas."""

from __future__ import annotations

from kafkalite.broker.quotas import Entity, QuotaError, entity_of
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_client_quotas import (
    AlterClientQuotasRequest,
    AlterClientQuotasResponse,
    EntityData,
    EntryResponse,
)


@handles(ApiKey.ALTER_CLIENT_QUOTAS, min_version=0, max_version=1)
async def alter_client_quotas(ctx: RequestContext, req: AlterClientQuotasRequest) -> AlterClientQuotasResponse:
    quotas = ctx.broker.quotas
    answers = []
    seen: set[Entity] = set()
    for entry in req.entries:
        pairs = [(e.entity_type, e.entity_name) for e in entry.entity]
        code, message = ErrorCode.NONE, None
        try:
            entity = _entity(pairs, seen)
            ops: dict[str, float | None] = {}
            for op in entry.ops:
                if op.key in ops:
                    raise QuotaError(ErrorCode.INVALID_REQUEST, f"Ignoring duplicate entity {_render(pairs)}")
                ops[op.key] = None if op.remove else op.value
            quotas.alter(entity, ops, validate_only=req.validate_only)
        except QuotaError as exc:
            code, message = exc.code, exc.message
        answers.append(
            EntryResponse(
                error_code=code,
                error_message=message,
                entity=[EntityData(entity_type=e.entity_type, entity_name=e.entity_name) for e in entry.entity],
            )
        )
    return AlterClientQuotasResponse(throttle_time_ms=0, entries=answers)


def _entity(pairs: list[tuple[str, str | None]], seen: set[Entity]) -> Entity:
    entity = entity_of(pairs)
    if entity in seen:
        raise QuotaError(ErrorCode.INVALID_REQUEST, f"Ignoring duplicate entity {_render(pairs)}")
    seen.add(entity)
    return entity


def _render(pairs: list[tuple[str, str | None]]) -> str:
    # Kafka's ClientQuotaEntity.toString: the map of types to names.
    return "ClientQuotaEntity(entries={" + ", ".join(f"{t}={n}" for t, n in pairs) + "})"
