"""A lead's engine state between events, and the rules that decide what a stored lead
keeps after the engine ran: a sales-owned stage stays, new engagement ends a cold spell.

Pure, like the rest of the engine: plain values in, plain values out, no ORM, no clock.
Every writer of scores (ingest, one-lead replay, recalculation) calls these, so the rules
exist once."""

from __future__ import annotations

from datetime import date, datetime

from leads.engine import scoring


def memory_encode(video_max_percent: dict, cap_day: date | None, cap_counts: dict, tallies: dict) -> dict:
    """The incremental path's memory (video progress, today's caps, stage tallies) as JSON."""
    return {
        "video_max_percent": video_max_percent,
        "cap_day": cap_day.isoformat() if cap_day else None,
        "cap_counts": {str(k): v for k, v in cap_counts.items()},
        "tallies": {str(k): v for k, v in tallies.items()},
    }


def lead_state(
    *, sales: scoring.ScoreState, products: dict[str, scoring.ScoreState], stage: int, memory: dict | None
) -> scoring.LeadState:
    """The engine state of a stored lead: its scores, stage and encoded memory."""
    memory = memory or {}
    return scoring.LeadState(
        sales=sales,
        products=products,
        stage=stage,
        video_max_percent=dict(memory.get("video_max_percent", {})),
        cap_day=date.fromisoformat(memory["cap_day"]) if memory.get("cap_day") else None,
        cap_counts={int(k): v for k, v in memory.get("cap_counts", {}).items()},
        tallies={int(k): v for k, v in memory.get("tallies", {}).items()},
    )


def state_memory(state: scoring.LeadState) -> dict:
    return memory_encode(state.video_max_percent, state.cap_day, state.cap_counts, state.tallies)


def settle(state: scoring.LeadState, now: datetime, spec: scoring.ModelSpec) -> None:
    """Advance every score to `now`, then date the state at the last instant anything
    changed (latest event or decay tick). Scores are flat between ticks, so this is the
    same state, and fewer late events need a replay."""
    last_event_at = state.sales.scored_at  # read before advancing moves it to `now`
    scoring.advance_lead(state, now, spec)
    instants = [last_event_at, scoring.last_tick_at_or_before(state.sales, now, spec.decay)]
    for product in state.products.values():
        instants.append(scoring.last_tick_at_or_before(product, now, spec.decay))
    effective = max((i for i in instants if i is not None and i <= now), default=None)
    if effective is None:
        return
    # No tick of any score falls in (effective, now], so every score is valid at `effective`.
    state.sales.scored_at = effective
    for product in state.products.values():
        product.scored_at = effective


def stage_after_replay(stored_stage: int, replayed_stage: int) -> int:
    """The stage a lead holds after a replay: reps and CRMs own the sales stages (§5), so a
    replay never moves a lead out of Opportunity, Customer or Disqualified."""
    return stored_stage if stored_stage in scoring.SALES_OWNED_STAGES else replayed_stage


def cold_after_engagement(*, engaged_again: bool, is_cold: bool, cold_since):
    """(is_cold, cold_since) once the engine ran: new engagement ends a cold spell (§6)."""
    if engaged_again and is_cold:
        return False, None
    return is_cold, cold_since
