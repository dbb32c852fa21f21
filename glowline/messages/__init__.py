"""Every client-facing sentence and date format, keyed by locale, with the per-clinic templates.

Code asks for a message by key; wording and formats live here and nowhere else. A
new language is a new set of texts here. May import ``store`` and the top-level
helpers only.
"""
