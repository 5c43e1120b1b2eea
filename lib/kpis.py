"""Key figures (指标): the four rates 四率 and completion ratios, one function each.

The same functions serve pages, Excel exports and slides, so a figure is computed one way only.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

# rate → (numerator key, denominator key); FOUR_RATES.md default formulas.
FOUR_RATES = {
    "entry_rate": ("entering", "passing"),  # 车辆进站率 = 进站车辆 ÷ 过往车辆
    "fill_up_rate": ("full_tank", "transactions"),  # 油箱加满率 = 加满笔数 ÷ 加油笔数
    # 顾客回头率 = 档案客户 with ≥ 2 fuelling visits 加油次数 in the month ÷ those with ≥ 1 (customers, not visits;
    # issue 15, from customer_monthly.visits: lib.queries.customer_visit_counts)
    "return_rate": ("repeat_customers", "active_customers"),
    "pass_through_rate": ("fuelled", "entering"),  # 车辆通过率 = 加油车辆 ÷ 进站车辆
}
# Shown beside the four (FOUR_RATES.md): the retention form 留存率 of the return rate (last month's
# active customers active again this month) and the traffic file's vehicle-level return rate
# 车辆回头率 (returning ÷ identified vehicles, a share of identified vehicles, not of customers).
SIDE_RATES = {
    "retention_rate": ("retained", "prev_active"),
    "vehicle_return_rate": ("returning", "identified"),
}


def _count(counts: Mapping[str, float], key: str) -> float | None:
    value = counts.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"count {key!r} must be a number, got {value!r}")
    if value < 0:
        raise ValueError(f"count {key!r} must not be negative, got {value!r}")
    return float(value)


def four_rates(counts: Mapping[str, float], table: Mapping[str, tuple[str, str]] = FOUR_RATES
               ) -> dict[str, float | None]:
    """Return the four rates 四率 as fractions from summed counts (FOUR_RATES.md).

    `counts` holds sums over days, stations and areas (ratio of sums, never a mean of ratios)
    under `passing`, `entering`, `fuelled`, `transactions`, `full_tank` (traffic file) and
    `active_customers`, `repeat_customers` (customers with ≥ 1 and ≥ 2 visits). A rate whose
    denominator is 0 or missing is None ("no data"); counts giving a rate above 1 (e.g. more
    fill-ups than fuellings) raise ValueError. `table` = SIDE_RATES gives the rates shown beside.
    """
    result: dict[str, float | None] = {}
    for rate, (num_key, den_key) in table.items():
        num, den = _count(counts, num_key), _count(counts, den_key)
        if num is None or not den:
            result[rate] = None
            continue
        value = num / den
        if value > 1:
            raise ValueError(f"{rate}: {num_key}={num:g} exceeds {den_key}={den:g}")
        result[rate] = value
    return result


def side_rates(counts: Mapping[str, float]) -> dict[str, float | None]:
    """Return the rates shown beside the four (SIDE_RATES): retention 留存率 and vehicle return 车辆回头率."""
    return four_rates(counts, SIDE_RATES)


def completion(actual: float, target: float) -> float | None:
    """Return actual ÷ target (plan completion 完成率), None when there is no target."""
    return actual / target if target else None


def change(current: float, previous: float) -> float | None:
    """Return the relative change current vs previous (同比), None when previous is 0."""
    return (current - previous) / previous if previous else None
