"""The figures as plain text for a terminal: one block per question, one line per period."""

from __future__ import annotations

from glowline.results.report import Results

NO_VALUE = "—"


def _pct(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value * 100:.1f}%"


def _num(value) -> str:
    return NO_VALUE if value is None else f"{value:,}"


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    cells = [header, *[tuple(str(c) for c in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
            for row in cells]


def format_results(results: Results, *, price: float) -> str:
    """Every figure, readably: the answer first, then the periods."""
    r, t, f = results.request, results.totals, results.figures
    lines = [f"Results for clinic {r.clinic_id}, {r.since} to {r.until} ({r.protocol or 'all protocols'}), "
             f"by {r.period.value}, days in {results.timezone}", ""]
    ns, conf = t["no_shows"], t["confirmations"]
    lines += ["Do reminders reduce no-shows?",
              f"  no-shows {_pct(ns['no_show_rate'])} of {_num(ns['marked'])} visits marked: "
              f"{_pct(ns['confirmed_no_show_rate'])} when confirmed, {_pct(ns['unconfirmed_no_show_rate'])} when not",
              f"  confirmed {_pct(conf['confirmation_rate'])} of {_num(conf['sessions'])} appointments, "
              f"median {_num(conf['median_minutes_to_confirm'])} minutes after the first reminder"]
    lines += _table((r.period.value, "appointments", "confirmed", "median min", "marked", "no-shows"),
                    [(c["label"], _num(c["sessions"]), _pct(c["confirmation_rate"]), _num(c["median_minutes_to_confirm"]),
                      _num(n["marked"]), _pct(n["no_show_rate"]))
                     for c, n in zip(f["confirmations"].rows, f["no_shows"].rows, strict=True)])
    oo = t["opt_outs"]
    lines += ["", "Which texts make clients unsubscribe?",
              f"  {_num(oo['opt_outs'])} opt-outs after {_num(oo['messages_sent'])} messages ({_pct(oo['opt_out_rate'])})"]
    lines += _table(("message just before", "opt-outs", "sent", "per message"),
                    [(k["message"], _num(k["opt_outs"]), _num(k["sent"]), _pct(k["opt_outs_per_sent"]))
                     for k in f["opt_outs_by_kind"].rows])
    co = t["costs"]
    lines += ["", "What did texting cost?",
              f"  ${co['estimated_cost_usd']:,.2f} for {_num(co['texts'])} texts, {_num(co['segments'])} segments "
              f"at ${price:.4f} (estimate), and {_num(co['calls'])} call{'' if co['calls'] == 1 else 's'}"]
    lines += _table((r.period.value, "texts", "segments", "cost", "calls"),
                    [(c["label"], _num(c["texts"]), _num(c["segments"]), f"${c['estimated_cost_usd']:,.2f}", _num(c["calls"]))
                     for c in f["costs"].rows])
    de = t["delivery"]
    lines += ["", "Are texts getting through?",
              f"  delivered {_pct(de['delivery_rate'])}; {_num(de['failed'])} failed, "
              f"{_num(de['awaiting_report'])} awaiting the carrier's report"]
    lines += _table(("why", "failed"), [(x["reason"], _num(x["failed"])) for x in f["failures"].rows])
    lines += ["", "From first text to completed plan"]
    lines += _table(("step", "clients", "share"),
                    [(s["step"], _num(s["count"]), _pct(s["share_of_intakes"])) for s in f["funnel"].rows])
    lines += _table(("protocol", "started", "running", "completed", "cancelled"),
                    [(p["protocol"], p["started"], p["running"], p["completed"], p["cancelled"]) for p in f["plans"].rows])
    lines += ["", "Do clients rebook?"]
    lines += _table(("after", "how many", "rebooked", "by client", "by staff"),
                    [(trigger, _num(row["count"]), _pct(row["booked_rate"]), _num(row["by_client"]), _num(row["by_staff"]))
                     for trigger, row in t["rebooking"].items()])
    return "\n".join(lines)
