"""Screens shown over the dashboard: help, endpoint detail."""
