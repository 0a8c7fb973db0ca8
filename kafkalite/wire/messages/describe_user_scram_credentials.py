"""DescribeUserScramCredentials (key 50): version 0 only, flexible (KIP-554).

Version notes:
* v0: users (null or empty: every user with a credential); per user its mechanisms and
  iteration counts, or an error
"""

from kafkalite.wire.schema import array, field, message, struct

API_KEY = 50

UserName = struct("UserName", field("name", "string", "0+"))

DescribeUserScramCredentialsRequest = message(
    "DescribeUserScramCredentialsRequest",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[field("users", array(UserName), "0+", nullable="0+")],
)

CredentialInfo = struct(
    "CredentialInfo",
    field("mechanism", "int8", "0+"),
    field("iterations", "int32", "0+"),
)

DescribeUserScramCredentialsResult = struct(
    "DescribeUserScramCredentialsResult",
    field("user", "string", "0+"),
    field("error_code", "int16", "0+"),
    field("error_message", "string", "0+", nullable="0+"),
    field("credential_infos", array(CredentialInfo), "0+"),
)

DescribeUserScramCredentialsResponse = message(
    "DescribeUserScramCredentialsResponse",
    api_key=API_KEY,
    valid="0",
    flexible="0+",
    fields=[
        field("throttle_time_ms", "int32", "0+"),
        field("error_code", "int16", "0+"),
        field("error_message", "string", "0+", nullable="0+"),
        field("results", array(DescribeUserScramCredentialsResult), "0+"),
    ],
)
