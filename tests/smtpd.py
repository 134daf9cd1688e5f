#!/usr/bin/python3
"""SMTP test server for the end-to-end tests, the demo and the benchmarks.

Listens on 127.0.0.1, keeps every accepted message byte-exact as
DIR/msg-NNNNNN.eml with one JSON line in DIR/received.jsonl, and logs what
happened on each connection to DIR/events.jsonl.  Both files are flushed
and fsynced before the client is answered, so whoever saw the reply can
count the line.

Misbehaviour is driven by DIR/faults.json, read again at every connection
and command so that a test can change it between runs of the program under
test (a missing file means "behave"):

  greeting        "421 ..."   sent instead of 220, then the connection closes
  refuse          true        close on connect, before any greeting
  rcpt            {glob: reply}  reply to RCPT TO of matching recipients
  data            {glob: reply}  reply at the end of DATA; message not kept
  drop_after_data [glob, ...] keep the message, then close without a reply
  stall_data      seconds     wait before answering the end of DATA
  slow_data       seconds     wait after 354 before reading the body
  reply_delay     seconds     wait before every reply
  auth            {"user": u, "password": p}  AUTH PLAIN/LOGIN required
                  (without it AUTH is still offered and any login passes)
  oauth           {"dir": D, "user": u, "scope": s}  AUTH required, and
                  XOAUTH2 and OAUTHBEARER offered: they take an access
                  token that D/tokens.json (tests/oauthd.py's) lists as
                  unexpired, issued for u (if given: else for whoever the
                  client names) with scope s among its scopes (if given).
                  PLAIN and LOGIN are still offered but pass only as
                  "auth" says (without "auth", none passes).  A refused
                  token gets a 334 with the base64 JSON error (XOAUTH2:
                  {"status": "401", "schemes": "Bearer", "scope": ..},
                  as Google; OAUTHBEARER: status "invalid_token", RFC
                  7628), then 535 5.7.8 after the client's reply.
                  "mechanisms": ["XOAUTH2"] offers only those (Microsoft
                  365 offers XOAUTH2 alone; offered both, libcurl takes
                  OAUTHBEARER unless CURLOPT_LOGIN_OPTIONS is
                  "AUTH=XOAUTH2", which curl 7.88's --login-options does
                  not achieve)
  oauth_only      true        offer the OAuth mechanisms alone

Every AUTH is one event in events.jsonl: auth_ok or auth_fail, with the
mechanism and the user (never a password or token); an OAuth failure has
a reason too: unknown (never issued, or revoked), expired, user (a token
of someone else, or a name not the token's), scope, malformed.

Globs are matched case-insensitively against the recipient address.
Runs with Debian's python3-aiosmtpd and the standard library only.
"""

import argparse
import asyncio
import base64
import binascii
import email.parser
import email.policy
import fnmatch
import json
import logging
import os
import re
import signal
import ssl
import sys
import time
import traceback

from aiosmtpd.smtp import (MISSING, SMTP, AuthResult, LoginPassword,
    TLSSetupException, syntax)

ERRORS = {}  # faults.json parse errors already reported, by stat key


class Faults:
	"""DIR/faults.json, parsed again only when the file changes."""

	def __init__(self, path):
		self.path = path
		self.key = None
		self.value = {}

	def get(self):
		try:
			st = os.stat(self.path)
		except FileNotFoundError:
			self.key, self.value = None, {}
			return self.value
		key = (st.st_ino, st.st_mtime_ns, st.st_size)
		if key == self.key:
			return self.value
		try:
			with open(self.path, "rb") as f:
				value = json.loads(f.read() or b"{}")
			if not isinstance(value, dict):
				raise ValueError("not a JSON object")
		except (OSError, ValueError) as e:
			if key not in ERRORS:
				ERRORS[key] = True
				print("smtpd: %s: %s (ignored)" % (self.path, e),
				    file=sys.stderr, flush=True)
			value = {}
		self.key, self.value = key, value
		return value


def matches(pattern, address):
	p, a = pattern.lower(), address.lower()
	return p == a or fnmatch.fnmatchcase(a, p)


