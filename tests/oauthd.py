#!/usr/bin/python3
"""OAuth 2.0 authorization server for the tests: real protocol over HTTPS
on 127.0.0.1, all of its state in one directory, every request counted.

  oauthd.py --dir DIR --ready FILE [--cert PEM --key PEM] [--port N]
      serves (plain HTTP without --cert); writes its port to FILE once it
      listens, like smtpd.py; SIGTERM or SIGINT stops it
  oauthd.py --dir DIR --issue CLIENT USER SCOPE
      prints a new refresh token for USER, as if USER had granted CLIENT
      SCOPE: how a test starts without a browser
  oauthd.py --dir DIR --issue-access CLIENT USER SCOPE [--expires-in N]
      prints a new access token (no refresh token), valid N seconds
  oauthd.py --dir DIR --revoke TOKEN | --revoke-all | --expire-access
      revokes the grant a refresh or access token belongs to (its refresh
      and access tokens), every grant, or makes every access token expire
These commands work whether or not a server runs on DIR: every change
takes DIR/state.lock, and files are replaced whole (written aside, then
renamed).

Endpoints (forms are application/x-www-form-urlencoded, answers JSON):
  POST /token        grant_type refresh_token (rotated: each refresh token
                     works once), urn:ietf:params:oauth:grant-type:device_code
                     (RFC 8628), authorization_code (RFC 7636 S256 PKCE
                     required, the code works once within 60 s); the client
                     authenticates with client_secret in the form or HTTP
                     Basic, a public client with client_id alone
  POST /devicecode   client_id, scope[, login_hint] -> device_code,
                     user_code, verification_uri, expires_in, interval,
                     message (Microsoft's names)
  GET  /device       ?user_code=C&action=approve|deny[&user=U]: the user
                     in the browser
  GET  /authorize    ?response_type=code&client_id&redirect_uri&scope&state
                     &code_challenge&code_challenge_method=S256
                     [&login_hint=U][&user=U][&deny=1] -> 302 to
                     redirect_uri?code=..&state=..&scope=.. (or
                     ?error=..&state=..); redirect_uri must be a loopback
                     http:// URI (RFC 8252, any port) unless the client
                     lists "redirect_uris"
  POST /introspect   token=T (or GET ?token=T, or Authorization: Bearer T)
                     -> RFC 7662 {"active": true, "username", "email",
                     "scope", "exp", "client_id", ...} or {"active": false}
  POST /revoke       token=T (RFC 7009): revokes its grant; always 200

Whose tokens: the user of a grant is the first of: user= at /device or
/authorize (who "logged in" in the browser), login_hint= at /authorize or
/devicecode, the client's "user" in clients.json, anna@example.com.

Files in DIR:
  clients.json   written by the test (else the defaults below):
                 {CLIENT_ID: {"secret": S or null (a public client),
                 "scopes": [allowed, ...] ([] or absent: any),
                 "user": default user, "redirect_uris": [...]}}
  faults.json    read at every request (absent: behave):
                 down: 503|500       every request fails with that status
                 down_times: N       ... only the first N requests after
                                     faults.json was written
                 delay: S            wait S seconds before handling; a
                                     client gone meanwhile had no effect
                                     (logged: status 499, "abandoned")
                 delay_after: S      handle (tokens rotated), log, then
                                     wait S seconds before answering
                 expires_in: N       access token lifetime (3600)
                 interval: N         device polling interval (1)
                 slow_down_step: N   interval growth on slow_down (5)
                 device_expires_in: N  device code lifetime (300)
                 code_expires_in: N  authorization code lifetime (60)
                 rotate: false       refresh tokens stay valid and the
                                     answer has no refresh_token (Google);
                                     "same": it has the same one again
                 reuse_revokes: true a used refresh token presented again
                                     revokes its whole grant
                 revoke: [T, ...]    revoke these tokens' grants  } once per
                 revoke_all: true    revoke every grant so far    } write of
                                                                  faults.json
  state.json     everything issued: grants, refresh tokens ("active",
                 "used", "revoked"), access tokens, device codes, codes
  tokens.json    the access tokens valid when last written:
                 {TOKEN: {"user", "scope", "client_id", "exp"}}; a reader
                 checks exp itself (smtpd.py does)
  requests.jsonl one line per request, written before it is answered:
                 {"t", "method", "path", "grant_type", "client_id",
                 "refresh_token_used", "refresh_token_issued", "user",
                 "status", "error"} (tokens in full: these are test files)

Standard library only.
"""

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse

