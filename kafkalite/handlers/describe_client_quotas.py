# DescribeClientQuotas: v0-1
#
# Version notes:
# * v0: the quotas of the user / client-id / ip entities matching a filter (KIP-546)
# * v1: flexible versions
#
# A malformed filter answers INVALID_REQUEST, an unknown entity type UNSUPPORTED_VERSION, with
# Kafka's messages and no entries (null), as Kafka's ClientQuotasImage does.
"""DescribeClientQuotas: the client quotas matching a filter."""

from __future__ import annotations

from kafkalite.broker.quotas import QuotaError
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.describe_client_quotas import (
    DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
    EntityData,
    EntryData,
    ValueData,
)


@handles(ApiKey.DESCRIBE_CLIENT_QUOTAS, min_version=0, max_version=1)
async def describe_client_quotas(
    ctx: RequestContext, req: DescribeClientQuotasRequest
) -> DescribeClientQuotasResponse:
    components = [(c.entity_type, c.match_type, c.match) for c in req.components]
    try:
        found = ctx.broker.quotas.describe(components, req.strict)
    except QuotaError as exc:
        return DescribeClientQuotasResponse(
            throttle_time_ms=0, error_code=exc.code, error_message=exc.message, entries=None
        )
    entries = [
        EntryData(
            entity=[EntityData(entity_type=t, entity_name=n) for t, n in entity],
            values=[ValueData(key=k, value=v) for k, v in sorted(values.items())],
        )
        for entity, values in found
    ]
    return DescribeClientQuotasResponse(
        throttle_time_ms=0, error_code=ErrorCode.NONE, error_message=None, entries=entries
    )