def lookup(table, addresses):
	"""The reply of the first pattern in table matching any address."""
	if not isinstance(table, dict):
		return None
	for pattern, reply in table.items():
		if any(matches(pattern, a) for a in addresses):
			return str(reply)
	return None


def globs(value):
	if value is True:
		return ["*"]
	if isinstance(value, str):
		return [value]
	if isinstance(value, list):
		return [str(v) for v in value]
	return []


def seconds(value):
	try:
		return max(0.0, float(value or 0))
	except (TypeError, ValueError):
		return 0.0


class Store:
	"""The spool directory: messages, received.jsonl, events.jsonl."""

	def __init__(self, root):
		self.root = root
		self.faults = Faults(os.path.join(root, "faults.json"))
		self.n = 0
		for name in os.listdir(root):
			m = re.fullmatch(r"msg-(\d+)\.eml", name)
			if m:
				self.n = max(self.n, int(m.group(1)))
		self.received = open(os.path.join(root, "received.jsonl"), "a")
		self.events = open(os.path.join(root, "events.jsonl"), "a")

	@staticmethod
	def _append(f, record, sync):
		f.write(json.dumps(record, ensure_ascii=False) + "\n")
		f.flush()
		if sync:
			os.fsync(f.fileno())

	def event(self, conn, name, sync=True, **fields):
		record = {"time": time.time(), "conn": conn, "event": name}
		record.update(fields)
		self._append(self.events, record, sync)

	def save(self, envelope):
		"""Writes one message and its line; returns the record."""
		data = envelope.original_content
		self.n += 1
		name = "msg-%06d.eml" % self.n
		path = os.path.join(self.root, name)
		with open(path + ".tmp", "wb") as f:
			f.write(data)
			f.flush()
			os.fsync(f.fileno())
		os.replace(path + ".tmp", path)
		record = {"n": self.n, "mail_from": envelope.mail_from,
		    "rcpt_tos": list(envelope.rcpt_tos), "size": len(data)}
		record.update(headers(data))
		record.update({"time": time.time(), "file": name})
		self._append(self.received, record, True)
		return record


def headers(data):
	"""Message-ID, decoded Subject and X-Mailq-Key, or None each.  A
	header too broken to decode is given raw rather than lost."""
	fields = {"message_id": "Message-ID", "subject": "Subject",
	    "x_mailq": "X-Mailq-Key"}
	out = dict.fromkeys(fields)
	raw = email.parser.BytesParser(policy=email.policy.compat32) \
	    .parsebytes(data, headersonly=True)
	msg = email.parser.BytesParser(policy=email.policy.default) \
	    .parsebytes(data, headersonly=True)
	for key, name in fields.items():
		if raw.get(name) is None:
			continue
		try:
			out[key] = str(msg.get(name)).strip()
		except Exception:
			out[key] = str(raw.get(name)).strip()
	return out


class Handler:
	"""The aiosmtpd hooks: recipients, end of DATA, errors."""

	def __init__(self, store):
		self.store = store

	async def handle_RCPT(self, server, session, envelope, address, options):
		reply = lookup(self.store.faults.get().get("rcpt"), [address])
		if reply and not reply.startswith("2"):
			self.store.event(server.conn, "rcpt_rejected",
			    rcpt=address, reply=reply)
			return reply
		envelope.rcpt_tos.append(address)
		envelope.rcpt_options.extend(options)
		return reply or "250 OK"

	async def handle_DATA(self, server, session, envelope):
		st = self.store
		f = st.faults.get()
		stall = seconds(f.get("stall_data"))
		if stall:
			st.event(server.conn, "stalled", seconds=stall)
			# A client that hangs up meanwhile cancels us here,
			# so the message is not kept.
			try:
				await asyncio.sleep(stall)
			except asyncio.CancelledError:
				st.event(server.conn, "stall_abandoned")
				raise
			f = st.faults.get()
		rcpts = envelope.rcpt_tos
		reply = lookup(f.get("data"), rcpts)
		if reply and not reply.startswith("2"):
			st.event(server.conn, "data_rejected", rcpt_tos=rcpts,
			    reply=reply)
			return reply
		rec = st.save(envelope)
		drop = globs(f.get("drop_after_data"))
		if any(matches(g, a) for g in drop for a in rcpts):
			st.event(server.conn, "dropped", n=rec["n"], rcpt_tos=rcpts)
			server.transport.close()
			raise asyncio.CancelledError()
		st.event(server.conn, "accepted", n=rec["n"], rcpt_tos=rcpts)
		return reply or "250 2.0.0 OK queued as %06d" % rec["n"]


