"""sqlcommenter tags (https://google.github.io/sqlcommenter/spec/), appended to a statement.

    SELECT … WHERE id = $1 /*db_driver='asyncpg',framework='fastapi',route='%2Fmarkets%2F%7Bid%7D'*/

Keys and values are URL-encoded, values single-quoted with `'` escaped, pairs sorted by key.
Only static facts go in (the route template, never a path with its ids): a comment is part of
the statement text, and a value that changed per request would be a literal in the log.
"""

from urllib.parse import quote


def comment(tags: dict[str, str]) -> str:
    pairs = []
    for key in sorted(tags):
        value = quote(str(tags[key]), safe="").replace("'", "\\'")
        pairs.append(f"{quote(key, safe='')}='{value}'")
    return "/*" + ",".join(pairs) + "*/"


def tag(sql: str, route: str) -> str:
    """`sql` with the comment of the route template that runs it (`/markets/{id}`)."""
    return f"{sql} {comment({'db_driver': 'asyncpg', 'framework': 'fastapi', 'route': route})}"
