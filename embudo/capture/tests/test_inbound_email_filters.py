"""Inbound email that is not a person asking (bounces, auto-replies, newsletters, spam, our own users) is stored
and quarantined; relayed web forms become a lead for the Reply-To; HTML-only mail keeps its text. Every test
goes through anymail's real Postmark inbound webhook."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from embudo.capture import inbound_email, selectors, services
from embudo.capture.models import Submission
from embudo.capture.tests.test_inbound_email import post, postmark_inbound
from embudo.core.models import DomainEvent
from embudo.leads.models import Lead

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _anymail_receiver(settings: Any) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "user:pass"}
    inbound_email.connect()


def with_headers(payload: dict[str, Any], *headers: tuple[str, str], return_path: str | None = None) -> dict[str, Any]:
    """The Postmark payload with extra headers (and another envelope sender: Postmark's leading Return-Path)."""
    kept = payload["Headers"][1:] if return_path is not None else payload["Headers"]
    first = [{"Name": "Return-Path", "Value": return_path}] if return_path is not None else []
    payload["Headers"] = first + kept + [{"Name": name, "Value": value} for name, value in headers]
    return payload


def receive_and_process(client: Client, payload: dict[str, Any]) -> tuple[Submission, services.IntakeResult]:
    assert post(client, payload).status_code == 200
    submission = Submission.objects.get(external_id=next(
        h["Value"] for h in payload["Headers"] if h["Name"] == "Message-ID"))  # fmt: skip
    result = services.process_submission(submission.pk)
    submission.refresh_from_db()
    return submission, result


def lead_of(result: services.IntakeResult) -> Lead:
    assert result.lead_id is not None
    return Lead.objects.get(pk=result.lead_id)


def assert_quarantined(submission: Submission, result: services.IntakeResult, reason: str) -> None:
    assert (submission.status, submission.reason, result.lead_id) == ("quarantined", reason, None)
    assert submission.context["quarantine_reason"] == reason
    assert not Lead.objects.exists()


def test_a_bounce_from_the_mailer_daemon_is_stored_and_quarantined(client: Client) -> None:
    payload = with_headers(
        postmark_inbound(message_id="<bounce-1@mx.example>", from_name="Mail Delivery Subsystem",
                         from_email="MAILER-DAEMON@mx.example", subject="Undelivered Mail Returned to Sender",
                         text="This is the mail system at host mx.example. I'm sorry to have to inform you..."),
        ("Auto-Submitted", "auto-replied"),
        return_path="<>",
    )  # fmt: skip

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "bounce")
    assert submission.payload["from_email"] == "MAILER-DAEMON@mx.example"
    assert submission.headers["Auto-Submitted"] == "auto-replied"
    assert submission.headers["envelope_sender"] == ""
    report = selectors.reconcile()
    assert (report.received, report.quarantined, report.quarantine_reasons, report.unexplained) == (
        1, 1, {"bounce": 1}, 0)  # fmt: skip


def test_a_delivery_status_report_is_a_bounce_whatever_its_sender(client: Client) -> None:
    raw = (
        "From: Mail System <mailsystem@relay.example>\r\n"
        "To: ventas@embudo.example\r\n"
        "Subject: Delivery Status Notification (Failure)\r\n"
        "Message-ID: <dsn-1@relay.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        "\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nDelivery to cliente@example.com failed.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example\r\n\r\nFinal-Recipient: rfc822; cliente@example.com\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--b1--\r\n"
    )
    payload = postmark_inbound(message_id="<dsn-1@relay.example>")
    payload["RawEmail"] = raw

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "bounce")
    assert submission.headers["Content-Type"].startswith('multipart/report; report-type="delivery-status"')
    assert submission.payload["text"].startswith("Delivery to cliente@example.com failed.")


@pytest.mark.parametrize(
    "header",
    [("X-Autoreply", "yes"), ("Precedence", "auto_reply"), ("Auto-Submitted", "auto-replied (vacation)"),
     ("X-Autorespond", "Out of office")],
)  # fmt: skip
def test_an_out_of_office_reply_is_quarantined_as_an_auto_reply(client: Client, header: tuple[str, str]) -> None:
    payload = with_headers(postmark_inbound(subject="Fuera de la oficina: Presupuesto",
                                            text="Estaré fuera hasta el lunes."), header)  # fmt: skip

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "auto_reply")
    assert submission.headers[header[0]] == header[1]


