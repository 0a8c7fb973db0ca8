"""BROKER_LOGGER resources: the levels of kafkalite's loggers under Kafka's level names.

DescribeConfigs lists the root logger (``root``) and every ``kafkalite`` logger with its
effective level (source DYNAMIC_BROKER_LOGGER_CONFIG, not read-only, no synonyms), as Kafka
lists its log4j loggers. IncrementalAlterConfigs SET gives a logger a level; DELETE removes its
own level, so that it follows its parents again (the root's, unless ``kafkalite`` has one);
the root's level cannot be removed. Kafka's levels map onto Python's: TRACE (5, below DEBUG),
DEBUG, INFO, WARN (WARNING), ERROR, FATAL (CRITICAL). Like Kafka, the levels are not kept
across a restart.
"""

from __future__ import annotations

import logging

from kafkalite.broker.topic_configs import AlterOp, ConfigEntry, ConfigSource, ConfigType
from kafkalite.wire.error_codes import ErrorCode

ROOT_LOGGER = "root"
TRACE = 5

LEVELS: dict[str, int] = {
    "TRACE": TRACE,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}
_VALID = ", ".join(sorted(LEVELS))


class LoggerChangeRefused(Exception):
    """A BROKER_LOGGER change Kafka refuses, with its error code and message."""

    def __init__(self, message: str, code: ErrorCode) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _logger(name: str) -> logging.Logger | None:
    if name == ROOT_LOGGER:
        return logging.getLogger()
    if name != "kafkalite" and not name.startswith("kafkalite."):
        return None
    existing = logging.Logger.manager.loggerDict.get(name)
    return existing if isinstance(existing, logging.Logger) else None


def logger_names() -> list[str]:
    """``root`` and kafkalite's loggers, sorted."""
    names = [
        name
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and (name == "kafkalite" or name.startswith("kafkalite."))
    ]
    return [ROOT_LOGGER, *sorted(names)]


def level_name(level: int) -> str:
    """Kafka's name of a Python level: the highest Kafka level at or below it."""
    found = "TRACE"
    for name, number in sorted(LEVELS.items(), key=lambda item: item[1]):
        if number <= level:
            found = name
    return found


def describe_loggers() -> list[ConfigEntry]:
    """One row per logger, its effective level by Kafka's name."""
    entries = []
    for name in logger_names():
        logger = _logger(name)
        assert logger is not None
        entries.append(
            ConfigEntry(
                name=name,
                value=level_name(logger.getEffectiveLevel()),
                source=ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG,
                type=ConfigType.UNKNOWN,
            )
        )
    return entries


def validate_logger_ops(ops: list[tuple[str, int, str | None]]) -> None:
    """Check IncrementalAlterConfigs *ops* (logger, operation, level) as Kafka's
    RuntimeLoggerManager does.

    Raises:
        LoggerChangeRefused: an unknown logger or level (INVALID_CONFIG); DELETE of the root's
            level, APPEND, SUBTRACT or an unknown operation (INVALID_REQUEST).
    """
    for name, op, value in ops:
        if op == AlterOp.SET:
            if _logger(name) is None:
                raise LoggerChangeRefused(f"Logger {name} does not exist!", ErrorCode.INVALID_CONFIG)
            if value not in LEVELS:
                raise LoggerChangeRefused(
                    f"Cannot set the log level of {name} to {value} as it is not a supported log level. "
                    f"Valid log levels are {_VALID}",
                    ErrorCode.INVALID_CONFIG,
                )
        elif op == AlterOp.DELETE:
            if _logger(name) is None:
                raise LoggerChangeRefused(f"Logger {name} does not exist!", ErrorCode.INVALID_CONFIG)
            if name == ROOT_LOGGER:
                raise LoggerChangeRefused(
                    f"Removing the log level of the {ROOT_LOGGER} logger is not allowed", ErrorCode.INVALID_REQUEST
                )
        elif op in (AlterOp.APPEND, AlterOp.SUBTRACT):
            raise LoggerChangeRefused(
                f"{AlterOp(op).name} operation is not allowed for the BROKER_LOGGER resource",
                ErrorCode.INVALID_REQUEST,
            )
        else:
            raise LoggerChangeRefused(
                f"Unknown operation type {op} is not allowed for the BROKER_LOGGER resource",
                ErrorCode.INVALID_REQUEST,
            )


def apply_logger_ops(ops: list[tuple[str, int, str | None]]) -> None:
    """Apply *ops* already checked by `validate_logger_ops`."""
    log = logging.getLogger("kafkalite.broker")
    for name, op, value in ops:
        logger = _logger(name)
        assert logger is not None
        if op == AlterOp.SET:
            assert value is not None
            logger.setLevel(LEVELS[value])
            log.warning("Updated the log level of %s to %s", name, value)
        else:
            logger.setLevel(logging.NOTSET)
            log.warning("Unset the log level of %s", name)
