#!/usr/bin/python3
"""livegate demo: a server-rendered todo list made live by one <script> tag.

Standard library only. Todos live in Redis; every render mints a livegate
token for the channel "todos"; every change publishes an invalidation, so
every open window refetches and morphs itself.

Environment:
  PORT                  listen port on 127.0.0.1 (default 3000; 0 picks one)
  HOST                  listen address (default 127.0.0.1)
  LIVEGATE_PRIVATE_URL  livegate's private API (default http://127.0.0.1:8081)
  LIVEGATE_PUBLIC_URL   livegate as browsers reach it (default http://127.0.0.1:8080)
  LIVEGATE_API_KEY      bearer key for the private API
  REDIS_URL             where todos are stored (default redis://127.0.0.1:6379)
  TOKEN_TTL             token lifetime in seconds (default: livegate's)

GET /__stats answers {"page_loads", "refetches", "total", "by_path"}: GET
requests served, split by the X-Livegate-Refetch header, so tests can count
refetches.

Hooks for the browser tests (harmless otherwise):
  Redis key demo:channels   comma list of channels the tokens name (default todos)
  GET /?fallback=reload     renders the script tag with data-fallback="reload";
                            likewise spread, debounce, max_rate, url, transport
                            and transport_probe set data-spread, data-debounce,
                            data-max-rate, data-url, data-transport and
                            data-transport-probe
  GET /?token=JWT           renders this token instead of minting one
  GET /?refetch_status=NNN  answers refetches (X-Livegate-Refetch: 1) with
                            status NNN instead of the page
  testpages.py              pages for tests and benchmarks (/rows, /private, ...)
"""

import html
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import testpages
from livegate_api import Livegate, LivegateError
from resp import Redis, RedisError

CHANNEL = "todos"
SEQ_KEY = "demo:todos:seq"
TODOS_KEY = "demo:todos"
CHANNELS_KEY = "demo:channels"
MAX_BODY = 16 * 1024
MAX_TITLE = 200


class Stats:
    """GET requests served, split by the X-Livegate-Refetch header; in
    total and by path."""

    def __init__(self):
        self.lock = threading.Lock()
        self.page_loads = 0
        self.refetches = 0
        self.by_path = {}

    def count(self, path, refetch):
        with self.lock:
            if refetch:
                self.refetches += 1
            else:
                self.page_loads += 1
            if path in self.by_path or len(self.by_path) < 64:
                entry = self.by_path.setdefault(path, {"page_loads": 0, "refetches": 0})
                entry["refetches" if refetch else "page_loads"] += 1

    def snapshot(self):
        with self.lock:
            return {
                "page_loads": self.page_loads,
                "refetches": self.refetches,
                "total": self.page_loads + self.refetches,
                "by_path": {k: dict(v) for k, v in self.by_path.items()},
            }


