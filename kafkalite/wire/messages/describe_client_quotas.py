"""DescribeClientQuotas (key 48): versions 0-1, flexible from 1 (KIP-546): the quotas of the
user / client-id entities that match a filter."""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 48

ComponentData = struct(
    "ComponentData",
    field("entity_type", "string", "0+"),
    field("match_type", "int8", "0+"),  # 0 exact name, 1 default entity, 2 any named entity
    field("match", "string", "0+", nullable="0+"),
)

DescribeClientQuotasRequest = message(
    "DescribeClientQuotasRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
    fields=[
        field("components", array(ComponentData), "0+"),
        field("strict", "bool", "0+"),
    ],
)

EntityData = struct(
    "EntityData",
    field("entity_type", "string", "0+"),
    field("entity_name", "string", "0+", nullable="0+"),
)

ValueData = struct(
    "ValueData",
    field("key", "string", "0+"),
    field("value", "float64", "0+"),
)

EntryData = struct(
    "EntryData",
    field("entity", array(EntityData), "0+"),
    field("values", array(ValueData), "0+"),
)

DescribeClientQuotasResponse = message(
    "DescribeClientQuotasResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("entries", array(EntryData), "0+", nullable="0+"),
    ],
)