def oauth_fields(mechanism, blob):
	"""(user or None, token) from an XOAUTH2 or OAUTHBEARER message, or
	None if it is malformed."""
	try:
		text = blob.decode("utf-8")
	except UnicodeDecodeError:
		return None
	user = None
	if mechanism == "OAUTHBEARER":   # gs2-header, then kvpairs (RFC 7628)
		m = re.fullmatch(r"([ny]),(?:a=([^,]*))?,\x01(.*)", text,
		    re.DOTALL)
		if not m:
			return None
		if m.group(2) is not None:
			user = m.group(2).replace("=2C", ",").replace("=3D", "=")
		text = m.group(3)
	if not text.endswith("\x01\x01"):
		return None
	fields = {}
	for kv in text[:-2].split("\x01"):
		k, eq, v = kv.partition("=")
		if not eq:
			return None
		fields[k] = v
	if mechanism == "XOAUTH2":
		user = fields.get("user")
		if not user:
			return None
	scheme, _, token = fields.get("auth", "").partition(" ")
	if scheme.lower() != "bearer" or not token:
		return None
	return user, token.strip()


def oauth_check(want, user, token):
	"""None if the token passes, else why not."""
	path = os.path.join(str(want.get("dir")), "tokens.json")
	try:
		with open(path, "rb") as f:
			tokens = json.loads(f.read() or b"{}")
	except (OSError, ValueError):
		tokens = {}
	t = tokens.get(token) if isinstance(tokens, dict) else None
	if not isinstance(t, dict):
		return "unknown"
	if float(t.get("exp", 0)) <= time.time():
		return "expired"
	owner = str(t.get("user", "")).lower()
	if want.get("user") and owner != str(want["user"]).lower():
		return "user"
	if user and user.lower() != owner:
		return "user"
	if want.get("scope") and \
	    str(want["scope"]) not in str(t.get("scope", "")).split():
		return "scope"
	return None


