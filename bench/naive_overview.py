"""The naive way, for comparison only: the overview page computed by reading whole tables into
pandas on every rerun and filtering there (what the scoped query layer avoids)."""
import os

import pandas as pd
import streamlit as st
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
scope, month = os.environ["BENCH_SCOPE"], os.environ["BENCH_MONTH"]
last_year = f"{int(month[:4]) - 1}{month[4:]}"

with engine.connect() as conn:
    customers = pd.read_sql_table("customer", conn)
    consumption = pd.read_sql_table("monthly_consumption", conn)
    traffic = pd.read_sql_table("station_traffic", conn)

mine = customers[customers["org_path"].str.startswith(scope)]
joined = consumption.merge(mine[["id"]], left_on="customer_id", right_on="id")
volume = joined.loc[joined["month"] == month, ["gasoline_t", "diesel_t"]].sum().sum()
volume_ly = joined.loc[joined["month"] == last_year, ["gasoline_t", "diesel_t"]].sum().sum()
on_books = mine[(mine["status"] == "existing") | ((mine["status"] == "lost") & (mine["lost_month"] > month))]
tiers = on_books.assign(tier=on_books["tier_override"].fillna(on_books["computed_tier"])).groupby(["tier", "kind"]).size()
t = traffic[(traffic["org_path"].str.startswith(scope)) & (traffic["month"] == month)].sum(numeric_only=True)

st.title("naive overview")
st.metric("volume", f"{volume:,.1f}", delta=f"{(volume - volume_ly) / volume_ly:+.1%}" if volume_ly else None)
st.metric("customers", f"{len(on_books):,}")
st.metric("churned", f"{int((mine['lost_month'] == month).sum()):,}")
st.metric("entry rate", f"{t['entering'] / max(t['passing_car'] + t['passing_medium'] + t['passing_truck'] + t['passing_bus'], 1):.1%}")
st.dataframe(tiers.rename("customers").reset_index())
