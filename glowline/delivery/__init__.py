"""The outbox: its state machine, the dispatcher that turns due rows into RQ jobs, the reconciler, the heartbeat.

``outbox`` moves rows forward; ``staff_actions`` is staff's retry and cancel; ``report``
reads the queue for staff; ``notices`` queues SMS to a clinic's staff phones.

The SQL outbox is the record of what is due; Redis holds only work in flight. May
import ``store``, ``clinics``, ``compliance``, ``messages`` and ``transports``.
"""
