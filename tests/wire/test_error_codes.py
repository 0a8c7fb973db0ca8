"""ErrorCode: every Kafka error code, checked against kio's independent table."""

from __future__ import annotations

import enum

import pytest
from kio.schema.errors import ErrorCode as KioErrorCode

from kafkalite.wire.error_codes import ErrorCode


def test_is_an_int_enum_usable_as_int16():
    assert issubclass(ErrorCode, enum.IntEnum)
    assert all(-(2**15) <= code < 2**15 for code in ErrorCode)
    assert ErrorCode.NOT_COORDINATOR == 16


@pytest.mark.parametrize("kio_code", list(KioErrorCode), ids=lambda c: c.name)
def test_every_kio_code_present_with_same_number_and_name(kio_code):
    ours = ErrorCode(int(kio_code))
    assert ours.name == kio_code.name.upper()


@pytest.mark.parametrize("kio_code", list(KioErrorCode), ids=lambda c: c.name)
def test_retriable_agrees_with_kio(kio_code):
    assert ErrorCode(int(kio_code)).retriable is kio_code.retriable


def test_codes_are_contiguous_from_minus_one_to_newest():
    values = sorted(int(code) for code in ErrorCode)
    assert values == list(range(-1, values[-1] + 1))
    assert values[-1] >= 133  # SHARE_SESSION_LIMIT_REACHED, Kafka 4.1


def test_no_aliases():
    assert len(ErrorCode.__members__) == len(list(ErrorCode))


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.name)
def test_each_code_has_one_line_description_and_bool_retriable(code):
    assert isinstance(code.description, str)
    assert code.description and "\n" not in code.description
    assert code.description.endswith(".")
    assert isinstance(code.retriable, bool)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (-1, "UNKNOWN_SERVER_ERROR"),
        (0, "NONE"),
        (1, "OFFSET_OUT_OF_RANGE"),
        (2, "CORRUPT_MESSAGE"),
        (3, "UNKNOWN_TOPIC_OR_PARTITION"),
        (6, "NOT_LEADER_OR_FOLLOWER"),
        (35, "UNSUPPORTED_VERSION"),
        (45, "OUT_OF_ORDER_SEQUENCE_NUMBER"),
        (76, "UNSUPPORTED_COMPRESSION_TYPE"),
        (79, "MEMBER_ID_REQUIRED"),
        (87, "INVALID_RECORD"),
        (90, "PRODUCER_FENCED"),
        (100, "UNKNOWN_TOPIC_ID"),
    ],
)
def test_codes_from_protocol_notes(code, name):
    assert ErrorCode[name] == code


def test_retriable_examples():
    assert ErrorCode.NOT_LEADER_OR_FOLLOWER.retriable
    assert ErrorCode.COORDINATOR_LOAD_IN_PROGRESS.retriable
    assert not ErrorCode.UNKNOWN_SERVER_ERROR.retriable
    assert not ErrorCode.REBALANCE_IN_PROGRESS.retriable
    assert not ErrorCode.NONE.retriable
