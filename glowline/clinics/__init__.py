"""Clinics and the people who run them: clinic settings, numbers, staff users, API tokens, the audit log.

May import ``store``, ``catalog`` and ``messages`` (to check a clinic's own
templates); never delivery, plans, intake or voice.
"""