def test_auto_submitted_no_is_a_person_writing(client: Client) -> None:
    payload = with_headers(postmark_inbound(), ("Auto-Submitted", "no"))

    submission, result = receive_and_process(client, payload)

    assert (submission.status, submission.outcome, submission.reason) == ("processed", "created", "")
    assert result.lead_id is not None


def test_a_newsletter_is_quarantined_as_bulk(client: Client) -> None:
    payload = with_headers(
        postmark_inbound(from_name="Boletín Mobiliario", from_email="news@boletin.example",
                         subject="Las novedades de noviembre"),
        ("Precedence", "bulk"),
        ("List-Unsubscribe", "<mailto:unsubscribe@boletin.example>, <https://boletin.example/u/123>"),
    )  # fmt: skip

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "bulk")
    assert submission.headers["Precedence"] == "bulk"
    assert submission.headers["List-Unsubscribe"].startswith("<mailto:unsubscribe@boletin.example>")


def test_a_list_id_alone_is_bulk(client: Client) -> None:
    payload = with_headers(postmark_inbound(), ("List-Id", "Ofertas <ofertas.proveedor.example>"))

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "bulk")


def test_our_own_inbox_as_a_google_group_is_not_bulk(client: Client) -> None:
    """ventas@ as a Google Group adds List-Id, List-Unsubscribe and Precedence: list to every customer's email."""
    payload = with_headers(
        postmark_inbound(),
        ("List-Id", "<ventas.embudo.example>"),
        ("Precedence", "list"),
        ("List-Unsubscribe", "<mailto:googlegroups-manage+1+unsubscribe@googlegroups.com>"),
    )

    submission, result = receive_and_process(client, payload)

    assert (submission.status, submission.outcome) == ("processed", "created")
    assert lead_of(result).email == "lucia.fernandez@ejemplo.es"


def test_mail_the_esp_flags_as_spam_is_quarantined(client: Client) -> None:
    payload = postmark_inbound(from_name="Ganador", from_email="premio@loteria.example", subject="¡Ha ganado!")
    payload["Headers"] = [h if h["Name"] != "X-Spam-Status" else {"Name": "X-Spam-Status", "Value": "Yes"}
                          for h in payload["Headers"]]  # fmt: skip

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "spam")
    assert submission.payload["spam_detected"] is True
    assert submission.headers["X-Spam-Status"] == "Yes"


def test_an_email_from_one_of_our_users_is_quarantined(client: Client, django_user_model: Any) -> None:
    django_user_model.objects.create_user(email="marta.rep@embudo.example", password="pw", role="sales_rep")
    payload = postmark_inbound(from_name="Marta (Ventas)", from_email="Marta.Rep@embudo.example",
                               subject="Te reenvío el contacto")  # fmt: skip

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "internal_sender")


def test_an_email_from_a_former_user_is_a_lead(client: Client, django_user_model: Any) -> None:
    django_user_model.objects.create_user(email="lucia.fernandez@ejemplo.es", password="pw", is_active=False)

    submission, result = receive_and_process(client, postmark_inbound())

    assert (submission.status, submission.outcome) == ("processed", "created")


def test_a_relayed_web_form_becomes_a_lead_for_the_reply_to(client: Client) -> None:
    payload = postmark_inbound(from_name="Mi Web", from_email="wordpress@mi-web.example",
                               subject="Nuevo mensaje del formulario de contacto",
                               text="Nombre: Carlos Ruiz\nMensaje: Quiero 40 mesas.")  # fmt: skip
    payload["ReplyTo"] = '"Carlos Ruiz Gómez" <Carlos.Ruiz@cliente.example>'

    submission, result = receive_and_process(client, payload)

    lead = lead_of(result)
    assert (lead.email, lead.first_name, lead.last_name) == ("carlos.ruiz@cliente.example", "Carlos", "Ruiz Gómez")
    assert Lead.objects.count() == 1
    assert (submission.payload["from_email"], submission.payload["from_name"]) == ("wordpress@mi-web.example", "Mi Web")
    assert (submission.payload["reply_to_email"], submission.payload["reply_to_name"]) == (
        "Carlos.Ruiz@cliente.example", "Carlos Ruiz Gómez")  # fmt: skip
    assert submission.headers["Reply-To"] == "Carlos Ruiz Gómez <Carlos.Ruiz@cliente.example>"


