"""The catalogue: ``protocols.json`` and the JSON Schemas in ``schemas/``, loaded and checked once.

A broken file stops start-up with a message naming the file and the field. It may
import ``store`` and the top-level helpers, never a domain room.
"""
