"""Pages of the demo that the browser tests and benchmarks use (harmless
otherwise): a big table, a session that ends, a page rendered in answer to
a POST, and the same table under Turbo 8 for the side-by-side benchmark.

  GET /rows?n=N        N rows (1..20000, default 2000) in a table, following
                       the channel "rows". Redis keys: demo:rows:rev (the
                       changed row shows it), demo:rows:changed (which row,
                       default 1), demo:rows:above (rows inserted above row 1).
                       &anchor=none renders `overflow-anchor: none` (a browser
                       without CSS scroll anchoring, like Safari);
                       &turbo=1 renders Turbo 8 instead of livegate.js.
  GET /fixture         a page whose body is the Redis key demo:fixture, as
                       it is (the morph tests write what the server renders),
                       following the channel "fixture".
  GET /turbo.js        the file named by $TURBO_JS (npm @hotwired/turbo's
                       dist/turbo.es2017-umd.js), for /rows?turbo=1.
  GET /private         needs the cookie demo_session (POST /login sets it);
                       without it: 302 to /login, or the status of &unauth=
                       (401 or 403).
  GET /login, POST /login, POST /logout
  POST /add            the form-with-errors pattern: an empty title renders
                       the form again (200, live) at /add; GET /add is 405.
"""

import html
from http.cookies import SimpleCookie

MAX_ROWS = 20000
SESSION_COOKIE = "demo_session"


def _int(raw, default, lo, hi):
    try:
        return max(lo, min(hi, int(raw)))
    except (TypeError, ValueError):
        return default


def _q(query, name):
    return (query.get(name) or [""])[0]


ROWS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{n} rows (rev {rev})</title>
{head}
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1rem; }}
table {{ border-collapse: collapse; }}
td {{ padding: 2px 8px; border-bottom: 1px solid #eee; }}
{anchor_css}
</style>
</head>
<body>
<h1 id="heading">{n} rows</h1>
<table id="rows"><tbody>
{rows}
</tbody></table>
<p id="end">End of the table.</p>
</body>
</html>
"""

ROW = ('<tr id="{id}"><td class="n">{label}</td><td class="name">Item {label}: a row of a big page</td>'
       '<td class="rev">rev {rev}</td><td><a href="#{id}">link</a></td></tr>')

TURBO_HEAD = ('<script src="/turbo.js"></script>\n'
              '<meta name="turbo-refresh-method" content="morph">\n'
              '<meta name="turbo-refresh-scroll" content="preserve">')


def rows_page(app, query):
    redis = app.todos.redis
    n = _int(_q(query, "n"), 2000, 1, MAX_ROWS)
    rev = _int(redis.execute("GET", "demo:rows:rev"), 0, 0, 1 << 60)
    changed = _int(redis.execute("GET", "demo:rows:changed"), 1, 1, MAX_ROWS)
    above = _int(redis.execute("GET", "demo:rows:above"), 0, 0, MAX_ROWS)
    rows = [ROW.format(id=f"above-{k}", label=f"above {k}", rev=0) for k in range(above, 0, -1)]
    rows += [ROW.format(id=f"row-{i}", label=i, rev=rev if i == changed else 0) for i in range(1, n + 1)]
    head = TURBO_HEAD if _q(query, "turbo") == "1" else app.script_tag(["rows"], query)
    anchor_css = "html, body, * { overflow-anchor: none; }" if _q(query, "anchor") == "none" else ""
    return ROWS_PAGE.format(n=n, rev=rev, head=head, anchor_css=anchor_css, rows="\n".join(rows))


SESSION_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""


def _has_session(handler):
    cookie = SimpleCookie(handler.headers.get("Cookie") or "")
    return SESSION_COOKIE in cookie and cookie[SESSION_COOKIE].value == "1"


def private_page(handler, query):
    if not _has_session(handler):
        unauth = _q(query, "unauth")
        if unauth in ("401", "403"):
            handler.send(int(unauth), SESSION_PAGE.format(title="Signed out", head="", body="<p>Sign in again.</p>"))
        else:
            handler.send(302, "", headers=[("Location", "/login")])
        return
    items = "".join(f'<li id="todo-{i}">{html.escape(str(t.get("title", "")))}</li>'
                    for i, t in handler.app.todos.all())
    body = (f'<input id="private-note" placeholder="type here">\n<ul id="todos">{items}</ul>\n'
            '<p id="private-marker">A page for signed-in users.</p>')
    handler.send(200, SESSION_PAGE.format(title="Private todos",
                                          head=handler.app.script_tag(handler.app.channels(), query), body=body))


LOGIN_FORM = ('<form id="login" method="post" action="/login"><button id="login-button">Sign in</button></form>')

ADD_FORM = """<form id="add" method="post" action="/add">
  <input id="add-title" name="title" placeholder="What needs doing?">
  <button id="add-submit">Add</button>
</form>
<p id="add-error" class="error">{error}</p>
<ul id="todos">{items}</ul>"""


def fixture_page(app, query):
    body = app.todos.redis.execute("GET", "demo:fixture") or ""
    return SESSION_PAGE.format(title="Fixture", head=app.script_tag(["fixture"], query), body=body)


def get(handler, path, query):
    """Serves a GET of one of these pages; returns False for other paths."""
    app = handler.app
    if path == "/rows":
        handler.send(200, rows_page(app, query))
    elif path == "/fixture":
        handler.send(200, fixture_page(app, query))
    elif path == "/turbo.js":
        turbo = app.env.get("TURBO_JS")
        if not turbo:
            handler.send(404, "set TURBO_JS to npm @hotwired/turbo's dist/turbo.es2017-umd.js", "text/plain")
            return True
        with open(turbo, "rb") as f:
            handler.send(200, f.read().decode(), "text/javascript")
    elif path == "/private":
        private_page(handler, query)
    elif path == "/login":
        handler.send(200, SESSION_PAGE.format(title="Sign in", head="", body=LOGIN_FORM))
    elif path == "/add":
        handler.send(405, SESSION_PAGE.format(title="Method not allowed", head="", body="<p>POST only.</p>"),
                     headers=[("Allow", "POST")])
    else:
        return False
    return True


def post(handler, path, form):
    """Serves a POST of one of these pages; returns False for other paths."""
    app = handler.app
    if path == "/login":
        handler.send(303, "", headers=[("Location", "/private"),
                                       ("Set-Cookie", f"{SESSION_COOKIE}=1; Path=/; SameSite=Lax")])
    elif path == "/logout":
        handler.send(303, "", headers=[("Location", "/login"),
                                       ("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0")])
    elif path == "/add":
        title = (form.get("title") or [""])[0].strip()
        if title:
            app.changed(app.todos.add(title[:200]), "created")
            handler.send(303, "", headers=[("Location", "/")])
            return True
        items = "".join(f'<li id="todo-{i}">{html.escape(str(t.get("title", "")))}</li>' for i, t in app.todos.all())
        body = ADD_FORM.format(error="A todo needs a title.", items=items)
        handler.send(200, SESSION_PAGE.format(title="Add a todo", head=app.script_tag(app.channels(), {}), body=body))
    else:
        return False
    return True
