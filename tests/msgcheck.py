#!/usr/bin/python3
"""Checks a message as mailq builds it and as a server receives it.

msgcheck.py FILE.eml [--expect-subject S] [--expect-from-name N]
    [--expect-to-name N] [--expect-text-file F] [--expect-html]
    [--expect-html-file F]

Parses FILE with the standard library's email package (the modern policy),
so the encodings are judged by an independent reader: the decoded subject
and display names must equal the expectations exactly, the text part must
decode byte for byte to F (CRLF taken as LF on both sides). Also checks the
wire form: CRLF line ends only, no line over 998 octets, header lines at
most 78 (unless one unbreakable token), quoted-printable lines at most 76,
no parser defects, the required headers once each. Prints one line; exits
0 when everything holds, 1 otherwise.
"""
import argparse
import email
import email.header
import email.policy
import re
import sys

REQUIRED = ("Date", "From", "To", "Subject", "Message-ID", "MIME-Version")


def check_lines(data, problems):
    if data and not data.endswith(b"\r\n"):
        problems.append("does not end in CRLF")
    lines = data.split(b"\r\n")
    for no, line in enumerate(lines, 1):
        if b"\r" in line or b"\n" in line:
            problems.append("line %d: bare CR or LF" % no)
        if len(line) > 998:
            problems.append("line %d: %d octets (> 998)" % (no, len(line)))
    return lines


def check_header_block(lines, where, problems):
    """lines: the header lines of one entity, up to the blank line."""
    for line in lines:
        if len(line) <= 78:
            continue
        rest = re.sub(rb"^[!-9;-~]+:", b"", line).strip()
        if re.search(rb"[ \t]", rest):
            problems.append("%s: header line of %d characters: %r"
                            % (where, len(line), line[:40]))


def check_entity(raw, where, problems):
    """raw: the bytes of one MIME entity (headers, blank line, body)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    check_header_block(head.split(b"\r\n"), where, problems)
    part = email.message_from_bytes(raw, policy=email.policy.default)
    if part.get_content_maintype() == "multipart":
        boundary = part.get_boundary()
        if not boundary:
            problems.append("%s: multipart without boundary" % where)
            return
        delim = b"\r\n--" + boundary.encode("ascii")
        chunks = (b"\r\n" + body).split(delim)
        for i, chunk in enumerate(chunks[1:-1], 1):
            check_entity(chunk.partition(b"\r\n")[2], "%s.%d" % (where, i),
                         problems)
        if not chunks[-1].startswith(b"--"):
            problems.append("%s: no closing boundary" % where)
        return
    if part.get("Content-Transfer-Encoding", "").lower() == "quoted-printable":
        for no, line in enumerate(body.split(b"\r\n"), 1):
            if len(line) > 76:
                problems.append("%s: quoted-printable line %d of %d chars"
                                % (where, no, len(line)))


def defects(msg, problems):
    for part in msg.walk():
        for d in part.defects:
            problems.append("defect: %s" % d.__class__.__name__)
        for name, value in part.items():
            for d in getattr(value, "defects", ()):
                problems.append("defect in %s: %s" % (name, d))


def display_name(msg, field):
    """The display name decoded by the letter of RFC 2047 (6.2: blanks
    between adjacent encoded words are dropped), which the address parser
    of the email package does not do: it joins them with a space."""
    raws = [v for k, v in msg.raw_items() if k.lower() == field.lower()]
    if len(raws) != 1:
        return None
    raw = re.sub(r"\r?\n(?=[ \t])", "", raws[0]).strip()
    m = re.fullmatch(r"(.*?)\s*<[^<>]*>", raw, re.S)
    if m is None:
        return ""
    phrase = m.group(1)
    if phrase.startswith('"') and phrase.endswith('"') and len(phrase) > 1:
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(email.header.make_header(email.header.decode_header(phrase)))


def body_bytes(part):
    return part.get_payload(decode=True).replace(b"\r\n", b"\n")


def read_norm(path):
    with open(path, "rb") as f:
        return f.read().replace(b"\r\n", b"\n")


def expectations(msg, args, problems):
    if args.expect_subject is not None and \
            str(msg["Subject"]) != args.expect_subject:
        problems.append("subject %r, expected %r"
                        % (str(msg["Subject"]), args.expect_subject))
    for field, want in (("From", args.expect_from_name),
                        ("To", args.expect_to_name)):
        got = display_name(msg, field)
        if want is not None and got != want:
            problems.append("%s name %r, expected %r" % (field, got, want))
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    if args.expect_text_file is not None:
        if text is None:
            problems.append("no text/plain part")
        elif body_bytes(text) != read_norm(args.expect_text_file):
            problems.append("text part differs from %s"
                            % args.expect_text_file)
    if args.expect_html or args.expect_html_file is not None:
        kinds = [p.get_content_type() for p in msg.iter_parts()]
        if msg.get_content_type() != "multipart/alternative" or \
                kinds != ["text/plain", "text/html"]:
            problems.append("not multipart/alternative of text, html: %s %s"
                            % (msg.get_content_type(), kinds))
    if args.expect_html_file is not None and html is not None and \
            body_bytes(html) != read_norm(args.expect_html_file):
        problems.append("html part differs from %s" % args.expect_html_file)


def main():
    ap = argparse.ArgumentParser(prog="msgcheck.py")
    ap.add_argument("file")
    ap.add_argument("--expect-subject")
    ap.add_argument("--expect-from-name")
    ap.add_argument("--expect-to-name")
    ap.add_argument("--expect-text-file")
    ap.add_argument("--expect-html", action="store_true")
    ap.add_argument("--expect-html-file")
    args = ap.parse_args()
    with open(args.file, "rb") as f:
        data = f.read()
    problems = []
    check_lines(data, problems)
    check_entity(data, "message", problems)
    msg = email.message_from_bytes(data, policy=email.policy.default)
    defects(msg, problems)
    for name in REQUIRED:
        if len(msg.get_all(name, [])) != 1:
            problems.append("%s: %d times" % (name,
                            len(msg.get_all(name, []))))
    if msg["Date"] is not None and msg["Date"].datetime is None:
        problems.append("Date unreadable: %s" % msg["Date"])
    expectations(msg, args, problems)
    if problems:
        print("msgcheck: %s: %s" % (args.file, "; ".join(problems)))
        return 1
    print("msgcheck: %s: ok, %s, subject %r" % (args.file,
          msg.get_content_type(), str(msg["Subject"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
