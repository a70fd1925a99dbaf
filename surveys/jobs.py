"""RQ jobs: thin wrappers taking primitives and calling one service."""

from leads.background.jobruns import recorded
from surveys.services import invitations_deliver, submission_logs_prune


def invitations_send(survey_id=None):
    result = invitations_deliver(survey_id=survey_id)
    if result.error:
        # Failing the job makes the problem visible in the RQ admin; the rest stays pending.
        raise RuntimeError(f"Sent {result.sent} invitations, then: {result.error}")
    return result.sent


@recorded("survey invitations")
def pending_invitations_send():
    """Periodic: picks up invitations left pending while the queue or mail server was down."""
    return invitations_send(None)


@recorded("NPS housekeeping")
def nps_housekeeping():
    return submission_logs_prune()
