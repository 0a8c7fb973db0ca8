"""AlterClientQuotas (key 49): versions 0-1, flexible from 1 (KIP-546): set or remove quota
values of user / client-id entities, optionally only validating."""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 49

EntityData = struct(
    "EntityData",
    field("entity_type", "string", "0+"),
    field("entity_name", "string", "0+", nullable="0+"),
)

OpData = struct(
    "OpData",
    field("key", "string", "0+"),
    field("value", "float64", "0+"),
    field("remove", "bool", "0+"),
)

EntryData = struct(
    "EntryData",
    field("entity", array(EntityData), "0+"),
    field("ops", array(OpData), "0+"),
)

AlterClientQuotasRequest = message(
    "AlterClientQuotasRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
    fields=[
        field("entries", array(EntryData), "0+"),
        field("validate_only", "bool", "0+"),
    ],
)

EntryResponse = struct(
    "EntryData",
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("entity", array(EntityData), "0+"),
)

AlterClientQuotasResponse = message(
    "AlterClientQuotasResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="1+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("entries", array(EntryResponse), "0+"),
    ],
)
