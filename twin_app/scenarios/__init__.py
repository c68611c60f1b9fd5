"""Scenario files, interventions as pure functions, KPIs and compare."""
