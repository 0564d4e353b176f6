"""LangChain: give an agent only the tools a request needs, out of 30, with ``HopscoutToolSelector``.

One of the 30 is hopscout's own ``search`` tool over the bundled sample corpus; the selected tools are the
caller's own objects, ready for ``chat_model.bind_tools(selected)``. Offline, no LLM needed.

A request that needs two tools ("email Ann ... and put a meeting on my calendar") is selected with the queries
an agent writes for it, one per capability (``selector.select(request, queries=[...])``): one search for the
whole request ranks the calendar tools first, since most of its words are about the meeting.

    python examples/langchain_tool_selection.py
"""

from __future__ import annotations

import os
import tempfile

from langchain_core.tools import BaseTool, tool

from hopscout import Scout
from hopscout.adapters.langchain import HopscoutToolSelector, create_search_tool
from hopscout.demo import SAMPLE_DIR


@tool
def get_current_weather(city: str) -> str:
    """Current weather conditions (temperature, wind, humidity) in a city."""
    return f"12°C and cloudy in {city}"


@tool
def get_weather_forecast(city: str, days: int = 3) -> str:
    """Weather forecast for the next days in a city: rain probability, highs and lows."""
    return f"rain likely in {city}"


@tool
def get_air_quality(city: str) -> str:
    """Air quality index and pollen levels for a city."""
    return "AQI 31"


@tool
def list_calendar_events(day: str) -> str:
    """List the meetings and events in the user's calendar on a given day."""
    return "10:00 stand-up"


@tool
def create_calendar_event(title: str, start: str, end: str, attendees: list[str] | None = None) -> str:
    """Schedule a new meeting or event in the user's calendar, optionally inviting attendees."""
    return "created"


@tool
def find_free_slot(attendees: list[str], duration_minutes: int) -> str:
    """Find a time when all attendees are free for a meeting of the given length."""
    return "Thu 14:00"


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to a recipient."""
    return "sent"


@tool
def search_email(query: str) -> str:
    """Search the user's mailbox for messages matching a query (sender, subject, words)."""
    return "3 messages"


@tool
def reply_to_email(message_id: str, body: str) -> str:
    """Reply to an email thread."""
    return "replied"


@tool
def read_file(path: str) -> str:
    """Read a text file from the local disk."""
    return ""


@tool
def write_file(path: str, content: str) -> str:
    """Write text to a file on the local disk, replacing it."""
    return "written"


@tool
def list_directory(path: str) -> str:
    """List the files and folders in a directory."""
    return "a.txt b.txt"


@tool
def zip_files(paths: list[str], archive: str) -> str:
    """Compress files into a zip archive."""
    return archive


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as 17 * (3 + 4) / 2."""
    return "59.5"


@tool
def convert_units(value: float, source_unit: str, target_unit: str) -> str:
    """Convert a quantity between units of measure: km and miles, kg and pounds, Celsius and Fahrenheit."""
    return "1"


@tool
def convert_currency(amount: float, source: str, target: str) -> str:
    """Convert money between currencies (USD, EUR, JPY, ...) at today's exchange rate."""
    return "1"


@tool
def web_search(query: str) -> str:
    """Search the public web and return the top result titles and links."""
    return "..."


@tool
def fetch_webpage(url: str) -> str:
    """Download a web page and return its readable text."""
    return "..."


@tool
def get_stock_price(ticker: str) -> str:
    """Latest stock price and daily change for a ticker symbol such as AAPL."""
    return "189.5"


@tool
def translate_text(text: str, target_language: str) -> str:
    """Translate text into another language."""
    return text


@tool
def summarize_text(text: str) -> str:
    """Summarize a long text in a few sentences."""
    return text[:100]


@tool
def create_todo(title: str, due: str | None = None) -> str:
    """Add a task to the user's to-do list, with an optional due date."""
    return "added"


@tool
def set_reminder(message: str, at: str) -> str:
    """Remind the user of something at a given time."""
    return "set"


@tool
def post_slack_message(channel: str, text: str) -> str:
    """Post a message to a Slack channel."""
    return "posted"


@tool
def create_github_issue(repo: str, title: str, body: str) -> str:
    """Open an issue in a GitHub repository."""
    return "#42"


@tool
def run_sql_query(sql: str) -> str:
    """Run a read-only SQL query on the analytics database and return the rows."""
    return "[]"


@tool
def get_directions(origin: str, destination: str, mode: str = "driving") -> str:
    """Directions between two places: the route, the distance and how long the trip takes by car, public
    transit, cycling or walking."""
    return "25 min"


@tool
def book_restaurant(name: str, time: str, people: int) -> str:
    """Reserve a table at a restaurant."""
    return "booked"


@tool
def play_music(query: str) -> str:
    """Play a song, album or playlist on the user's speaker."""
    return "playing"


# each request, and the queries an agent wrote for it (None: the request alone)
REQUESTS: list[tuple[str, list[str] | None]] = [
    ("do I need an umbrella in Oslo tomorrow?", None),
    (
        "email Ann the minutes and put a follow-up meeting with her on my calendar next week",
        ["send an email", "schedule a meeting"],
    ),
    ("how many euros is 250 dollars?", None),
    ("what do our notes say about feeding a sourdough starter?", None),
    ("open a bug report in hopscout/hopscout about the crash", None),
    ("how long does it take to cycle from the station to the office?", None),
]


def main(home: str) -> None:
    with Scout(home=home) as scout:
        scout.ingest(SAMPLE_DIR, collection="notes")
        notes = create_search_tool(
            scout,
            collection="notes",
            k=2,
            name="search_notes",
            description="Search the team's own notes and documents (brewing, baking, "
            "HTTP caching, Rust, retries, astronomy).",
        )
        tools: list[BaseTool] = [value for value in globals().values() if isinstance(value, BaseTool)] + [
            notes
        ]
        selector = HopscoutToolSelector(tools, scout=scout, k=3)
        print(
            f"{len(tools)} tools in the catalog: {len(selector.report.added)} added, "
            f"{len(selector.report.unchanged)} unchanged since the last run"
        )
        for request, queries in REQUESTS:
            picked = selector.select(request, queries=queries)
            print(f"\n? {request}\n  -> {', '.join(t.name for t in picked)}")
            if queries:
                print(f"     (with the agent's queries: {', '.join(map(repr, queries))})")
            if picked[0] is notes:
                call = {"name": notes.name, "args": {"query": request}, "id": "1", "type": "tool_call"}
                first, text = notes.invoke(call).content.split("\n\n")[1].split("\n")[:2]
                print(f"     {first}: {text[:90]}…")


if __name__ == "__main__":
    if os.environ.get("HOPSCOUT_HOME"):
        main(os.environ["HOPSCOUT_HOME"])
    else:
        with tempfile.TemporaryDirectory(prefix="hopscout-example-") as tmp:
            main(tmp)
