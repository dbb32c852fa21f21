"""How a message leaves the building: Twilio's REST API or the local recorder, and what Twilio's errors mean.

A new channel provider (WhatsApp, another SMS carrier) is a new transport here. May
import ``config`` and ``exceptions`` only.
"""
