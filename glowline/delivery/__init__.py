"""The outbox: its state machine, the dispatcher that turns due rows into RQ jobs, the reconciler, the heartbeat.

The SQL outbox is the record of what is due; Redis holds only work in flight. May
import ``store``, ``clinics``, ``compliance``, ``messages`` and ``transports``.
"""
