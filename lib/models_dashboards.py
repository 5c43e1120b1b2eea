"""Old import path of the dashboards' tables, now in lib.models (kept so branches in flight still import)."""
from lib.models.development import SURVEY_STATES, SurveySubmission  # noqa: F401
from lib.models.summary import CustomerMonthly  # noqa: F401
from lib.models.tracking import TASK_STATES, WARNING_REASONS, WinBackTask  # noqa: F401
