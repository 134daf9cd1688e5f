#!/usr/bin/python3
"""Writes the mail that comes back for a message mailq sent, as the end-to-end
tests deliver it into a test mailbox:

    mkinbound.py KIND SENT.eml [OUT]

SENT.eml is a message as the test SMTP server received it. KIND is one of
  reply         the lead answers, with In-Reply-To and References
  reply-bare    the lead answers from a client that drops thread headers
  reply-alias   someone else at the lead's company answers in the thread
  ooo           an out-of-office reply (Auto-Submitted, Exchange-style)
  ooo-until     the same, back on a date given as OOO_UNTIL=YYYY-MM-DD
  bounce        a DSN (RFC 3464): failed, 5.1.1, the original's headers
  soft          a DSN: delayed, 4.2.2 (mailbox full)
  unsubscribe   the lead asks to be removed (Polish)
  stranger      a message from nobody mailq wrote to
The message goes to OUT, or stdout, with CRLF line ends."""
import email
import email.policy
import os
import sys
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

POLICY = email.policy.SMTP


def load(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.default)


def base(sent, frm, subject):
    m = EmailMessage(policy=POLICY)
    m["From"] = frm
    m["To"] = sent["From"]
    m["Subject"] = subject
    m["Date"] = formatdate(time.time())
    m["Message-ID"] = make_msgid(domain=frm.split("@")[-1].strip(">"))
    return m


def thread(m, sent):
    m["In-Reply-To"] = sent["Message-ID"]
    refs = (sent.get("References", "") + " " + sent["Message-ID"]).strip()
    m["References"] = refs


def lead(sent):
    return parseaddr(sent["To"])[1]


def reply(sent, kind):
    who = lead(sent)
    if kind == "reply-alias":
        who = "colleague@" + who.split("@")[1]
    m = base(sent, who, "Re: " + sent["Subject"])
    if kind != "reply-bare":
        thread(m, sent)
    m.set_content("Thanks, that sounds interesting. Can we talk on Monday?\n"
                  "\nOn a day, the sender wrote:\n> " +
                  sent.get_body(("plain",)).get_content().replace("\n", "\n> "))
    return m


def ooo(sent, kind):
    m = base(sent, lead(sent), "Automatic reply: " + sent["Subject"])
    thread(m, sent)
    m["Auto-Submitted"] = "auto-replied"
    m["X-MS-Exchange-Generated-Message-Source"] = "Mailbox Rules Agent"
    until = os.environ.get("OOO_UNTIL", "")
    text = "I am out of the office with limited access to email.\n"
    if kind == "ooo-until" and until:
        text = "I am out of the office until %s and back on %s.\n" % (
            until, until)
    m.set_content(text)
    return m


def dsn(sent, kind):
    """Written out as text: Python's generator does not write a
    message/delivery-status part it did not parse."""
    hard = kind == "bounce"
    rcpt = lead(sent)
    domain = parseaddr(sent["From"])[1].split("@")[1]
    status, code = ("5.1.1", "550") if hard else ("4.2.2", "452")
    boundary = "dsn." + make_msgid()[1:-1].replace("@", ".")
    original = "".join("%s: %s\n" % (k, v) for k, v in sent.items())
    text = """From: MAILER-DAEMON@mail.{d} (Mail Delivery System)
To: {to}
Subject: {subject}
Date: {date}
Message-ID: {mid}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="{b}"

This is a MIME-encapsulated message.

--{b}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.{d}.

{human}

--{b}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.{d}
Arrival-Date: {date}

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.{rd}
Diagnostic-Code: smtp; {code} {status} {diag}

--{b}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{original}
--{b}--
""".format(d=domain, to=sent["From"], date=formatdate(time.time()),
           subject=("Undelivered Mail Returned to Sender" if hard else
                    "Delayed Mail (still being retried)"),
           mid=make_msgid(domain="mail." + domain), b=boundary,
           human=("I'm sorry to have to inform you that your message could "
                  "not\nbe delivered to one or more recipients." if hard else
                  "Your message could not be delivered yet; the mail system "
                  "will keep\ntrying."),
           rcpt=rcpt, rd=rcpt.split("@")[1], status=status, code=code,
           action="failed" if hard else "delayed",
           diag="User unknown" if hard else "Mailbox full",
           original=original)
    return text.replace("\n", "\r\n").encode()


def unsubscribe(sent, kind):
    m = base(sent, lead(sent), "Re: " + sent["Subject"])
    thread(m, sent)
    m.set_content("Proszę mnie wypisać z listy i więcej nie pisać.\n")
    return m


def stranger(sent, kind):
    m = base(sent, "someone@unrelated.example", "A question")
    m.set_content("Hello, do you sell printers?\n")
    return m


KINDS = {"reply": reply, "reply-bare": reply, "reply-alias": reply,
         "ooo": ooo, "ooo-until": ooo, "bounce": dsn, "soft": dsn,
         "unsubscribe": unsubscribe, "stranger": stranger}


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in KINDS:
        sys.exit(__doc__)
    m = KINDS[sys.argv[1]](load(sys.argv[2]), sys.argv[1])
    data = m if isinstance(m, bytes) else m.as_bytes(policy=POLICY)
    if len(sys.argv) == 4:
        with open(sys.argv[3], "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)


main()
