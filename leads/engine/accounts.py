"""The account score of SPEC §4: the buying group, not the head count.

Pure: members as plain values, the caller passes `as_of`. The hourly roll-up computes the
same figures in SQL (`leads.services.accounts_rollup`); tests hold the two equal."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_ENGAGEMENT_DAYS = 90
DEFAULT_MIN_ENGAGED = 2


@dataclass(frozen=True)
class Member:
    score: float
    last_engaged_at: datetime | None
    title: str = ""


@dataclass(frozen=True)
class AccountScore:
    score: float
    member_count: int
    engaged_members: int
    is_sales_ready: bool


def engaged_since(as_of: datetime, engagement_days: float) -> datetime:
    """Members whose last engagement is at or after this instant are in the buying group."""
    return as_of - timedelta(days=engagement_days)


def is_engaged(member: Member, *, as_of: datetime, engagement_days: float) -> bool:
    return member.last_engaged_at is not None and member.last_engaged_at >= engaged_since(
        as_of, engagement_days
    )


def account_score(
    members: Iterable[Member],
    *,
    as_of: datetime,
    engagement_days: float = DEFAULT_ENGAGEMENT_DAYS,
    threshold: float,
    min_engaged: int = DEFAULT_MIN_ENGAGED,
) -> AccountScore:
    """Sum of the engaged members' scores; a dormant member counts 0 whatever its score.
    Sales-ready needs the sum at or above the threshold *and* enough engaged members."""
    total, count, engaged = 0.0, 0, 0
    for member in members:
        count += 1
        if is_engaged(member, as_of=as_of, engagement_days=engagement_days):
            engaged += 1
            total += member.score
    return AccountScore(
        score=total,
        member_count=count,
        engaged_members=engaged,
        is_sales_ready=total >= threshold and engaged >= min_engaged,
    )


# --- buying roles ---------------------------------------------------------------------------


def keywords_parse(text: str) -> tuple[str, ...]:
    """ "VP, Head of , director" → ("vp", "head of", "director"): comma-separated, case-folded."""
    return tuple(dict.fromkeys(word.strip().casefold() for word in text.split(",") if word.strip()))


def buying_role(title: str, roles: Sequence[tuple[str, Sequence[str]]]) -> str | None:
    """The first role (in the order given) with a keyword found as whole words in the title.
    Whole words, so "cto" does not match "director" and "lead" does not match "leader"."""
    folded = " ".join(re.findall(r"\w+", (title or "").casefold()))
    if not folded:
        return None
    padded = f" {folded} "
    for role, keywords in roles:
        for keyword in keywords:
            phrase = " ".join(re.findall(r"\w+", keyword.casefold()))
            if phrase and f" {phrase} " in padded:
                return role
    return None
