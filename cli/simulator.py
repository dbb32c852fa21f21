"""``glowline text``: text the running app as a client, through the real signed webhook."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import click
from twilio.request_validator import RequestValidator

SMS_PATH = "/twilio/sms"


def new_message_sid() -> str:
    """A fresh Twilio-shaped message id: SM and 32 hex digits."""
    return "SM" + secrets.token_hex(16)


def replies_of(twiml: str) -> list[str]:
    """The texts of every <Message> in a TwiML answer."""
    if not twiml.strip():
        return []
    root = ElementTree.fromstring(twiml)
    return ["".join(m.itertext()) for m in root.iter("Message")]


def send_text(*, url: str, public_url: str, token: str, from_number: str, to_number: str, body: str,
              sid: str | None = None, timeout: float = 15.0) -> tuple[int, list[str]]:
    """POST one signed inbound SMS to ``url`` (signed for ``public_url``) and return (status, replies)."""
    params = {"MessageSid": sid or new_message_sid(), "SmsSid": "", "AccountSid": "AC" + "0" * 32,
              "From": from_number, "To": to_number, "Body": body, "NumMedia": "0", "NumSegments": "1",
              "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    params["SmsSid"] = params["MessageSid"]
    signature = RequestValidator(token).compute_signature(public_url.rstrip("/") + SMS_PATH, params)
    request = urllib.request.Request(url.rstrip("/") + SMS_PATH, data=urllib.parse.urlencode(params).encode(),
                                     headers={"X-Twilio-Signature": signature,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, replies_of(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        return exc.code, []


def _default_to(config) -> str:
    from sqlalchemy import select

    from glowline.store.models import ClinicNumber
    from glowline.runtime import Runtime

    rt = Runtime(config)
    try:
        with rt.transaction() as session:
            number = session.scalar(select(ClinicNumber.number).order_by(ClinicNumber.id).limit(1))
    finally:
        rt.engine.dispose()
    if number is None:
        raise click.ClickException("no clinic yet: add one with `glowline clinic add`, or pass --to")
    return number


@click.command()
@click.argument("from_number")
@click.argument("body", required=False)
@click.option("--to", "to_number", help="The clinic's Twilio number (default: the first clinic's first number).")
@click.option("--url", help="Where the app listens (default: PUBLIC_BASE_URL).")
def text(from_number: str, body: str | None, to_number: str | None, url: str | None) -> None:
    """Text the app as FROM_NUMBER and print its reply; without BODY, chat interactively."""
    from cli.main import load_config
    from webhooks.twilio_auth import signing_token

    config = load_config()
    to_number = to_number or _default_to(config)
    target = url or config.public_base_url
    token = signing_token(config)

    def one(message: str) -> None:
        try:
            status, replies = send_text(url=target, public_url=config.public_base_url, token=token,
                                        from_number=from_number, to_number=to_number, body=message)
        except (urllib.error.URLError, OSError) as exc:
            raise click.ClickException(f"cannot reach {target}: {exc}") from None
        if status != 200:
            raise click.ClickException(f"the app answered HTTP {status}")
        for reply in replies:
            click.echo(reply)
        if not replies:
            click.echo("(no reply)")

    if body is not None:
        one(body)
        return
    click.echo(f"Texting {to_number} as {from_number}. Empty line or Ctrl-D to quit.", err=True)
    while True:
        try:
            message = click.prompt("you", default="", show_default=False, prompt_suffix="> ")
        except (EOFError, click.Abort):
            break
        if not message.strip():
            break
        one(message)
        click.echo("")
