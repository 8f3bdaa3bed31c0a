"""Code blocks for coding answers in :mod:`eval.synthetic_chat` (``CODE``: the request
subject each one answers, or "" for any) and the other fenced blocks (a spreadsheet, an email)."""

from __future__ import annotations

CSV_ROWS = """\
import csv
from pathlib import Path


def rows(path: Path):
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            yield row


total = sum(float(r["amount"]) for r in rows(Path("data.csv")))
print(total)"""

RETRY = """\
import time

import httpx


def get_with_retry(url: str, attempts: int = 4) -> httpx.Response:
    for i in range(attempts):
        try:
            r = httpx.get(url, timeout=10)
            r.raise_for_status()
            return r
        except httpx.HTTPError:
            if i == attempts - 1:
                raise
            time.sleep(2**i)
    raise RuntimeError("unreachable")"""

GIT_UNDO = """\
git reset --soft HEAD~1
git status
# your changes are staged again; edit and recommit
git commit -m "Better message\""""

SQL_DEDUP = """\
SELECT o.id, o.total, c.name
FROM orders AS o
JOIN (
    SELECT DISTINCT ON (customer_id) customer_id, name
    FROM contacts
    ORDER BY customer_id, updated_at DESC
) AS c ON c.customer_id = o.customer_id;"""

LOGGING = """\
import logging

logging.basicConfig(
    level=logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
log = logging.getLogger(__name__)
log.info("started with %d items", 42)"""

DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "-m", "app"]"""

DATES = """\
from datetime import datetime

FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d %b %Y")


def parse(text: str) -> datetime:
    for fmt in FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"unknown date format: {text!r}")"""

CRON = """\
# every 10 minutes; flock skips a run while the previous one still holds the lock
*/10 * * * * flock -n /tmp/sync.lock /usr/local/bin/sync.sh >> /var/log/sync.log 2>&1"""

PAGINATE = """\
def fetch_all(client, url: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, params=params, timeout=10).json()
        items.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items"""

PROFILE = """\
python -m cProfile -o out.prof slow_script.py
python -c "import pstats; pstats.Stats('out.prof').sort_stats('cumtime').print_stats(15)\""""

TEST_API = """\
import httpx


def test_fetch_user(monkeypatch):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": 1, "name": "Ada"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    assert fetch_user(client, 1)["name"] == "Ada\""""

CODE: tuple[tuple[str, str, str], ...] = (
    ("reading a large CSV", "python", CSV_ROWS),
    ("retrying HTTP requests", "python", RETRY),
    ("undoing a git commit", "bash", GIT_UNDO),
    ("duplicate rows after a SQL join", "sql", SQL_DEDUP),
    ("logging in a script", "python", LOGGING),
    ("a smaller Docker image", "dockerfile", DOCKERFILE),
    ("parsing mixed date formats", "python", DATES),
    ("a non-overlapping cron job", "bash", CRON),
    ("cursor pagination", "python", PAGINATE),
    ("profiling slow Python code", "bash", PROFILE),
    ("profiling slow tests", "bash", PROFILE),
    ("testing code that calls an API", "python", TEST_API),
    ("", "python", CSV_ROWS),
    ("", "python", LOGGING),
)
SPREADSHEET = """\
=SUMIF(B2:B200, "groceries", C2:C200)
=C14/C2        share of income
=IF(D5>0, D5*12, 0)"""

INVOICE_EMAIL = """\
Subject: Invoice 0423 - payment reminder

Hi Sam,

A quick reminder that invoice 0423 was due on the 14th.
Could you let me know when I can expect payment?

Thanks,"""
