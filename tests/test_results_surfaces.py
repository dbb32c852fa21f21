"""The results through each door: the JSON API, the staff page and its CSV downloads, the command line."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner

from cli.main import main
from glowline.clinics.service import add_staff_user, create_api_token
from tests.helpers import PASSWORD, csrf, make_clinic
from tests.test_cli_clinic import _env
from tests.test_results import october  # noqa: F401 - the hand-computed fixture

OCTOBER = {"since": "2026-10-05", "until": "2026-10-25"}


@pytest.fixture
def api(client, db, clinic):
    _, plain = create_api_token(db, clinic, "dashboard")
    db.commit()

    def call(path, **query):
        return client.get(path, query_string=query, headers={"Authorization": f"Bearer {plain}"})

    return call


@pytest.fixture
def logged_in(client, db, clinic):
    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    page = client.get("/staff/login").get_data(as_text=True)
    assert client.post("/staff/login", data={"username": "ana", "password": PASSWORD,
                                             "csrf_token": csrf(page)}).status_code == 302
    return client


def test_api_results_json(api, october):  # noqa: F811
    response = api("/api/results", **OCTOBER)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["since"], body["until"], body["period"], body["timezone"]) == (
        "2026-10-05", "2026-10-25", "week", "America/New_York")
    assert [p["key"] for p in body["periods"]] == ["2026-10-05", "2026-10-12", "2026-10-19"]
    assert [r["confirmation_rate"] for r in body["figures"]["confirmations"]] == [0.5, 1.0, None]
    assert body["totals"]["costs"] == {"texts": 9, "segments": 11, "estimated_cost_usd": 0.09, "calls": 1}
    assert body["totals"]["rebooking"]["no-show"]["by_client"] == 1
    assert body["figures"]["failures"][0]["reason"] == "the phone number is not valid (Twilio error 21211)"
    month = api("/api/results", period="month", protocol="stretch-marks", **OCTOBER).get_json()
    assert [r["sessions"] for r in month["figures"]["confirmations"]] == [2]


def test_api_results_needs_a_token_and_names_a_bad_filter(client, api, october):  # noqa: F811
    assert client.get("/api/results").status_code == 401
    for query, field in (({"since": "2026-02-30"}, "since"), ({"period": "year"}, "period"),
                         ({"protocol": "tattoo-removal"}, "protocol"), ({"until": "9999-12-31"}, "until")):
        response = api("/api/results", **query)
        assert response.status_code == 400, query
        assert response.get_json()["field"] == field


def test_api_results_shows_only_the_tokens_clinic(client, db, october):  # noqa: F811
    other = make_clinic(db, name="Third Clinic", number="+12125550400", staff=())
    _, plain = create_api_token(db, other, "theirs")
    db.commit()
    body = client.get("/api/results", query_string=OCTOBER, headers={"Authorization": f"Bearer {plain}"}).get_json()
    assert body["totals"]["confirmations"]["sessions"] == 0
    assert body["totals"]["opt_outs"]["opt_out_rate"] is None


def test_openapi_documents_results(client):
    doc = client.get("/api/openapi.json").get_json()
    params = {p["name"] for p in doc["paths"]["/api/results"]["get"]["parameters"]}
    assert params == {"since", "until", "protocol", "period"}


def test_results_page_answers_the_owners_three_questions(logged_in, october):  # noqa: F811
    html = logged_in.get("/staff/results", query_string=OCTOBER).get_data(as_text=True)
    for heading in ("Do reminders reduce no-shows?", "Which texts make clients unsubscribe?",
                    "What did texting cost?"):
        assert heading in html
    assert "<strong>25.0%</strong> of the 4 confirmed" in html
    assert "<strong>50.0%</strong> of the 2 never confirmed" in html
    assert "appointment reminder" in html and "we missed you / rebook" in html
    assert "<strong>$0.09</strong> for 9 texts (11 SMS segments" in html
    # The empty week shows a dash, never a crash or 0%.
    assert ('<tr data-period="2026-10-19"><th scope="row">week of 19 Oct 2026</th><td>0</td>'
            '<td class="confirmation-rate">—</td>') in html
    assert "<script>" not in html  # the CSP forbids inline scripts: data travels as a JSON block


def test_results_page_needs_a_login_and_refuses_a_bad_filter(client, logged_in):
    assert logged_in.get("/staff/results?since=someday").status_code == 400
    logged_in.post("/staff/logout", data={"csrf_token": csrf(logged_in.get("/staff/results").get_data(as_text=True))})
    assert client.get("/staff/results").status_code == 302


def test_csv_download_of_each_figure(logged_in, october):  # noqa: F811
    response = logged_in.get("/staff/results/confirmations.csv", query_string=OCTOBER)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "confirmations-2026-10-05-2026-10-25.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["period"], r["sessions"], r["confirmation_rate"], r["median_minutes_to_confirm"]) for r in rows] == [
        ("2026-10-05", "4", "0.5", "75.0"), ("2026-10-12", "3", "1.0", "20.0"), ("2026-10-19", "0", "", "")]
    failures = logged_in.get("/staff/results/failures.csv", query_string=OCTOBER).get_data(as_text=True)
    assert failures.splitlines() == ["error_code,reason,failed",
                                     "21211,the phone number is not valid (Twilio error 21211),1",
                                     "30003,the phone is off or out of reach (Twilio error 30003),1"]
    assert logged_in.get("/staff/results/secrets.csv").status_code == 404


def test_cli_prints_the_figures(config, october):  # noqa: F811
    clinic = october["clinic"]
    env = _env(config) | {"SMS_SEGMENT_PRICE": "0.01"}
    result = CliRunner().invoke(main, ["results", "--clinic", str(clinic.id), "--since", "2026-10-05",
                                       "--until", "2026-10-25"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Do reminders reduce no-shows?" in out
    assert "no-shows 33.3% of 6 visits marked: 25.0% when confirmed, 50.0% when not" in out
    assert "confirmed 71.4% of 7 appointments, median 30.0 minutes after the first reminder" in out
    assert "$0.11 for 9 texts, 11 segments at $0.0100 (estimate), and 1 call" in out
    assert "week of 19 Oct 2026" in out and "—" in out
    bad = CliRunner().invoke(main, ["results", "--clinic", str(clinic.id), "--since", "2026-10-40"], env=env)
    assert bad.exit_code == 2 and "since" in bad.output
