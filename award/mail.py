"""The outgoing-mail layer. Every message is kept in ``outgoing_mail``; with an SMTP server
configured it is also delivered, and a failure is recorded rather than lost."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app

from .extensions import db
from .models import OutgoingMail, utcnow


def send_mail(recipient: str, subject: str, body: str) -> OutgoingMail:
    """Queue a message in the caller's transaction and try to deliver it."""
    message = OutgoingMail(recipient=recipient, subject=subject, body=body)
    db.session.add(message)
    server = current_app.config.get("MAIL_SERVER")
    if server:
        try:
            _deliver(server, current_app.config["MAIL_PORT"], current_app.config["MAIL_SENDER"], message)
            message.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as error:
            message.error = str(error)[:500]
    return message


def _deliver(server: str, port: int, sender: str, message: OutgoingMail) -> None:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = sender, message.recipient, message.subject
    email.set_content(message.body)
    with smtplib.SMTP(server, port, timeout=10) as smtp:
        smtp.send_message(email)
