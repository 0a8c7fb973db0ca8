# AlterUserScramCredentials: v0
#
# Version notes:
# * v0: KIP-554; the client sends the salt and the salted password, the broker keeps the
#       derived StoredKey and ServerKey
"""AlterUserScramCredentials: add, replace and delete users' SCRAM credentials (durable in
the data dir). Each user is validated as Kafka's controller does: empty name and too few
(< 4096) or too many (> 16384) iterations are UNACCEPTABLE_CREDENTIAL, an unknown mechanism
UNSUPPORTED_SASL_MECHANISM, deleting a missing credential RESOURCE_NOT_FOUND, a user altered
twice DUPLICATE_RESOURCE; the other users' changes apply. The results list the deletions,
then the upsertions, then the failures."""

from __future__ import annotations

from kafkalite.broker.credentials import MAX_ITERATIONS, MECHANISM_NAMES, MIN_ITERATIONS, CredentialStore, ScramCredential
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.storage import KafkaStorageError
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.alter_user_scram_credentials import (
    AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse,
    AlterUserScramCredentialsResult,
)

_TWICE = "A user credential cannot be altered twice in the same request"


def _check_name_and_mechanism(name: str, mechanism: int) -> tuple[ErrorCode, str] | None:
    if not name:
        return ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"
    if mechanism not in MECHANISM_NAMES:
        return ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"
    return None


@handles(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, min_version=0, max_version=0)
async def alter_user_scram_credentials(
    ctx: RequestContext, req: AlterUserScramCredentialsRequest
) -> AlterUserScramCredentialsResponse:
    store: CredentialStore = ctx.session.security.credentials if ctx.session is not None else CredentialStore()
    deletions: dict[str, int] = {}
    upsertions: dict[str, tuple[int, int, bytes, bytes]] = {}
    errors: dict[str, tuple[ErrorCode, str]] = {}
    for deletion in req.deletions:
        if deletion.name in errors:
            continue
        if deletions.pop(deletion.name, None) is not None:
            errors[deletion.name] = (ErrorCode.DUPLICATE_RESOURCE, _TWICE)
            continue
        failure = _check_name_and_mechanism(deletion.name, deletion.mechanism)
        if failure is None and store.get(deletion.name, MECHANISM_NAMES[deletion.mechanism]) is None:
            failure = (ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist")
        if failure is not None:
            errors[deletion.name] = failure
        else:
            deletions[deletion.name] = deletion.mechanism
    for upsertion in req.upsertions:
        name = upsertion.name
        if name in errors:
            continue
        if deletions.pop(name, None) is not None or upsertions.pop(name, None) is not None:
            errors[name] = (ErrorCode.DUPLICATE_RESOURCE, _TWICE)
            continue
        failure = _check_name_and_mechanism(name, upsertion.mechanism)
        if failure is None and upsertion.iterations < MIN_ITERATIONS:
            failure = (ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations")
        elif failure is None and upsertion.iterations > MAX_ITERATIONS:
            failure = (ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations")
        if failure is not None:
            errors[name] = failure
        else:
            upsertions[name] = (upsertion.mechanism, upsertion.iterations, bytes(upsertion.salt), bytes(upsertion.salted_password))
    changes = {
        (name, MECHANISM_NAMES[mechanism]): ScramCredential.from_salted(MECHANISM_NAMES[mechanism], salted, salt, iterations)
        for name, (mechanism, iterations, salt, salted) in upsertions.items()
    }
    try:
        store.apply(changes, [(name, MECHANISM_NAMES[mechanism]) for name, mechanism in deletions.items()])
    except KafkaStorageError as exc:  # nothing applied: every valid change fails with it
        for name in [*deletions, *upsertions]:
            errors[name] = (ErrorCode.KAFKA_STORAGE_ERROR, str(exc))
        deletions, upsertions = {}, {}
    results = [
        AlterUserScramCredentialsResult(user=name, error_code=0, error_message=None) for name in [*deletions, *upsertions]
    ]
    for name, (code, message) in errors.items():
        results.append(AlterUserScramCredentialsResult(user=name, error_code=code, error_message=message))
    return AlterUserScramCredentialsResponse(results=results)