class Server(SMTP):
	"""One connection.  Adds the connection-level faults, the delays,
	the AUTH requirement, the OAuth mechanisms and the event log to
	aiosmtpd's protocol."""

	conns = 0
	OAUTH = ("XOAUTH2", "OAUTHBEARER")

	def __init__(self, store, **kw):
		self.store = store
		Server.conns += 1
		self.conn = Server.conns
		kw.setdefault("authenticator", self.authenticate)
		super().__init__(Handler(store), **kw)
		# RFC 4954: an AUTH line may be 12288 octets (a bearer token
		# is long); other lines keep their limits
		self.command_size_limits["AUTH"] = 12288
		self.all_mechanisms = dict(self._auth_methods)
		self.mechanisms()

	def connection_made(self, transport):
		super().connection_made(transport)
		reader = getattr(self, "_reader", None)
		if reader is not None:   # the length checks stay aiosmtpd's
			reader._limit = 16384

	def mechanisms(self):
		"""The mechanisms offered, as faults.json says now."""
		f = self.faults()
		o = f.get("oauth")
		oauth = o.get("mechanisms", self.OAUTH) \
		    if isinstance(o, dict) else []
		self._auth_methods = {k: v for k, v in
		    self.all_mechanisms.items()
		    if (k in self.OAUTH and k in oauth) or (k not in self.OAUTH
		    and not (o and f.get("oauth_only")))}

	@syntax("EHLO hostname")
	async def smtp_EHLO(self, hostname):
		self.mechanisms()
		await super().smtp_EHLO(hostname)

	@syntax("AUTH <mechanism>")
	async def smtp_AUTH(self, arg):
		self.mechanisms()
		await super().smtp_AUTH(arg)

	async def auth_XOAUTH2(self, _, args):
		return await self.oauth("XOAUTH2", args)

	async def auth_OAUTHBEARER(self, _, args):
		return await self.oauth("OAUTHBEARER", args)

	async def oauth(self, mechanism, args):
		want = self.faults().get("oauth")
		if len(args) == 1:
			blob = await self.challenge_auth("")
			if blob is MISSING:
				return AuthResult(success=False, handled=True)
		else:
			try:
				blob = base64.b64decode(args[1], validate=True)
			except (binascii.Error, ValueError):
				await self.push("501 5.5.2 Can't decode base64")
				return AuthResult(success=False, handled=True)
		fields = oauth_fields(mechanism, blob)
		if fields is None:
			self.store.event(self.conn, "auth_fail",
			    mechanism=mechanism, user=None, reason="malformed")
			await self.push("501 5.5.2 malformed %s message"
			    % mechanism)
			return AuthResult(success=False, handled=True)
		user, token = fields
		why = oauth_check(want if isinstance(want, dict) else {},
		    user, token)
		if why is None:
			self.store.event(self.conn, "auth_ok",
			    mechanism=mechanism, user=user)
			return AuthResult(success=True, auth_data=LoginPassword(
			    (user or "").encode(), b""))
		self.store.event(self.conn, "auth_fail", mechanism=mechanism,
		    user=user, reason=why)
		scope = str((want or {}).get("scope") or
		    "https://mail.google.com/")
		error = {"status": "401" if mechanism == "XOAUTH2"
		    else "invalid_token", "schemes": "Bearer", "scope": scope}
		# the client answers the challenge (empty, or ^A) before the 535
		reply = await self.challenge_auth(json.dumps(error))
		if reply is MISSING:    # "*": aiosmtpd said 501
			return AuthResult(success=False, handled=True)
		return AuthResult(success=False, handled=False,
		    message="535 5.7.8 Username and Password not accepted")

	def faults(self):
		return self.store.faults.get()

	async def handle_exception(self, error):
		"""A failed TLS handshake is the client's business; anything
		else is a bug here, answered with a 451 so that the client
		retries, and reported."""
		if isinstance(error, TLSSetupException):
			self.store.event(self.conn, "tls_failed",
			    error=str(error.__cause__))
			return "454 4.7.0 TLS handshake failed"
		self.store.event(self.conn, "error", error=repr(error))
		print("smtpd: %s" % traceback.format_exc(), file=sys.stderr,
		    flush=True)
		return "451 4.3.0 server error: %s" % type(error).__name__

	async def _handle_client(self):
		f = self.faults()
		peer = self.session.peer
		self.store.event(self.conn, "connect", sync=False,
		    peer="%s:%s" % peer[:2] if peer else None)
		if f.get("refuse"):
			self.store.event(self.conn, "refused")
			self.transport.close()
			return
		greeting = f.get("greeting")
		if greeting:
			self.store.event(self.conn, "greeting", reply=str(greeting))
			await self.push(str(greeting))
			self.transport.close()
			return
		await super()._handle_client()

	def connection_lost(self, error):
		# A sender killed mid-message shows as a close in a transaction.
		env = self.envelope
		self.store.event(self.conn, "close", sync=False,
		    in_transaction=bool(env and env.mail_from),
		    rcpts=list(env.rcpt_tos) if env else [])
		super().connection_lost(error)

	async def push(self, status):
		delay = seconds(self.faults().get("reply_delay"))
		if delay:
			await asyncio.sleep(delay)
		text = status.decode("utf-8", "replace") \
		    if isinstance(status, bytes) else status
		if text.startswith("530 Must issue a STARTTLS"):
			self.store.event(self.conn, "starttls_required")
		await super().push(status)
		if text.startswith("354"):
			slow = seconds(self.faults().get("slow_data"))
			if slow:
				self.store.event(self.conn, "slow_data",
				    seconds=slow)
				await asyncio.sleep(slow)

	async def smtp_STARTTLS(self, arg):
		await super().smtp_STARTTLS(arg)
		if self._tls_protocol:
			self.store.event(self.conn, "starttls")

	async def check_auth_needed(self, caller_method):
		f = self.faults()
		if (f.get("auth") or isinstance(f.get("oauth"), dict)) and \
		    not self.session.authenticated:
			self.store.event(self.conn, "auth_required",
			    command=caller_method)
			await self.push("530 5.7.0 Authentication required")
			return True
		return False

	def authenticate(self, server, session, envelope, mechanism, data):
		f = self.faults()
		want = f.get("auth")
		user = data.login.decode("utf-8", "replace")
		password = data.password.decode("utf-8", "replace")
		if (isinstance(f.get("oauth"), dict) and
		    not isinstance(want, dict)) or (isinstance(want, dict) and
		    (user != str(want.get("user"))
		    or password != str(want.get("password")))):
			self.store.event(self.conn, "auth_fail",
			    mechanism=mechanism, user=user)
			return AuthResult(success=False, handled=False,
			    message="535 5.7.8 authentication failed")
		self.store.event(self.conn, "auth_ok", mechanism=mechanism,
		    user=user)
		return AuthResult(success=True, auth_data=data)


