"""Subscriptions by regular expression (KIP-848's subscribed_topic_regex), in RE2J's terms.

Kafka compiles the pattern with RE2J (Google's RE2 for Java) and subscribes the member to
every topic whose whole name matches. kafkalite compiles with Python's ``re`` but first
refuses the constructs RE2J refuses, so a pattern Kafka answers INVALID_REGULAR_EXPRESSION
gets the same answer here: backreferences (``\\1``, ``(?P=name)``), lookahead and lookbehind
(``(?=``, ``(?!``, ``(?<=``, ``(?<!``), atomic groups ``(?>``, possessive quantifiers
(``a*+``), conditionals ``(?(1)...)``, and inline flags other than ``i m s U``. Known
differences left (the README lists them): RE2J's ``\\C``, ``\\pN`` one-letter classes and
``[[:alpha:]]`` POSIX classes are refused or read differently by Python; Python-only escapes
such as ``\\Z`` are accepted here.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Constructs RE2 does not support (it guarantees linear-time matching), outside character classes.
_UNSUPPORTED = re.compile(
    r"""\\[1-9]                # backreference
      | \(\?P=                  # named backreference
      | \(\?<?[=!]              # lookahead / lookbehind
      | \(\?>                   # atomic group
      | \(\?\(                  # conditional
      | [*+?}]\+                # possessive quantifier
    """,
    re.VERBOSE,
)
_INLINE_FLAGS = re.compile(r"\(\?([a-zA-Z-]+)[:)]")


class InvalidRegex(ValueError):
    """The pattern is not one RE2J compiles."""


def _outside_classes(pattern: str) -> str:
    """*pattern* with escaped characters and [...] classes blanked, for the checks above
    (escapes are kept as two characters so that backreferences still show)."""
    out = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append("" if in_class else pattern[i : i + 2] if pattern[i + 1] in "123456789" else "__")
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            out.append("_")
        elif c == "[":
            in_class = True
            out.append("_")
            if pattern[i + 1 : i + 2] == "]":  # a leading ] is literal
                i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_topic_regex(pattern: str) -> re.Pattern[str]:
    """Compile *pattern* as Kafka would accept it.

    Raises:
        InvalidRegex: RE2J (or Python) cannot compile it; the message says why.
    """
    bare = _outside_classes(pattern)
    found = _UNSUPPORTED.search(bare)
    if found:
        raise InvalidRegex(f"unsupported construct {found.group(0)!r} (RE2 syntax has no backtracking features)")
    for flags in _INLINE_FLAGS.findall(bare):
        if set(flags) - set("imsU-"):
            raise InvalidRegex(f"unsupported inline flags {flags!r}")
    if "U" in "".join(_INLINE_FLAGS.findall(bare)):
        # RE2's U (ungreedy) has no Python equivalent.
        raise InvalidRegex("the U flag (ungreedy) is not supported by kafkalite")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidRegex(str(exc)) from None


def matching_topics(pattern: str, topics: list[str]) -> list[str]:
    """The names of *topics* that *pattern* matches whole (it compiles: checked at subscribe)."""
    regex = compile_topic_regex(pattern)
    return [t for t in topics if regex.fullmatch(t)]