DEFAULT_USER = "anna@example.com"
DEFAULT_CLIENTS = {
	"mailq-test": {"secret": "s3cret", "scopes": []},
	"mailq-public": {"secret": None, "scopes": []},
}
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
ERRORS = {}


def now():
	return time.time()


def number(value, default):
	try:
		v = float(value)
	except (TypeError, ValueError):
		return default
	return v if v >= 0 else default


def whole(v):
	return int(v) if float(v).is_integer() else v


def write_json(path, value):
	tmp = "%s.%d.%d.tmp" % (path, os.getpid(), threading.get_ident())
	with open(tmp, "w") as f:
		json.dump(value, f, indent=1, sort_keys=True)
		f.write("\n")
	os.replace(tmp, path)


def read_json(path, default):
	try:
		with open(path, "rb") as f:
			value = json.loads(f.read() or b"null")
	except FileNotFoundError:
		return default
	except (OSError, ValueError) as e:
		if path not in ERRORS:
			ERRORS[path] = True
			print("oauthd: %s: %s (ignored)" % (path, e),
			    file=sys.stderr, flush=True)
		return default
	return value if isinstance(value, dict) else default


class Dir:
	"""DIR: the state under its lock, the clients, the faults, the log."""

	def __init__(self, root):
		self.root = root
		self.down_seen = {}  # faults.json version -> requests failed

	def path(self, name):
		return os.path.join(self.root, name)

	def clients(self):
		c = read_json(self.path("clients.json"), None)
		return c if c is not None else DEFAULT_CLIENTS

	def faults(self):
		"""(faults, version) where version changes at every write."""
		try:
			st = os.stat(self.path("faults.json"))
		except FileNotFoundError:
			return {}, None
		key = "%d:%d:%d" % (st.st_ino, st.st_mtime_ns, st.st_size)
		return read_json(self.path("faults.json"), {}), key

	@contextlib.contextmanager
	def locked(self):
		fd = os.open(self.path("state.lock"), os.O_RDWR | os.O_CREAT,
		    0o644)
		try:
			fcntl.flock(fd, fcntl.LOCK_EX)
			s = read_json(self.path("state.json"), {})
			for k in ("grants", "refresh", "access", "devices",
			    "codes"):
				s.setdefault(k, {})
			before = json.dumps(s, sort_keys=True)
			try:
				yield s
			finally:   # a refusal may change state too (a poll)
				if json.dumps(s, sort_keys=True) != before:
					self.save(s)
		finally:
			os.close(fd)

	def save(self, s):
		t = now()
		for tok, a in list(s["access"].items()):
			if a["exp"] < t - 3600:  # long dead: forget
				del s["access"][tok]
		write_json(self.path("state.json"), s)
		valid = {tok: {"user": a["user"], "scope": a["scope"],
		    "client_id": a["client_id"], "exp": a["exp"]}
		    for tok, a in s["access"].items()
		    if a["exp"] > t and not s["grants"][a["grant"]]["revoked"]}
		write_json(self.path("tokens.json"), valid)

	def log(self, record):
		with open(self.path("requests.jsonl"), "a") as f:
			f.write(json.dumps(record) + "\n")
			f.flush()


# Tokens. Refresh tokens hold a "/" (as Google's do), so that a client
# that does not form-encode them is caught.
def new_token(kind):
	if kind == "refresh":
		return "1//rt-" + secrets.token_urlsafe(32)
	if kind == "access":
		return "at-" + secrets.token_urlsafe(32)
	return secrets.token_urlsafe(32)


def new_grant(s, client_id, user, scope, how):
	gid = "g%d-%s" % (len(s["grants"]) + 1, secrets.token_hex(4))
	s["grants"][gid] = {"client_id": client_id, "user": user,
	    "scope": scope, "revoked": False, "how": how, "t": now()}
	return gid


