"""The ``glowline`` command, the local dev runner and the texting simulator.

The one package allowed to import both ``webhooks`` and ``workers``: it wires them
together for a laptop (``glowline run``) and for operators (clinic, staff, plan and
token commands).
"""