def tls_context(args):
	ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
	ctx.load_cert_chain(args.tls_cert, args.tls_key)
	return ctx


def write_ready(path, port):
	with open(path + ".tmp", "w") as f:
		f.write("%d\n" % port)
		f.flush()
		os.fsync(f.fileno())
	os.replace(path + ".tmp", path)


async def serve(args):
	store = Store(args.dir)
	ctx = tls_context(args) if args.tls_cert else None
	kw = {"hostname": "localhost", "decode_data": False,
	    "enable_SMTPUTF8": True, "auth_require_tls": False,
	    "timeout": args.timeout}
	if ctx and not args.implicit_tls:
		kw.update(tls_context=ctx,
		    require_starttls=args.require_starttls,
		    auth_require_tls=args.require_starttls)
	loop = asyncio.get_running_loop()
	server = await loop.create_server(lambda: Server(store, **kw),
	    "127.0.0.1", args.port, ssl=ctx if args.implicit_tls else None,
	    backlog=256)
	port = server.sockets[0].getsockname()[1]
	if args.ready:
		write_ready(args.ready, port)
	print("smtpd: listening on 127.0.0.1:%d, spool %s" % (port, args.dir),
	    file=sys.stderr, flush=True)
	stop = asyncio.Event()
	for sig in (signal.SIGTERM, signal.SIGINT):
		loop.add_signal_handler(sig, stop.set)
	await stop.wait()
	server.close()
	me = asyncio.current_task()
	tasks = [t for t in asyncio.all_tasks() if t is not me]
	for t in tasks:
		t.cancel()
	await asyncio.gather(*tasks, return_exceptions=True)


def main():
	p = argparse.ArgumentParser(description="SMTP test server")
	p.add_argument("--dir", required=True, help="spool directory")
	p.add_argument("--port", type=int, default=0, help="0 = any free port")
	p.add_argument("--ready", help="file to receive the port when ready")
	p.add_argument("--tls-cert", help="server certificate (PEM)")
	p.add_argument("--tls-key", help="server key (PEM)")
	p.add_argument("--require-starttls", action="store_true",
	    help="refuse MAIL before STARTTLS")
	p.add_argument("--implicit-tls", action="store_true",
	    help="TLS from the first byte (SMTPS)")
	p.add_argument("--timeout", type=float, default=300,
	    help="idle seconds before a client is dropped")
	args = p.parse_args()
	if bool(args.tls_cert) != bool(args.tls_key):
		p.error("--tls-cert and --tls-key go together")
	if (args.implicit_tls or args.require_starttls) and not args.tls_cert:
		p.error("--implicit-tls and --require-starttls need "
		    "--tls-cert and --tls-key")
	os.makedirs(args.dir, exist_ok=True)
	logging.basicConfig(level=logging.ERROR, stream=sys.stderr,
	    format="smtpd: %(name)s: %(message)s")
	try:
		asyncio.run(serve(args))
	except OSError as e:
		print("smtpd: %s" % e, file=sys.stderr)
		return 1
	return 0


if __name__ == "__main__":
	sys.exit(main())