@pytest.mark.parametrize(("from_name", "from_email", "reply_to", "person"), [
    # A nameless Reply-To does not take a relay's name.
    ("WordPress", "no-reply@mi-web.example", "carlos@cliente.example", ("carlos@cliente.example", "", "")),
    # A Reply-To of the same person keeps the sender's name.
    ("Ana García", "ana.garcia@empresa.example", "ana.personal@correo.example, ana.garcia@empresa.example",
     ("ana.personal@correo.example", "Ana", "García")),
])  # fmt: skip
def test_the_person_of_a_reply_to(
    client: Client, from_name: str, from_email: str, reply_to: str, person: tuple[str, str, str]
) -> None:
    payload = postmark_inbound(from_name=from_name, from_email=from_email)
    payload["ReplyTo"] = reply_to

    _submission, result = receive_and_process(client, payload)

    lead = lead_of(result)
    assert (lead.email, lead.first_name, lead.last_name) == person


def test_a_reply_to_one_of_our_users_is_internal(client: Client, django_user_model: Any) -> None:
    django_user_model.objects.create_user(email="marta.rep@embudo.example", password="pw")
    payload = postmark_inbound(from_name="Mi Web", from_email="wordpress@mi-web.example")
    payload["ReplyTo"] = "marta.rep@embudo.example"

    submission, result = receive_and_process(client, payload)

    assert_quarantined(submission, result, "internal_sender")


def test_an_html_only_email_keeps_its_text_on_the_timeline(client: Client) -> None:
    payload = postmark_inbound(text="")
    payload["HtmlBody"] = (
        "<html><head><title>Pedido</title><style>p { color: red; }</style></head><body>"
        "<script>alert('x')</script><p>Hola,&nbsp;necesitamos&nbsp;<b>20 sillas</b> &amp; 2 mesas.</p>"
        "<div>Precio &lt;= 3.000&nbsp;&euro;</div><ul><li>Entrega: Sevilla</li></ul><!-- tracking --></body></html>"
    )

    submission, result = receive_and_process(client, payload)

    assert (
        submission.payload["text"]
        == "Hola, necesitamos 20 sillas & 2 mesas.\n\nPrecio <= 3.000 €\n\n- Entrega: Sevilla"
    )
    assert submission.payload["text_source"] == "html"
    event = DomainEvent.objects.get(lead_id=result.lead_id, type="capture.LeadCaptured")
    assert event.payload["summary"]["message"] == (
        "Presupuesto para 20 sillas\n\n"
        "Hola, necesitamos 20 sillas & 2 mesas.\n\nPrecio <= 3.000 €\n\n- Entrega: Sevilla"
    )


def test_a_long_email_is_stored_whole_and_the_timeline_keeps_an_excerpt(client: Client) -> None:
    text = "Necesitamos mobiliario para tres plantas. " * 2000  # ~84,000 characters
    submission, result = receive_and_process(client, postmark_inbound(text=text))

    assert submission.payload["text"] == text
    event = DomainEvent.objects.get(lead_id=result.lead_id, type="capture.LeadCaptured")
    assert len(event.payload["summary"]["message"]) <= 2000


def test_an_enormous_email_is_stored_up_to_the_limit(client: Client) -> None:
    text = "x" * (inbound_email.MAX_TEXT_LENGTH + 20_000)
    submission, _result = receive_and_process(client, postmark_inbound(text=text))

    assert len(submission.payload["text"]) == inbound_email.MAX_TEXT_LENGTH


