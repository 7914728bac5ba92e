"""Helpers for testing and benchmarking sync2 against real servers (not used at run time).

``sync2.testing.mariadb`` starts a private MariaDB and creates the OpenMRS schema in it; the SQL
files it loads ship as package data in ``sync2/testing/sql/``.
"""
