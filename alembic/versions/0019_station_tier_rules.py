"""Station tier rules 站级客户 (issue 15, 002 §6.4.1.4): `customer.tier_rule` "station.personal" (6.4.1.4.3
个人持卡客户、其他固定客户) is kept only for personal customers paying by fuel or bank card or with loyalty
"fixed"; the other personal customers of station tier were decided by 6.4.1.4.2 (不记名卡年采购额在10万元以下
的客户), rule id "station.card" (lib.rules.tier_decision). Data only: the tier itself does not change, no
column changes. `customer_monthly.rule` follows at the next summary refresh (lib.summary).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-02
"""
import sqlalchemy as sa

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE customer SET tier_rule = 'station.card' WHERE tier_rule = 'station.personal' "
        "AND payment NOT IN ('fuel_card', 'bank_card') AND loyalty <> 'fixed'"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE customer SET tier_rule = 'station.personal' WHERE tier_rule = 'station.card'"))