def test_the_headers_that_decide_are_kept_on_the_submission(client: Client) -> None:
    payload = postmark_inbound()
    payload["ReplyTo"] = "lucia@personal.example"
    assert post(client, payload).status_code == 200

    headers = Submission.objects.get().headers
    assert headers["esp"] == "Postmark"
    assert headers["From"] == "Lucía Fernández <Lucia.Fernandez@Ejemplo.ES>"
    assert headers["Reply-To"] == "lucia@personal.example"
    assert headers["To"] == "Ventas <ventas@embudo.example>"
    assert headers["Subject"] == "Presupuesto para 20 sillas"
    assert headers["Message-ID"] == "<CAF=abc123@mail.gmail.com>"
    assert headers["Content-Type"].startswith("multipart/mixed")
    assert headers["envelope_sender"] == "Lucia.Fernandez@Ejemplo.ES"
    assert headers["envelope_recipient"] == "ventas@embudo.example"


def test_a_replayed_quarantined_email_is_quarantined_again(client: Client, django_user_model: Any) -> None:
    """The decision is fixed at receipt: a replay (even after the sender became a user) decides the same."""
    payload = with_headers(postmark_inbound(), ("X-Autoreply", "yes"))
    submission, _result = receive_and_process(client, payload)
    Submission.objects.filter(pk=submission.pk).update(status="failed", reason="")

    assert services.replay_submissions(submission_ids=[submission.pk]) == 1
    assert post(client, payload).status_code == 200  # the ESP's retry

    submission.refresh_from_db()
    assert (submission.status, submission.reason) == ("quarantined", "auto_reply")
    assert Submission.objects.count() == 1
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("headers", "spam", "reason"),
    [
        ({"From": "Mail Delivery System <postmaster@mx.example>"}, False, "bounce"),
        ({"From": "a@b.example", "X-Failed-Recipients": "c@d.example"}, False, "bounce"),
        ({"From": "a@b.example", "envelope_sender": ""}, False, "bounce"),
        ({"From": "a@b.example", "envelope_sender": "a@b.example"}, False, ""),
        ({"From": "a@b.example", "Auto-Submitted": "auto-generated"}, False, "auto_reply"),
        ({"From": "a@b.example", "Auto-Submitted": "No"}, False, ""),
        ({"From": "a@b.example", "X-Autoreply": "no"}, False, ""),
        ({"From": "a@b.example", "Precedence": "junk"}, False, "bulk"),
        ({"From": "a@b.example", "Precedence": "list", "List-Id": "<ventas.x.example>", "To": "ventas@x.example"},
         False, ""),
        ({"From": "a@b.example", "List-Id": "<ventas.x.example>", "To": "otro@x.example"}, False, "bulk"),
        ({"From": "a@b.example", "X-Spam-Flag": "YES"}, False, "spam"),
        ({"From": "a@b.example", "X-Spam-Status": "Yes, score=7.1 required=5.0"}, False, "spam"),
        ({"From": "a@b.example", "X-Spam-Status": "No, score=0.1 required=5.0"}, False, ""),
        ({"From": "a@b.example"}, True, "spam"),
        ({"From": "Ana <a@b.example>", "Subject": "Hola"}, False, ""),
    ],
)  # fmt: skip
def test_quarantine_reason(headers: dict[str, str], spam: bool, reason: str) -> None:
    assert inbound_email.quarantine_reason(headers, spam_detected=spam) == reason


def test_html_to_text() -> None:
    assert inbound_email.html_to_text("<p>Uno</p><p>Dos<br>Tres</p>") == "Uno\n\nDos\nTres"
    gmail = "<div dir='ltr'><div>Hola,</div><div><br></div><div>Quiero   precio.</div>\n<div>Gracias</div></div>"
    assert inbound_email.html_to_text(gmail) == "Hola,\n\nQuiero precio.\nGracias"
    assert inbound_email.html_to_text("<ol><li>A</li><li>B</li></ol>Fin") == "- A\n- B\n\nFin"
    assert inbound_email.html_to_text("<td>A</td><td>B</td>") == "A B"
    assert inbound_email.html_to_text("<noscript>x</noscript>caf&eacute; &#8364;") == "café €"
    assert inbound_email.html_to_text("") == ""
