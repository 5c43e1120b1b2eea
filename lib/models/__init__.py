"""Data model 数据模型: SQLAlchemy 2.0 typed tables, portable between SQLite and PostgreSQL.

One module per area, all on `lib.models.base.Base`:

- `org`: org units 组织单元, stations 加油站, competitor stations, grids 网格, patches 包区
- `people`: customer managers 客户经理, users 用户, audit log 审计日志, login attempts and sessions 会话
- `customers`: customers 客户 and monthly consumption 月度消费
- `summary`: the summary tables 汇总表 `station_monthly`, `customer_monthly` (lib.summary), the tier
  history 等级历史 and closed months 已关账月份 they follow
- `four_rates`: daily station traffic 站点车流 and four-rate targets 四率目标
- `development`: development plans 开发计划, cases 客户开发, surveys 潜在客户调查表
- `work`: visits 维护回访, matters 事项, work logs, manager ratings and plans
- `tracking`: win-back tasks 挽回任务
- `imports`: import batches 导入批次 and their per-row changes (revert)

Importing this package registers every table on `Base.metadata` and re-exports every model, so
`from lib.models import Customer` and `lib.models.Customer` work. A new table goes into its area's
module (or a new one imported here) and into that area's migration in `alembic/versions/`.
"""
from __future__ import annotations

from lib.models.base import NAMING_CONVENTION, Base, Month, OrgPath
from lib.models.customers import Customer, MonthlyConsumption
from lib.models.development import (
    DEV_STAGES,
    SURVEY_STATES,
    Development,
    DevelopmentPlan,
    DevelopmentStage,
    SpecialSurvey,
    SurveySubmission,
)
from lib.models.four_rates import FourRateTarget, StationTraffic
from lib.models.imports import ImportBatch, ImportChange
from lib.models.org import ORG_LEVELS, CompetitorStation, Grid, OrgUnit, Patch, Station, StationSales
from lib.models.people import AuditLog, CustomerManager, LoginAttempt, User, UserSession
from lib.models.summary import CustomerMonthly, CustomerTierBefore, MonthClose, StationMonthly
from lib.models.tracking import TASK_STATES, WARNING_REASONS, WinBackTask
from lib.models.work import ManagerPlan, ManagerRating, Matter, MatterEvent, MatterFlow, Visit, WorkLog

__all__ = [
    "NAMING_CONVENTION", "Base", "Month", "OrgPath",
    "ORG_LEVELS", "OrgUnit", "Station", "StationSales", "CompetitorStation", "Grid", "Patch",
    "CustomerManager", "User", "AuditLog",
    "Customer", "MonthlyConsumption",
    "StationMonthly", "CustomerMonthly",
    "StationTraffic", "FourRateTarget",
    "DEV_STAGES", "SURVEY_STATES", "DevelopmentPlan", "Development", "SurveySubmission", "SpecialSurvey",
    "DevelopmentStage",
    "Visit", "Matter", "MatterEvent", "MatterFlow", "WorkLog", "ManagerRating", "ManagerPlan",
    "TASK_STATES", "WARNING_REASONS", "WinBackTask",
    "LoginAttempt", "UserSession",
    "ImportBatch", "ImportChange",
    "CustomerTierBefore", "MonthClose",
]