class Todos:
    """Todos as a Redis hash id -> {"title", "done"}; ids from INCR."""

    def __init__(self, redis):
        self.redis = redis

    def all(self):
        flat = self.redis.execute("HGETALL", TODOS_KEY) or []
        items = []
        for i in range(0, len(flat) - 1, 2):
            try:
                todo = json.loads(flat[i + 1])
                items.append((int(flat[i]), todo))
            except (ValueError, TypeError):
                continue  # a foreign value in our key: skip it, do not crash
        items.sort()
        return items

    def add(self, title):
        todo_id = self.redis.execute("INCR", SEQ_KEY)
        self.redis.execute("HSET", TODOS_KEY, todo_id, json.dumps({"title": title, "done": False}))
        return todo_id

    def toggle(self, todo_id):
        raw = self.redis.execute("HGET", TODOS_KEY, todo_id)
        if raw is None:
            return False
        todo = json.loads(raw)
        todo["done"] = not todo.get("done")
        self.redis.execute("HSET", TODOS_KEY, todo_id, json.dumps(todo))
        return True


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Todos ({open_count} open)</title>
<style>
body {{ font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }}
li.done span {{ text-decoration: line-through; color: #888; }}
li form {{ display: inline; }}
#status {{ float: right; font-size: .8rem; padding: .1rem .5rem; border-radius: 1rem; background: #eee; }}
#status.on {{ background: #c8f7c5; }}
/* not the dialog: display: block would draw it while closed */
.playground > :not(dialog) {{ display: block; margin: .5rem 0; }}
#editable {{ border: 1px dashed #999; padding: .3rem; }}
#spacer {{ height: 2000px; border-left: 4px solid #eee; padding-left: .5rem; color: #888; }}
</style>
{script_tag}
</head>
<body>
<span id="status" data-livegate-permanent>connecting</span>
<h1>Todos</h1>
<form id="add" method="post" action="/todos">
  <input id="new-title" name="title" placeholder="What needs doing?" maxlength="{max_title}" autocomplete="off" required>
  <button id="add-button">Add</button>
</form>
<p id="summary">{open_count} open, {done_count} done</p>
<ul id="todos">
{items}
</ul>
<section class="playground">
  <h2>Things a refresh must not disturb</h2>
  <input id="note" placeholder="type here, then publish">
  <textarea id="draft" rows="3" placeholder="or here"></textarea>
  <div id="editable" contenteditable="true">Edit this text.</div>
  <details id="more"><summary>Details ({total} todos)</summary><p id="more-body">Open me: I stay open across refreshes.</p></details>
  <button type="button" id="open-dialog" onclick="document.getElementById('dialog').showModal()">Open a dialog</button>
  <dialog id="dialog"><p id="dialog-body">A dialog stays open too ({total} todos).</p>
    <form method="dialog"><button>Close</button></form></dialog>
</section>
<div id="spacer">Room to scroll. Rendered for request #{render_no}.</div>
<p id="footer">End of page.</p>
<script>
// The status badge is data-livegate-permanent, so refreshes leave it to us.
(function () {{
  var s = document.getElementById("status");
  document.addEventListener("livegate:connected", function () {{ s.textContent = "live"; s.className = "on"; }});
  document.addEventListener("livegate:disconnected", function () {{ s.textContent = "offline"; s.className = ""; }});
}})();
</script>
</body>
</html>
"""

ITEM = """<li id="todo-{id}" class="{cls}"><span>{title}</span>
  <form method="post" action="/todos/{id}/toggle"><button>{label}</button></form></li>"""


class App:
    def __init__(self, env):
        self.env = env
        self.public_url = env.get("LIVEGATE_PUBLIC_URL", "http://127.0.0.1:8080").rstrip("/")
        self.livegate = Livegate(env.get("LIVEGATE_PRIVATE_URL", "http://127.0.0.1:8081"),
                                 env.get("LIVEGATE_API_KEY", ""))
        self.todos = Todos(Redis(env.get("REDIS_URL", "redis://127.0.0.1:6379")))
        ttl = env.get("TOKEN_TTL")
        self.token_ttl = int(ttl) if ttl else None
        self.stats = Stats()
        self.renders = 0
        self.render_lock = threading.Lock()

    def channels(self):
        raw = self.todos.redis.execute("GET", CHANNELS_KEY)
        names = [c.strip() for c in (raw or CHANNEL).split(",") if c.strip()]
        return names or [CHANNEL]

    # Attributes of the script tag the browser tests and benchmarks set
    # through the page's query string (docs/script.md, "Attributes").
    TAG_OPTIONS = ("fallback", "spread", "debounce", "max-rate", "url", "transport", "transport-probe")

    def script_tag(self, channels, query, read_at=None):
        """The livegate <script> tag with a token for these channels.

        query (parsed, may be empty) may set the tag's data-* attributes and
        `token`, a token to render instead of a fresh one (the tests of
        refused and expired tokens). read_at: when the page's data was read
        (time.time()), the render time livegate's catch-up compares with."""
        given = (query.get("token") or [""])[0]
        try:
            token = given or self.livegate.token(channels, self.token_ttl, iat=read_at)
        except LivegateError as e:
            # The page still works, just not live; say so where it is seen.
            print(f"demo: cannot mint a token: {e}", file=sys.stderr)
            return "<!-- livegate unavailable: no live updates -->"
        extra = ""
        for name in self.TAG_OPTIONS:
            value = (query.get(name.replace("-", "_")) or [""])[0]
            if value:
                extra += f' data-{name}="{html.escape(value)}"'
        return (f'<script src="{html.escape(self.public_url)}/livegate.js" '
                f'data-token="{html.escape(token)}"{extra} async></script>')

    def render(self, query):
        with self.render_lock:
            self.renders += 1
            render_no = self.renders
        read_at = time.time()
        items = self.todos.all()
        script_tag = self.script_tag(self.channels(), query, read_at)
        done = sum(1 for _, t in items if t.get("done"))
        rows = "\n".join(
            ITEM.format(id=i, cls="done" if t.get("done") else "",
                        title=html.escape(str(t.get("title", ""))),
                        label="Undo" if t.get("done") else "Done")
            for i, t in items)
        return PAGE.format(open_count=len(items) - done, done_count=done, total=len(items),
                           items=rows, script_tag=script_tag, render_no=render_no,
                           max_title=MAX_TITLE)

    def changed(self, todo_id, action):
        try:
            self.livegate.publish(CHANNEL, {"entity": "todos", "id": str(todo_id), "action": action})
        except LivegateError as e:
            print(f"demo: publish failed: {e}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    server_version = "livegate-demo/1"
    app = None  # set by main()

    def log_message(self, fmt, *args):
        if os.environ.get("DEMO_QUIET") != "1":
            super().log_message(fmt, *args)

    def send(self, status, body, ctype="text/html; charset=utf-8", headers=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def redirect_home(self):
        self.send(303, "", headers=[("Location", "/")])

    def do_GET(self):
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        refetch = self.headers.get("X-Livegate-Refetch") == "1"
        if path not in ("/__stats", "/healthz", "/favicon.ico", "/turbo.js"):
            self.app.stats.count(path, refetch)
        try:
            if path == "/":
                status = (query.get("refetch_status") or [""])[0]
                if refetch and status.isdigit() and 200 <= int(status) <= 599:
                    self.send(int(status), "<!doctype html><title>Failing on purpose</title><p>refetch_status</p>")
                    return
                self.send(200, self.app.render(query))
            elif path == "/__stats":
                self.send(200, json.dumps(self.app.stats.snapshot()), "application/json")
            elif path == "/healthz":
                self.send(200, "ok", "text/plain")
            elif not testpages.get(self, path, query):
                self.send(404, "<!doctype html><title>Not found</title><p>Not found</p>")
        except (RedisError, OSError) as e:
            self.send(503, f"<!doctype html><title>Unavailable</title><p>Redis: {html.escape(str(e))}</p>")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.send(413, "<p>Request too large</p>")
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        try:
            if path == "/todos":
                title = (form.get("title") or [""])[0].strip()[:MAX_TITLE]
                if title:
                    self.app.changed(self.app.todos.add(title), "created")
                self.redirect_home()
                return
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "todos" and parts[2] == "toggle" and parts[1].isdigit():
                if self.app.todos.toggle(int(parts[1])):
                    self.app.changed(parts[1], "toggled")
                self.redirect_home()
                return
            if testpages.post(self, path, form):
                return
        except (RedisError, OSError) as e:
            self.send(503, f"<p>Redis: {html.escape(str(e))}</p>")
            return
        self.send(404, "<p>Not found</p>")


def main():
    Handler.app = App(os.environ)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    # Tests start the demo on port 0 and read the real port from this line.
    print(f"demo: listening on http://{host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