def issue_refresh(s, gid):
	tok = new_token("refresh")
	s["refresh"][tok] = {"grant": gid, "state": "active", "t": now()}
	return tok


def issue_access(s, gid, expires_in, scope=None):
	g = s["grants"][gid]
	tok = new_token("access")
	s["access"][tok] = {"grant": gid, "user": g["user"],
	    "scope": scope or g["scope"], "client_id": g["client_id"],
	    "exp": now() + expires_in}
	return tok


def revoke_grant(s, gid):
	if gid in s["grants"]:
		s["grants"][gid]["revoked"] = True
	for r in s["refresh"].values():
		if r["grant"] == gid and r["state"] == "active":
			r["state"] = "revoked"


def grant_of(s, token):
	if token in s["refresh"]:
		return s["refresh"][token]["grant"]
	if token in s["access"]:
		return s["access"][token]["grant"]
	return None


def apply_faults(s, faults, version):
	"""revoke and revoke_all, once per write of faults.json."""
	if version is None or s.get("faults_applied") == version:
		return
	s["faults_applied"] = version
	for tok in faults.get("revoke") or []:
		gid = grant_of(s, str(tok))
		if gid:
			revoke_grant(s, gid)
	if faults.get("revoke_all") is True:
		for gid in list(s["grants"]):
			revoke_grant(s, gid)


def scope_ok(client, scope):
	allowed = client.get("scopes") or []
	return not allowed or set(scope.split()) <= set(allowed)


def default_scope(client):
	return " ".join(client.get("scopes") or []) or "mail"


def s256(verifier):
	d = hashlib.sha256(verifier.encode("ascii")).digest()
	return base64.urlsafe_b64encode(d).rstrip(b"=").decode("ascii")


def loopback_uri(uri):
	u = urllib.parse.urlsplit(uri)
	return u.scheme == "http" and u.hostname in ("127.0.0.1", "::1",
	    "localhost") and not u.username and not u.fragment


def redirect_ok(client, uri):
	listed = client.get("redirect_uris")
	if not listed:
		return loopback_uri(uri)
	if uri in listed:
		return True
	u = urllib.parse.urlsplit(uri)
	for r in listed:   # RFC 8252 7.3: any port on a loopback URI
		v = urllib.parse.urlsplit(r)
		if loopback_uri(r) and loopback_uri(uri) and \
		    (u.hostname, u.path) == (v.hostname, v.path):
			return True
	return False


def command(args):
	d = Dir(args.dir)
	with d.locked() as s:
		faults, version = d.faults()
		apply_faults(s, faults, version)
		if args.issue or args.issue_access:
			cid, user, scope = args.issue or args.issue_access
			if cid not in d.clients():
				sys.exit("oauthd: unknown client %s" % cid)
			gid = new_grant(s, cid, user, scope, "issued")
			if args.issue:
				print(issue_refresh(s, gid))
			else:
				life = args.expires_in if args.expires_in \
				    is not None else number(
				    faults.get("expires_in"), 3600)
				print(issue_access(s, gid, life))
		elif args.revoke:
			gid = grant_of(s, args.revoke)
			if not gid:
				sys.exit("oauthd: no such token")
			revoke_grant(s, gid)
		elif args.revoke_all:
			for gid in list(s["grants"]):
				revoke_grant(s, gid)
		elif args.expire_access:
			for a in s["access"].values():
				a["exp"] = min(a["exp"], now() - 1)
	return 0


def arguments():
	p = argparse.ArgumentParser(description="OAuth 2.0 test server")
	p.add_argument("--dir", required=True, help="state directory")
	p.add_argument("--port", type=int, default=0, help="0 = any free port")
	p.add_argument("--ready", help="file to receive the port when ready")
	p.add_argument("--cert", help="server certificate (PEM)")
	p.add_argument("--key", help="server key (PEM)")
	g = p.add_mutually_exclusive_group()
	g.add_argument("--issue", nargs=3, metavar=("CLIENT", "USER", "SCOPE"),
	    help="print a new refresh token")
	g.add_argument("--issue-access", nargs=3,
	    metavar=("CLIENT", "USER", "SCOPE"), help="print a new access token")
	g.add_argument("--revoke", metavar="TOKEN", help="revoke its grant")
	g.add_argument("--revoke-all", action="store_true")
	g.add_argument("--expire-access", action="store_true",
	    help="every access token expires now")
	p.add_argument("--expires-in", type=float,
	    help="lifetime of --issue-access's token")
	args = p.parse_args()
	if bool(args.cert) != bool(args.key):
		p.error("--cert and --key go together")
	args.command = bool(args.issue or args.issue_access or args.revoke or
	    args.revoke_all or args.expire_access)
	os.makedirs(args.dir, exist_ok=True)
	return args


