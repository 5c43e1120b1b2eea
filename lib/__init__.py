"""Grid-based customer management for fuel stations (加油站网格化客户管理): the domain package.

Modules here hold the rules, data and queries; apart from `lib.ui` none imports streamlit.
"""
