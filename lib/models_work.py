"""Old import path of the daily-work tables, now in lib.models.work (kept so branches in flight still import)."""
from lib.models.work import ManagerPlan, ManagerRating, MatterFlow, WorkLog  # noqa: F401