# The one-shot commands run before the server's own imports: the tests
# call them often, and loading http.server and ssl would take longer
# than the command itself.
if __name__ == "__main__":
	ARGS = arguments()
	if ARGS.command:
		sys.exit(command(ARGS))

import html  # noqa: E402
import http.server  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import traceback  # noqa: E402


class OAuthError(Exception):
	def __init__(self, error, description, status=400, headers=None):
		super().__init__(error)
		self.error, self.description = error, description
		self.status, self.headers = status, headers or {}


class Handler(http.server.BaseHTTPRequestHandler):
	protocol_version = "HTTP/1.1"
	server_version = "oauthd/1"
	timeout = 30

	def log_message(self, fmt, *args):
		pass

	def do_GET(self):
		self.dispatch("GET")

	def do_POST(self):
		self.dispatch("POST")

	def do_PUT(self):
		self.dispatch("PUT")

	def do_DELETE(self):
		self.dispatch("DELETE")

	# The request --------------------------------------------------

	def dispatch(self, method):
		d = self.server.dir
		url = urllib.parse.urlsplit(self.path)
		self.rec = {"t": now(), "method": method, "path": url.path,
		    "grant_type": None, "client_id": None,
		    "refresh_token_used": None, "refresh_token_issued": None,
		    "user": None, "status": None, "error": None}
		self.reply = None  # (status, content type, body, headers)
		n = int(self.headers.get("Content-Length") or 0)
		body = self.rfile.read(min(n, 1 << 20)) if n > 0 else b""
		faults, version = d.faults()
		delay = number(faults.get("delay"), 0)
		if delay:
			time.sleep(delay)
			if self.gone():
				self.rec.update(status=499, error="abandoned")
				d.log(self.rec)
				self.close_connection = True
				return
		try:
			self.query = self.params(url.query, "query")
			if self.down(faults, version):
				pass
			else:
				with d.locked() as s:
					apply_faults(s, faults, version)
					self.route(method, url.path, body, s,
					    faults)
		except OAuthError as e:
			self.error(e)
		except Exception as e:
			print("oauthd: %s" % traceback.format_exc(),
			    file=sys.stderr, flush=True)
			self.error(OAuthError("server_error", repr(e), 500))
		status, ctype, data, headers = self.reply
		self.rec["status"] = status
		d.log(self.rec)
		time.sleep(number(faults.get("delay_after"), 0))
		self.send_response(status)
		self.send_header("Content-Type", ctype)
		self.send_header("Content-Length", str(len(data)))
		self.send_header("Cache-Control", "no-store")
		self.send_header("Pragma", "no-cache")
		for k, v in headers.items():
			self.send_header(k, v)
		self.end_headers()
		if method != "HEAD":
			self.wfile.write(data)

	def gone(self):
		"""The client hung up (an HTTP/1.1 client waiting for its
		answer sends nothing, so anything readable is its close)."""
		try:
			r, _, _ = select.select([self.connection], [], [], 0)
		except (OSError, ValueError):
			return True
		return bool(r)

	def down(self, faults, version):
		status = faults.get("down")
		if status not in (500, 502, 503, 504):
			return False
		times = faults.get("down_times")
		if isinstance(times, int):
			seen = self.server.dir.down_seen
			with self.server.lock:
				if seen.get(version, 0) >= times:
					return False
				seen[version] = seen.get(version, 0) + 1
		self.json(status, {"error": "temporarily_unavailable"
		    if status == 503 else "server_error",
		    "error_description": "down (faults.json)"},
		    {"Retry-After": "1"} if status == 503 else None)
		self.rec["error"] = "down"
		return True

	@staticmethod
	def params(text, where):
		out = {}
		try:
			pairs = urllib.parse.parse_qsl(text,
			    keep_blank_values=True, strict_parsing=bool(text),
			    errors="strict")
		except (ValueError, UnicodeDecodeError):
			raise OAuthError("invalid_request",
			    "malformed %s" % where)
		for k, v in pairs:
			if k in out:
				raise OAuthError("invalid_request",
				    "parameter %s repeated" % k)
			out[k] = v
		return out

	def form(self, body):
		ctype = (self.headers.get("Content-Type") or "").split(";")[0]
		if ctype.strip().lower() != \
		    "application/x-www-form-urlencoded":
			raise OAuthError("invalid_request", "Content-Type must "
			    "be application/x-www-form-urlencoded")
		try:
			text = body.decode("utf-8")
		except UnicodeDecodeError:
			raise OAuthError("invalid_request", "body not UTF-8")
		return self.params(text, "body")

	# The answers --------------------------------------------------

	def json(self, status, obj, headers=None):
		data = (json.dumps(obj) + "\n").encode()
		self.reply = (status, "application/json;charset=UTF-8", data,
		    headers or {})

	def page(self, status, text, headers=None):
		data = ("<!doctype html><title>oauthd</title><p>%s\n"
		    % html.escape(text)).encode()
		self.reply = (status, "text/html;charset=UTF-8", data,
		    headers or {})

	def error(self, e):
		self.rec["error"] = e.error
		self.json(e.status, {"error": e.error,
		    "error_description": e.description}, e.headers)

	def redirect(self, uri, params):
		sep = "&" if urllib.parse.urlsplit(uri).query else "?"
		loc = uri + sep + urllib.parse.urlencode(
		    {k: v for k, v in params.items() if v is not None})
		self.page(302, "redirecting", {"Location": loc})

	# Routes -------------------------------------------------------

	def route(self, method, path, body, s, faults):
		routes = {"/token": ("POST", self.token),
		    "/devicecode": ("POST", self.devicecode),
		    "/device": ("GET", self.device),
		    "/authorize": ("GET", self.authorize),
		    "/introspect": (None, self.introspect),
		    "/revoke": ("POST", self.revoke)}
		if path not in routes:
			return self.page(404, "no such page")
		want, fn = routes[path]
		if want and method != want:
			raise OAuthError("invalid_request", "use %s" % want,
			    405, {"Allow": want})
		fn(s, body, faults)

	def client(self, form, require=True):
		"""The authenticated client's (id, config)."""
		basic_id = basic_secret = None
		auth = self.headers.get("Authorization") or ""
		if auth[:6].lower() == "basic ":
			try:
				raw = base64.b64decode(auth[6:].strip(),
				    validate=True).decode("utf-8")
				i, _, p = raw.partition(":")
				basic_id = urllib.parse.unquote_plus(i)
				basic_secret = urllib.parse.unquote_plus(p)
			except (ValueError, UnicodeDecodeError):
				raise OAuthError("invalid_client",
				    "malformed Basic credentials", 401,
				    {"WWW-Authenticate": 'Basic realm="oauthd"'})
		body_id = form.get("client_id")
		if basic_id is not None and "client_secret" in form:
			raise OAuthError("invalid_request",
			    "two ways of client authentication")
		if basic_id is not None and body_id not in (None, basic_id):
			raise OAuthError("invalid_request",
			    "client_id differs from the Basic credentials")
		cid = basic_id if basic_id is not None else body_id
		secret = basic_secret if basic_id is not None \
		    else form.get("client_secret")
		self.rec["client_id"] = cid
		hdr = {"WWW-Authenticate": 'Basic realm="oauthd"'} \
		    if basic_id is not None else None
		if cid is None:
			raise OAuthError("invalid_client", "no client_id", 401,
			    hdr)
		clients = self.server.dir.clients()
		c = clients.get(cid)
		if not isinstance(c, dict):
			raise OAuthError("invalid_client", "unknown client",
			    401, hdr)
		if c.get("secret") is None:
			if secret is not None:
				raise OAuthError("invalid_client", "a public "
				    "client presents no secret", 401, hdr)
		elif secret is None and require:
			raise OAuthError("invalid_client", "client secret "
			    "missing", 401, hdr)
		elif secret is not None and secret != c["secret"]:
			raise OAuthError("invalid_client",
			    "wrong client secret", 401, hdr)
		return cid, c

	def tokens(self, s, gid, faults, refresh=True, refresh_token=None,
	    scope=None):
		"""The token response for grant gid (scope: narrower)."""
		g = s["grants"][gid]
		life = number(faults.get("expires_in"), 3600)
		out = {"access_token": issue_access(s, gid, life, scope),
		    "token_type": "Bearer", "expires_in": whole(life),
		    "scope": scope or g["scope"]}
		if refresh:
			out["refresh_token"] = refresh_token or \
			    issue_refresh(s, gid)
			self.rec["refresh_token_issued"] = out["refresh_token"]
		self.rec["user"] = g["user"]
		self.json(200, out)

	def token(self, s, body, faults):
		form = self.form(body)
		gt = form.get("grant_type")
		self.rec["grant_type"] = gt
		self.rec["refresh_token_used"] = form.get("refresh_token")
		cid, c = self.client(form)
		if gt is None:
			raise OAuthError("invalid_request", "no grant_type")
		if gt == "refresh_token":
			return self.refresh(s, form, cid, c, faults)
		if gt == DEVICE_GRANT:
			return self.device_token(s, form, cid, faults)
		if gt == "authorization_code":
			return self.code_token(s, form, cid, faults)
		raise OAuthError("unsupported_grant_type", gt)

	def refresh(self, s, form, cid, c, faults):
		rt = form.get("refresh_token")
		if not rt:
			raise OAuthError("invalid_request", "no refresh_token")
		r = s["refresh"].get(rt)
		if r is None:
			raise OAuthError("invalid_grant", "unknown refresh token")
		g = s["grants"][r["grant"]]
		if g["client_id"] != cid:
			raise OAuthError("invalid_grant",
			    "refresh token issued to another client")
		if r["state"] == "revoked" or g["revoked"]:
			raise OAuthError("invalid_grant", "refresh token revoked")
		if r["state"] == "used":
			if faults.get("reuse_revokes") is True:
				revoke_grant(s, r["grant"])
			raise OAuthError("invalid_grant",
			    "refresh token already used")
		if "scope" in form and not set(form["scope"].split()) <= \
		    set(g["scope"].split()):
			raise OAuthError("invalid_scope",
			    "scope wider than the grant")
		scope = form.get("scope") or None
		rotate = faults.get("rotate", True)
		if rotate is False:
			return self.tokens(s, r["grant"], faults, refresh=False,
			    scope=scope)
		if rotate == "same":
			return self.tokens(s, r["grant"], faults,
			    refresh_token=rt, scope=scope)
		r["state"], r["used_at"] = "used", now()
		self.tokens(s, r["grant"], faults, scope=scope)

	def device_token(self, s, form, cid, faults):
		dc = form.get("device_code")
		if not dc:
			raise OAuthError("invalid_request", "no device_code")
		d = s["devices"].get(dc)
		if d is None or d["client_id"] != cid:
			raise OAuthError("invalid_grant", "unknown device_code")
		t = now()
		if d["state"] == "done":
			raise OAuthError("invalid_grant",
			    "device_code already redeemed")
		if t >= d["exp"]:
			raise OAuthError("expired_token", "device_code expired")
		last, d["last_poll"] = d.get("last_poll"), t
		d["polls"] = d.get("polls", 0) + 1
		if last is not None and t - last < d["interval"]:
			d["interval"] += number(faults.get("slow_down_step"), 5)
			raise OAuthError("slow_down", "polled %.2f s after the "
			    "last time; now poll every %s s"
			    % (t - last, whole(d["interval"])))
		if d["state"] == "denied":
			raise OAuthError("access_denied", "the user said no")
		if d["state"] == "pending":
			raise OAuthError("authorization_pending",
			    "the user has not yet approved")
		d["state"] = "done"
		gid = new_grant(s, cid, d["user"], d["scope"], "device")
		self.tokens(s, gid, faults)

	def code_token(self, s, form, cid, faults):
		code = form.get("code")
		if not code:
			raise OAuthError("invalid_request", "no code")
		k = s["codes"].get(code)
		if k is None or k["client_id"] != cid:
			raise OAuthError("invalid_grant", "unknown code")
		if k["state"] == "used":
			# RFC 6749 4.1.2: revoke what the code gave
			revoke_grant(s, k["grant"])
			raise OAuthError("invalid_grant", "code already used")
		if now() >= k["exp"]:
			raise OAuthError("invalid_grant", "code expired")
		if form.get("redirect_uri") != k["redirect_uri"]:
			raise OAuthError("invalid_grant", "redirect_uri differs "
			    "from the one given to /authorize")
		v = form.get("code_verifier")
		if v is None:
			raise OAuthError("invalid_grant", "no code_verifier")
		if not VERIFIER.fullmatch(v) or s256(v) != k["challenge"]:
			raise OAuthError("invalid_grant",
			    "code_verifier does not match code_challenge")
		gid = new_grant(s, cid, k["user"], k["scope"], "code")
		k["state"], k["grant"] = "used", gid
		self.tokens(s, gid, faults)

	def user_for(self, c, *candidates):
		for u in candidates + (c.get("user"),):
			if u:
				return u
		return DEFAULT_USER

	def devicecode(self, s, body, faults):
		form = self.form(body)
		cid, c = self.client(form, require=False)
		scope = form.get("scope") or default_scope(c)
		if not scope_ok(c, scope):
			raise OAuthError("invalid_scope", "scope not allowed")
		dc = new_token("device")
		code = "%s-%s" % tuple("".join(secrets.choice(
		    "BCDFGHJKLMNPQRSTVWXZ") for _ in range(4))
		    for _ in range(2))
		life = number(faults.get("device_expires_in"), 300)
		interval = number(faults.get("interval"), 1)
		s["devices"][dc] = {"client_id": cid, "scope": scope,
		    "hint": form.get("login_hint"), "user": None,
		    "user_code": code, "state": "pending", "t": now(),
		    "exp": now() + life, "interval": interval,
		    "last_poll": None}
		uri = "%s/device" % self.server.base
		self.json(200, {"device_code": dc, "user_code": code,
		    "verification_uri": uri, "expires_in": whole(life),
		    "interval": whole(interval),
		    "message": "To sign in, use a web browser to open the "
		    "page %s and enter the code %s to authenticate."
		    % (uri, code)})

	def device(self, s, body, faults):
		q = self.query
		code = (q.get("user_code") or "").strip().upper()
		found = [(k, d) for k, d in s["devices"].items()
		    if d["user_code"] == code]
		if not found:
			self.rec["error"] = "unknown_code"
			return self.page(404, "unknown code")
		_, d = found[0]
		self.rec["client_id"] = d["client_id"]
		if now() >= d["exp"]:
			self.rec["error"] = "expired_token"
			return self.page(400, "the code has expired")
		if d["state"] != "pending":
			self.rec["error"] = "already_" + d["state"]
			return self.page(409, "the code was already used")
		action = q.get("action")
		if action == "approve":
			c = self.server.dir.clients().get(d["client_id"]) or {}
			d["state"] = "approved"
			d["user"] = self.user_for(c, q.get("user"), d["hint"])
			self.rec["user"] = d["user"]
			return self.page(200, "approved: you may close this page")
		if action == "deny":
			d["state"] = "denied"
			return self.page(200, "denied")
		self.page(200, "enter the code, then approve or deny")

	def authorize(self, s, body, faults):
		q = self.query
		cid = q.get("client_id")
		self.rec["client_id"] = cid
		c = self.server.dir.clients().get(cid or "")
		if not isinstance(c, dict):
			self.rec["error"] = "invalid_client"
			return self.page(400, "unknown client")
		uri = q.get("redirect_uri") or ""
		if not redirect_ok(c, uri):
			self.rec["error"] = "invalid_redirect_uri"
			return self.page(400, "redirect_uri not allowed")
		state = q.get("state")

		def refuse(error):
			self.rec["error"] = error
			self.redirect(uri, {"error": error, "state": state})

		if q.get("response_type") != "code":
			return refuse("unsupported_response_type")
		if q.get("code_challenge_method") != "S256" or \
		    not CHALLENGE.fullmatch(q.get("code_challenge") or ""):
			return refuse("invalid_request")
		scope = q.get("scope") or default_scope(c)
		if not scope_ok(c, scope):
			return refuse("invalid_scope")
		if q.get("deny"):
			return refuse("access_denied")
		code = new_token("code")
		user = self.user_for(c, q.get("user"), q.get("login_hint"))
		s["codes"][code] = {"client_id": cid, "redirect_uri": uri,
		    "scope": scope, "challenge": q["code_challenge"],
		    "user": user, "state": "new", "grant": None,
		    "exp": now() + number(faults.get("code_expires_in"), 60)}
		self.rec["user"] = user
		self.redirect(uri, {"code": code, "state": state,
		    "scope": scope})

	def introspect(self, s, body, faults):
		token = None
		auth = self.headers.get("Authorization") or ""
		if auth[:7].lower() == "bearer ":
			token = auth[7:].strip()
		elif self.command == "POST":
			token = self.form(body).get("token")
		else:
			token = self.query.get("token") or \
			    self.query.get("access_token")
		a = s["access"].get(token or "")
		if a is None or a["exp"] <= now() or \
		    s["grants"][a["grant"]]["revoked"]:
			self.rec["error"] = "inactive"
			return self.json(200, {"active": False})
		self.rec["user"], self.rec["client_id"] = a["user"], \
		    a["client_id"]
		self.json(200, {"active": True, "username": a["user"],
		    "email": a["user"], "sub": a["user"], "scope": a["scope"],
		    "client_id": a["client_id"], "token_type": "Bearer",
		    "exp": int(a["exp"]), "expires_in": max(0,
		    int(a["exp"] - now()))})

	def revoke(self, s, body, faults):
		form = self.form(body)
		gid = grant_of(s, form.get("token") or "")
		if gid:
			revoke_grant(s, gid)
		self.json(200, {})


