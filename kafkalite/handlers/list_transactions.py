# ListTransactions: v0-2
#
# Version notes:
# * v0: state and producer id filters (KIP-664); flexible
# * v1: duration_filter: only transactions running longer than this (KIP-994)
# * v2: transactional_id_pattern (KIP-1152): null or empty lists every id; otherwise only ids
#       the regular expression matches as a whole (Java's Matcher.matches(), not find()), and
#       a pattern that does not compile answers INVALID_REGULAR_EXPRESSION with nothing listed
#
# Each broker lists the transactional ids it coordinates; admin clients ask every broker.
#
# Kafka compiles the pattern with RE2/J; kafkalite with Python's re, refusing what RE2/J
# refuses that re would accept: lookahead and lookbehind, backreferences, conditional groups,
# atomic groups and possessive quantifiers. RE2/J syntax that re lacks (\pL and other Unicode
# classes, \Q...\E, [[:alpha:]] POSIX classes, \z) is refused here though Kafka accepts it:
# INVALID_REGULAR_EXPRESSION rather than a filter that means something else.
"""ListTransactions: the transactional ids this broker coordinates, with their states."""

from __future__ import annotations

import re
import re._parser as re_parser
import warnings
from typing import Any

from kafkalite.broker.acls import AclOperation, ResourceType
from kafkalite.broker.authorizer import allowed
from kafkalite.broker.registry import RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.list_transactions import (
    ListTransactionsRequest,
    ListTransactionsResponse,
    TransactionState,
)

# Operators of Python's regex parser with no RE2 counterpart (RE2 promises linear-time
# matching, so it has no backtracking-only constructs).
_NOT_IN_RE2 = frozenset(
    {
        re_parser.ASSERT,
        re_parser.ASSERT_NOT,
        re_parser.GROUPREF,
        re_parser.GROUPREF_EXISTS,
        re_parser.ATOMIC_GROUP,
        re_parser.POSSESSIVE_REPEAT,
    }
)


class InvalidPattern(ValueError):
    """A transactional id pattern that Kafka's RE2/J would not compile."""


def _check_re2_subset(parsed: Any) -> None:
    for op, arg in parsed:
        if op in _NOT_IN_RE2:
            raise InvalidPattern(f"{op} is not supported by RE2")
        _walk(arg)


def _walk(arg: Any) -> None:
    if isinstance(arg, re_parser.SubPattern):
        _check_re2_subset(arg)
    elif isinstance(arg, (tuple, list)):
        for item in arg:
            _walk(item)


def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    """The compiled transactional id filter, or None (list every id) for null or "".

    Raises:
        InvalidPattern: the pattern does not compile, or uses what RE2/J lacks.
    """
    if not pattern:
        return None
    try:
        with warnings.catch_warnings():
            # re reads "[[:alpha:]]" as the set "[[:alph]" then "]" and only warns; RE2/J reads
            # a POSIX class. Refuse rather than match something else than Kafka would.
            warnings.simplefilter("error", FutureWarning)
            _check_re2_subset(re_parser.parse(pattern))
            return re.compile(pattern)
    except (re.error, FutureWarning) as exc:
        raise InvalidPattern(str(exc)) from None


@handles(ApiKey.LIST_TRANSACTIONS, min_version=0, max_version=2)
async def list_transactions(ctx: RequestContext, req: ListTransactionsRequest) -> ListTransactionsResponse:
    try:
        pattern = compile_pattern(req.transactional_id_pattern)
    except InvalidPattern:
        return ListTransactionsResponse(throttle_time_ms=0, error_code=ErrorCode.INVALID_REGULAR_EXPRESSION)
    listed = ctx.broker.transactions.list_transactions(
        req.state_filters, req.producer_id_filters, req.duration_filter, node_id=ctx.node_id
    )
    return ListTransactionsResponse(
        throttle_time_ms=0,
        error_code=listed.error,
        unknown_state_filters=list(listed.unknown_state_filters),
        transaction_states=[
            TransactionState(
                transactional_id=t.transactional_id, producer_id=t.producer_id, transaction_state=t.state.kafka_name
            )
            for t in listed.transactions
            if (pattern is None or pattern.fullmatch(t.transactional_id))
            and allowed(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, t.transactional_id)
        ],
    )
