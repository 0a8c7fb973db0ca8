"""AlterUserScramCredentials (key 51): version 0 only, flexible (KIP-554).

Version notes:
* v0: deletions (user, mechanism) and upsertions (user, mechanism, iterations, salt and the
  salted password, never the password itself); one result per user
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 51

ScramCredentialDeletion = struct(
    "ScramCredentialDeletion",
    field("name", "string", "0+"),
    field("mechanism", "int8", "0+"),
)

ScramCredentialUpsertion = struct(
    "ScramCredentialUpsertion",
    field("name", "string", "0+"),
    field("mechanism", "int8", "0+"),
    field("iterations", "int32", "0+"),
    field("salt", "bytes", "0+"),
    field("salted_password", "bytes", "0+"),
)

AlterUserScramCredentialsRequest = message(
    "AlterUserScramCredentialsRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("deletions", array(ScramCredentialDeletion), "0+"),
        field("upsertions", array(ScramCredentialUpsertion), "0+"),
    ],
)

AlterUserScramCredentialsResult = struct(
    "AlterUserScramCredentialsResult",
    field("user", "string", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
)

AlterUserScramCredentialsResponse = message(
    "AlterUserScramCredentialsResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("results", array(AlterUserScramCredentialsResult), "0+"),
    ],
)
