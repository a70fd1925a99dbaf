"""RQ entry points for CRM sync, scheduled in scoring_site/schedule.py."""

from leads.background.jobruns import recorded
from leads.crm import services


@recorded("CRM push")
def crm_push_active():
    return services.crm_push_active()


@recorded("CRM pull")
def crm_pull_active():
    return services.crm_pull_active()


@recorded("CRM push now")
def crm_push_connection(connection_id):
    return services.crm_push_connection(connection_id=connection_id)
