"""Session-state and widget keys 会话键 (STYLE §6): every key the app uses, named once, page-prefixed.

The frame's own keys sit at the top of `Keys`; each page has a nested class with its keys. The VALUES
are what Streamlit stores and what the browser tests find in the DOM (`.st-key-<value>`), so they
never change when a name moves. Keys built at run time (one widget per row, per kind) go through
`Keys.row(base, *parts)`; the table and download widgets derive theirs with `table`/`csv`/`xlsx`.
"""
from __future__ import annotations


def _join(*parts) -> str:
    return "_".join(str(p) for p in parts)


class Keys:
    """Every session-state key and widget key of `app.py`, `pages/` and `lib/ui`, in one place."""

    # --- the frame: login, language, sidebar ------------------------------------------------------
    SESSION = "auth_session"  # the server-side session's token (lib.auth.check_session); nothing else of the login
    DEEP_LINK = "deep_link_page"
    APP_SEEN = "app_seen"  # app.py has run in this session (its navigation is in charge)
    LOGIN_FORM = "login_form"
    LOGIN_NAME = "login_name"
    LOGIN_PASSWORD = "login_password"
    LOGIN_NOTICE = "login_notice"
    SETUP_FORM = "setup_form"
    SETUP_TOKEN = "setup_token"
    SETUP_PROVINCE_CODE = "setup_province_code"
    SETUP_PROVINCE_NAME = "setup_province_name"
    CHANGE_FORM = "pw_change_form"  # first login with a one-time password 初始密码
    CHANGE_OLD = "pw_change_old"
    CHANGE_NEW = "pw_change_new"
    CHANGE_REPEAT = "pw_change_repeat"
    LOGOUT_PENDING = "pw_change_logout"
    SETUP_LOGIN = "setup_login"
    SETUP_NAME = "setup_display_name"
    SETUP_PASSWORD = "setup_password"
    LANG = "sidebar_lang"  # the session's language; survives the move from login page to app
    LANG_WIDGET = "{place}_lang_widget"  # the 中文/English switch, one per place ("login", "sidebar")
    LOGOUT = "sidebar_logout"
    MONTH = "sidebar_month"
    SCOPE_LEVEL = "sidebar_scope_{depth}"  # one selectbox per level below the user's root unit

    # --- keys built at run time -------------------------------------------------------------------
    @staticmethod
    def row(base: str, *parts) -> str:
        """A key for one of several widgets of a kind: `row("admin_active", 7)` → "admin_active_7"."""
        return _join(base, *parts)

    @staticmethod
    def table(base: str) -> str:
        """The dataframe of a table widget (`lib.ui.tables`) whose key is `base`."""
        return _join(base, "table")

    @staticmethod
    def csv(base: str) -> str:
        """The CSV download button of a table widget."""
        return _join(base, "csv")

    @staticmethod
    def xlsx(base: str) -> str:
        """The Excel download button of a table widget."""
        return _join(base, "xlsx")

    @staticmethod
    def download(base: str) -> str:
        """The download buttons beside a table a page shows itself."""
        return _join(base, "dl")

    # --- pages ------------------------------------------------------------------------------------
    class Admin:
        """pages/admin_users.py 用户管理."""

        USERS = "admin_users_table"
        AUDIT = "admin_audit_table"
        CREATE_FORM = "admin_create_form"
        NEW_LOGIN = "admin_new_login"
        NEW_NAME = "admin_new_name"
        NEW_ROLE = "admin_new_role"
        NEW_UNIT = "admin_new_unit"
        NEW_MANAGER = "admin_new_manager"
        NEW_PASSWORD = "admin_new_password"
        ONE_TIME = "admin_one_time"  # (login, one-time password) of the user just created, shown once
        ONE_TIME_DOWNLOAD = "admin_one_time_dl"
        EDIT_USER = "admin_edit_user"
        ACTIVE = "admin_active"  # + user id
        RESET_FORM = "admin_reset_form"
        RESET_PASSWORD = "admin_reset_pw"
        ROLE_FORM = "admin_role_form"
        ROLE_ROLE = "admin_role_role"
        ROLE_UNIT = "admin_role_unit"
        ROLE_MANAGER = "admin_role_manager"
        EXPORT = "admin_export"  # the users in the users import's format (csv/xlsx derive from it)
        LOCKS = "admin_locks_table"  # issue 14: source addresses backing off, recent attempts, unlock
        ATTEMPTS = "admin_attempts_table"
        UNLOCK_PICK = "admin_unlock_pick"
        UNLOCK = "admin_unlock"

    class Audit:
        """pages/audit.py 审计日志."""

        FILTER_FORM = "audit_filter_form"
        ACTOR = "audit_actor"
        ENTITY = "audit_entity"
        ACTION = "audit_action"
        DAYS = "audit_days"
        ENTITY_ID = "audit_entity_id"
        LOG = "audit"  # table widget

    class Churn:
        """pages/churn.py 跟踪与流失."""

        FLASH = "churn_flash"
        KIND = "churn_kind"
        TAB = "churn_tab"
        WARNINGS = "churn_warn"
        TASK_FORM = "churn_task_form"
        TASK_CUSTOMER = "churn_task_customer"
        TASK_DUE = "churn_task_due"
        TASK_NOTE = "churn_task_note"
        TASK_SUBMIT = "churn_task_submit"
        TRACKING = "churn_track"
        BY_REASON = "churn_r"
        BY_COMPETITOR = "churn_c"
        LOST = "churn_lost"
        GRADE_COUNTS = "churn_grades"
        GRADES = "churn_grade"
        TASKS = "churn_tasks"
        CLOSE_FORM = "churn_close_form"
        CLOSE_TASK = "churn_close_task"
        CLOSE_OUTCOME = "churn_close_outcome"
        CLOSE_WON = "churn_close_won"
        CLOSE_ON = "churn_close_on"
        CLOSE_SUBMIT = "churn_close_submit"
        HINT = "churn_hint"

    class CustomerMap:
        """pages/customer_map.py 客户地图."""

        STATION = "customer_map_station"
        RADII = "customer_map_radii"
        BACKGROUND = "customer_map_background"
        MAP = "customer_map_map"
        RINGS = "customer_map_rings"
        POTENTIAL = "customer_map_potential"

    class Customers:
        """pages/customers.py 客户档案."""

        SEARCH_FORM = "cust_search_form"
        Q_NAME = "cust_q_name"
        Q_MODE = "cust_q_mode"
        Q_CODE = "cust_q_code"
        Q_PHONE = "cust_q_phone"
        Q_TIER = "cust_q_tier"
        Q_KIND = "cust_q_kind"
        Q_STATUS = "cust_q_status"
        Q_GRID = "cust_q_grid"
        Q_MANAGER = "cust_q_manager"
        PAGES = "cust_pages"  # the keyset cursors of the result pages seen so far
        SCOPE = "cust_scope"  # the scope those pages belong to
        TOTAL = "cust_total"
        TABLE = "cust_table"
        PREV = "cust_prev"
        NEXT = "cust_next"
        DOWNLOAD = "cust_dl"
        PICK = "cust_pick"
        SELECTED = "cust_selected"
        CHART = "cust_chart"
        CASE = "cust_case"  # base of the development panel's keys (lib.ui.cases), + customer id
        CASE_FLASH = "cust_case_flash"
        VISITS = "cust_visits"  # table widgets
        MATTERS = "cust_matters"
        NEW_FORM = "cust_new_form"
        NEW = "cust_new"  # prefix of the new-customer form's fields
        NEW_CONFIRM = "cust_new_confirm"
        EDIT_FORM = "cust_edit_form"
        EDIT = "cust_edit"  # + customer id: prefix of the edit form's fields
        EDIT_CONFIRM = "cust_edit_confirm"  # + customer id
        NEW_MAP = "cust_new_map"  # the pick-a-location map of the new-customer form
        EDIT_MAP = "cust_edit_map"  # + customer id
        # a form field's key is "<prefix>_<suffix>"; the suffix is the column unless named here
        FIELD_SUFFIX = {"credit_code": "cc", "sub_type": "sub", "station_id": "station", "grid_id": "grid",
                        "manager_id": "manager", "agreement": "agr", "province_procurement": "pp",
                        "lost_month": "lost", "lost_reason": "lreason"}

        @classmethod
        def field(cls, prefix: str, column: str, *parts) -> str:
            """The key of the customer form field for `column` (`field("cust_new", "credit_code")`)."""
            return _join(prefix, cls.FIELD_SUFFIX.get(column, column), *parts)

        @staticmethod
        def duplicates(confirm_key: str) -> str:
            """The table of possible duplicates shown with the "save anyway" box `confirm_key`."""
            return _join(confirm_key, "dups")

    class FourRates:
        """pages/four_rates.py 四率."""

        RATE = "fr_rate"
        STATION_CHART = "fr_station_chart"
        STATIONS = "fr_stations"
        LEVEL = "fr_level"
        UNITS = "fr_units"
        TREND_CHART = "fr_trend_chart"
        TREND = "fr_trend"
        MIX_CHART = "fr_mix_chart"
        MIX = "fr_mix"
        TARGETS = "fr_targets"  # the editor of the stations' four-rate targets (issue 13)
        TARGETS_SAVE = "fr_targets_save"
        TARGETS_EXPORT = "fr_targets_export"  # the rate targets in the import's format

    class GridEdit:
        """pages/grid_edit.py 网格编辑."""

        DISTRICT = "grid_edit_district"
        GRID = "grid_edit_grid"
        NEIGHBOUR = "grid_edit_neighbour"
        BACKGROUND = "grid_edit_background"
        UPLOAD = "grid_edit_upload"
        STATE = "grid_edit_state"  # the proposal, its check report and the saved count
        MAP = "grid_edit_map"
        CHECK = "grid_edit_check"
        SAVE = "grid_edit_save"
        RESET = "grid_edit_reset"
        HISTORY = "grid_edit_history"

    class GridMap:
        """pages/grid_map.py 网格地图."""

        MEASURE = "grid_map_measure"
        BACKGROUND = "grid_map_background"
        LAYERS = "grid_map_layers"
        MAP = "grid_map_map"
        SELECTED = "grid_map_selected"  # the code of the grid clicked last
        TREND = "grid_map_trend"
        CUSTOMERS = "grid_map_customers"
        CARD_HTML = "grid_map_card_html"
        CARD_SVG = "grid_map_card_svg"
        PARTITION_SUMMARY = "grid_map_partition_summary"
        PARTITION_PROBLEMS = "grid_map_partition_problems"
        MEMBERSHIP_SCOPE = "grid_map_membership_scope"  # the scope whose membership check was asked for
        MEMBERSHIP = "grid_map_membership"
        MEMBERSHIP_RUN = "grid_map_membership_run"
        NO_OWNER = "grid_map_no_owner"

    class Imports:
        """pages/imports.py 数据导入."""

        KIND = "imp_kind"
        TEMPLATE_GEOJSON = "imp_tpl_geojson"
        TEMPLATE_CSV = "imp_tpl_csv"  # + kind
        TEMPLATE_XLSX = "imp_tpl_xlsx"  # + kind
        FILE = "imp_file"  # + kind
        CHECK = "imp_check"
        REPORT = "imp_report"  # (file identity, ImportReport) of the last check or import
        PREVIEW = "imp_preview"
        COMMIT = "imp_commit"
        ERRORS = "imp_errors"
        ERRORS_DOWNLOAD = "imp_errors_dl"
        SECRETS = "imp_secrets"  # one-time passwords of a users import, shown once
        SECRETS_DOWNLOAD = "imp_secrets_dl"
        EXPORT = "imp_export"  # + kind: the current data in the import format (csv/xlsx derive from it)
        RECENT = "imp_recent"  # recent imports table (issue 14)
        REVERT = "imp_revert"  # + batch id: the revert button of one import
        REVERT_ASK = "imp_revert_ask"  # the batch id whose revert waits for confirmation
        REVERT_YES = "imp_revert_yes"
        REVERT_NO = "imp_revert_no"
        REVERT_RESULT = "imp_revert_result"  # the last RevertReport, shown once
        CONFLICTS = "imp_conflicts"

    class Managers:
        """pages/managers.py 客户经理."""

        RANKING = "mgr_rank"  # table widgets
        ROSTER = "mgr_roster"
        MAP_PICK = "mgr_map_pick"
        MAP = "mgr_map"
        CUSTOMERS = "mgr_customers"
        RATE_YEAR = "mgr_rate_year"
        RATE_BUTTON = "mgr_rate_button"
        RATE_RESULT = "mgr_rate_result"
        PLAN_FORM = "mgr_plan_form"
        PLAN_WHO = "mgr_plan_who"
        PLAN_TARGET = "mgr_plan_target"
        EDIT_PICK = "mgr_edit_pick"  # the one-manager form 客户经理档案 (issue 13)
        EDIT_FORM = "mgr_edit_form"  # + the manager's code, or "new"
        EDIT_CODE = "mgr_edit_code"
        EDIT_NAME = "mgr_edit_name"
        EDIT_PHONE = "mgr_edit_phone"
        EDIT_STATION = "mgr_edit_station"
        EDIT_HIRED = "mgr_edit_hired"
        EDIT_LEVEL = "mgr_edit_level"
        EXPORT = "mgr_export"  # the managers in the managers import's format
        CONFIRM_WHO = "mgr_confirm_who"  # trainee confirmation 见习经理转正 (issue 15, 003)
        CONFIRM_BUTTON = "mgr_confirm_button"
        CONFIRM_FLASH = "mgr_confirm_flash"  # the confirmation's message, shown after the rerun

    class Matters:
        """pages/matters.py 事项."""

        WAITING = "matter_wait"
        OVERDUE = "matter_late"
        ALL = "matter_all"
        ESCALATE = "matter_escalate"
        STATE_FILTER = "matter_state_filter"
        NEW_FORM = "matter_new_form"
        NEW_KIND = "matter_new_kind"
        NEW_TITLE = "matter_new_title"
        NEW_CODE = "matter_new_code"
        NEW_DESCRIPTION = "matter_new_desc"
        PICK = "matter_pick"
        HISTORY = "matter_history"  # table widget
        ACT_FORM = "matter_act_form"
        ACT_ACTION = "matter_act_action"
        ACT_NOTE = "matter_act_note"

    class Overview:
        """pages/overview.py 总览."""

        TIER_KIND_CHART = "overview_tier_kind_chart"
        TREND_CHART = "overview_trend_chart"

    class Plan:
        """pages/plan.py 开发计划."""

        FLASH = "plan_flash"
        LEVEL = "plan_level"
        CARD_CHART = "plan_card_chart"
        INST_CHART = "plan_inst_chart"
        ROLLUP = "plan_roll"
        ROWS = "plan_rows"
        EDIT_FORM = "plan_edit_form"
        EDIT_UNIT = "plan_edit_unit"
        EDIT_TARGET = "plan_edit_target"
        EDIT_SUBMIT = "plan_edit_submit"
        FUNNEL = "plan_funnel"
        PIPELINE = "plan_pipe"
        GRID_KIND = "plan_grid_kind"  # targets in bulk, unit × month (issue 13)
        GRID_YEAR = "plan_grid_year"
        GRID = "plan_grid"  # + plan kind + year
        GRID_SAVE = "plan_grid_save"
        TARGETS_EXPORT = "plan_targets_export"  # the targets in the targets import's format
        CASES = "plan_cases"  # development cases 客户开发 (002 §6.5.4)
        CASE = "plan"  # base of the case forms' keys (lib.ui.cases: "plan_open_form", "plan_move_stage", …)
        TARGETS = "plan_targets"  # open targets 待摘牌目标 (002 §6.5.4.6)

    class Presentation:
        """pages/presentation.py 会议模式 and its briefing downloads."""

        INDEX = "present_index"
        PLAYING = "present_playing"
        SHOWN_AT = "present_shown_at"
        PREV = "present_prev"
        NEXT = "present_next"
        TOGGLE = "present_toggle"
        INTERVAL = "present_interval"
        CHART = "present_chart"  # + slide index
        FILE = "present_file"  # + "pptx" / "pdf": the built briefing
        BUILD = "present_build"  # + kind
        DOWNLOAD = "present_dl"  # + kind

    class Reports:
        """pages/reports.py 月度报表."""

        CONTENTS = "pack_contents"
        BUILD = "pack_build"
        FILE = "pack_file"  # (scope, month, workbook bytes)
        DOWNLOAD = "pack_download"
        CLOSE = "month_close"  # close (or reopen) the report month 关账 (lib.months)
        CLOSE_ASK = "month_close_ask"  # (action, month) waiting for confirmation
        CLOSE_YES = "month_close_yes"
        CLOSE_NO = "month_close_no"
        CLOSE_RESULT = "month_close_result"  # (action, months) of the last close or reopen, shown once

    class Tiers:
        """pages/tiers.py 客户分级."""

        FLASH = "tiers_flash"
        TAB = "tiers_tab"
        DIMENSION = "tiers_dimension"
        DIST_CHART = "tiers_dist_chart"
        OWNERS = "tiers_owners"
        MONTH_FROM = "tiers_from"
        MIGRATION_ALL = "tiers_migration_all"
        SANKEY = "tiers_sankey"
        CANDIDATES = "tiers_cand"
        OVERRIDES = "tiers_over"
        OVERRIDE_FORM = "tiers_override_form"
        OVERRIDE_CODE = "tiers_override_code"
        OVERRIDE_TIER = "tiers_override_tier"
        OVERRIDE_REASON = "tiers_override_reason"
        OVERRIDE_MONTH = "tiers_override_month"  # the month the change takes effect from (lib.tier_history)
        OVERRIDE_SUBMIT = "tiers_override_submit"
        LOAD = "tiers_load"

    class Visits:
        """pages/visits.py 维护回访."""

        OWNERS = "visit_owner"  # table widgets (lib.ui.tables): <base>_table, _csv, _xlsx
        PLANS = "visit_plan"
        DUE = "visit_due"
        DONE_FORM = "visit_done_form"
        DONE_PLAN = "visit_done_plan"
        DONE_MODE = "visit_done_mode"
        DONE_ON = "visit_done_on"
        DONE_NOTE = "visit_done_note"
        NEW_FORM = "visit_new_form"
        NEW_CODE = "visit_new_code"
        NEW_WHAT = "visit_new_what"
        NEW_MODE = "visit_new_mode"
        NEW_DAY = "visit_new_day"
        NEW_NOTE = "visit_new_note"
        LOG_DAY = "visit_log_day"
        LOG = "visit_log"
        LOG_FORM = "visit_log_form"
        LOG_CONTENT = "visit_log_content"
        WEEK_DAY = "visit_week_day"
        WEEK_BY = "visit_week_by"
        WEEK = "visit_week"
        MONTH = "visit_month"
        PLANS_IMPORT = "visit_plan_import"  # the month's visits in the import format (csv/xlsx derive)

    class Checklist:
        """pages/checklist.py 数据完整性 / 设置清单 (and its short version on the overview)."""

        OPEN_ONLY = "checklist_open_only"

    class Stations:
        """pages/stations.py 加油站."""

        LIST = "stn_list"  # table widgets: <base>_table, _csv, _xlsx
        PICK = "stn_pick"
        FORM = "stn_form"
        FIELD = "stn_field"  # one per field and station: row(FIELD, station, key)
        SAVE = "stn_save"
        COMPETITORS = "stn_comp"
        COMP_PICK = "stn_comp_pick"
        COMP_FORM = "stn_comp_form"
        COMP_FIELD = "stn_comp_field"
        COMP_SAVE = "stn_comp_save"
        SALES_STATION = "stn_sales_station"
        SALES_FORM = "stn_sales_form"
        SALES_MONTH = "stn_sales_month"
        SALES_GASOLINE = "stn_sales_gasoline"
        SALES_DIESEL = "stn_sales_diesel"
        SALES_SAVE = "stn_sales_save"
        SALES = "stn_sales"
        FLASH = "stn_flash"

    class Setup:
        """pages/setup.py 组织设置."""

        FLASH = "orgset_flash"  # the counts of the last setup from the map
        PROVINCE = "orgset_province"
        CITIES = "orgset_cities"  # + province code: the cities to set up
        TABLE = "orgset_table"  # the editable table of cities and districts
        MAP = "orgset_map"
        CREATE = "orgset_create"
        UNITS = "orgset_units"
        UNIT = "orgset_unit"
        EDIT_FORM = "orgset_edit_form"
        NAME = "orgset_name"
        MANAGER = "orgset_manager"
        PHONE = "orgset_phone"
        SAVE = "orgset_save"
        BOUNDARY_FILE = "orgset_boundary_file"
        BOUNDARY_SAVE = "orgset_boundary_save"
        FROM_MAP = "orgset_from_map"  # the expander with the map setup once units exist
        DOWNLOAD = "orgset_download"
        EXPORT = "orgset_export"  # the units as the org_units import's CSV/xlsx

    class Surveys:
        """pages/surveys.py 客户调查 (002 §6.5.1–6.5.2)."""

        FLASH = "survey_flash"
        DISTRICTS = "survey_districts"  # table widgets (lib.ui.tables)
        STATIONS = "survey_stations"
        LIST = "survey_list"  # appendix 2 附录2
        RECORDED = "survey_recorded"
        EXPORT = "survey_export"  # the recorded surveys in the surveys import's format
        P_FORM = "survey_p_form"  # the potential customer survey 潜在客户调查表
        P_STATION = "survey_p_station"
        P_PERIOD = "survey_p_period"
        P_DAY = "survey_p_day"
        P_FOUND = "survey_p_found"
        P_NOTE = "survey_p_note"
        P_OBJECT = "survey_p_obj"  # + object type
        P_SUBMIT = "survey_p_submit"
        S_FORM = "survey_s_form"  # a special survey 专项调查
        S_UNIT = "survey_s_unit"
        S_TOPIC = "survey_s_topic"
        S_GROUP = "survey_s_group"
        S_START = "survey_s_start"
        S_END = "survey_s_end"
        S_FOUND = "survey_s_found"
        S_NOTE = "survey_s_note"
        S_OBJECT = "survey_s_obj"  # + object type
        S_SUBMIT = "survey_s_submit"


def all_keys() -> dict[str, str]:
    """Every constant key as {"Class.NAME": value} (tests check they are unique)."""
    out = {}
    for owner in (Keys, *(v for v in vars(Keys).values() if isinstance(v, type))):
        prefix = "" if owner is Keys else owner.__name__ + "."
        out |= {prefix + name: value for name, value in vars(owner).items()
                if name.isupper() and isinstance(value, str)}
    return out
