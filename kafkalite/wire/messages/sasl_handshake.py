"""SaslHandshake (key 17): versions 0-1, never flexible.

Kafka cannot add a flexible version here: clients up to 2.4 negotiate this API's version
wrongly (KAFKA-9577).

Version notes:
* v0: the SASL tokens that follow are raw, size-prefixed frames outside the Kafka protocol
* v1: same layout; the tokens that follow travel in SaslAuthenticate requests
"""

from kafkalite.wire.schema import array, field, message

API_KEY = 17

SaslHandshakeRequest = message(
    "SaslHandshakeRequest",
    api_key=API_KEY,
    valid="0-1",
    flexible="none",
    fields=[
        field("mechanism", "string", "0+"),
    ],
)

SaslHandshakeResponse = message(
    "SaslHandshakeResponse",
    api_key=API_KEY,
    valid="0-1",
    flexible="none",
    fields=[
        field("error_code", "int16", "0+"),
        field("mechanisms", array("string"), "0+"),
    ],
)