class Server(http.server.ThreadingHTTPServer):
	daemon_threads = True
	request_queue_size = 128

	def __init__(self, addr, ctx, d):
		self.ctx, self.dir, self.lock = ctx, d, threading.Lock()
		super().__init__(addr, Handler)
		port = self.server_address[1]
		self.base = "%s://127.0.0.1:%d" % ("https" if ctx else "http",
		    port)

	def finish_request(self, request, client_address):
		# the TLS handshake in the connection's thread, not in accept()
		if self.ctx:
			request.settimeout(Handler.timeout)
			try:
				request = self.ctx.wrap_socket(request,
				    server_side=True)
			except (OSError, ssl.SSLError):
				return
			try:
				super().finish_request(request, client_address)
			finally:
				request.close()
		else:
			super().finish_request(request, client_address)

	def handle_error(self, request, client_address):
		e = sys.exc_info()[1]
		if isinstance(e, (ConnectionError, socket.timeout,
		    ssl.SSLError)):
			return
		super().handle_error(request, client_address)


def serve(args):
	ctx = None
	if args.cert:
		ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
		ctx.load_cert_chain(args.cert, args.key)
	srv = Server(("127.0.0.1", args.port), ctx, Dir(args.dir))
	port = srv.server_address[1]

	def stop(*_):
		threading.Thread(target=srv.shutdown, daemon=True).start()
	signal.signal(signal.SIGTERM, stop)
	signal.signal(signal.SIGINT, stop)
	if args.ready:
		tmp = args.ready + ".tmp"
		with open(tmp, "w") as f:
			f.write("%d\n" % port)
		os.replace(tmp, args.ready)
	print("oauthd: listening on %s, state %s" % (srv.base, args.dir),
	    file=sys.stderr, flush=True)
	srv.serve_forever(poll_interval=0.1)
	srv.server_close()
	return 0


if __name__ == "__main__":
	try:
		sys.exit(serve(ARGS))
	except OSError as e:
		print("oauthd: %s" % e, file=sys.stderr)
		sys.exit(1)
