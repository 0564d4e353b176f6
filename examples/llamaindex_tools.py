"""LlamaIndex: hopscout's tool spec (search + find_tools) and a tool retriever that hands an agent only the
tools a request needs, out of 30. Offline on the bundled sample corpus, no LLM needed.

    python examples/llamaindex_tools.py
"""

import asyncio
import os
import tempfile

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import MockLLM
from llama_index.core.tools import FunctionTool

from hopscout import Scout
from hopscout.adapters.llamaindex import HopscoutToolRetriever, HopscoutToolSpec
from hopscout.demo import SAMPLE_DIR
from hopscout.tools import ToolCatalog


def weather_now(location: str) -> str:
    """Current temperature, wind and sky conditions at a location."""
    return "14°C, light rain"


def weather_week(location: str) -> str:
    """Seven-day weather outlook for a location, with chance of rain each day."""
    return "rain Tue-Wed"


def sunrise_sunset(location: str, date: str) -> str:
    """Sunrise and sunset times at a location on a date."""
    return "06:12 / 20:41"


def agenda(date: str) -> str:
    """The user's calendar appointments on a date."""
    return "09:30 dentist"


def schedule_meeting(title: str, when: str, guests: list[str]) -> str:
    """Put a meeting in the calendar and invite guests."""
    return "scheduled"


def cancel_meeting(meeting_id: str) -> str:
    """Cancel a calendar meeting and notify its guests."""
    return "cancelled"


def compose_email(recipient: str, subject: str, text: str) -> str:
    """Write and send an email."""
    return "sent"


def inbox_unread(limit: int = 10) -> str:
    """The newest unread emails in the inbox."""
    return "2 unread"


def open_document(path: str) -> str:
    """Open a document from the user's drive and return its text."""
    return ""


def save_document(path: str, text: str) -> str:
    """Save text as a document in the user's drive."""
    return "saved"


def search_drive(query: str) -> str:
    """Find documents in the user's drive by name or content."""
    return "report.docx"


def delete_document(path: str) -> str:
    """Move a document to the trash."""
    return "deleted"


def evaluate_math(expression: str) -> str:
    """Compute a math expression: arithmetic, powers, square roots, percentages."""
    return "42"


def solve_equation(equation: str) -> str:
    """Solve an algebraic equation for x."""
    return "x = 3"


def exchange_rate(base: str, quote: str) -> str:
    """Today's exchange rate between two currencies, e.g. USD to EUR."""
    return "0.92"


def news_headlines(topic: str) -> str:
    """Latest news headlines on a topic."""
    return "..."


def wikipedia_lookup(title: str) -> str:
    """Summary of a Wikipedia article."""
    return "..."


def flight_search(origin: str, destination: str, date: str) -> str:
    """Find flights between two airports on a date, with prices."""
    return "3 flights"


def hotel_search(city: str, check_in: str, nights: int) -> str:
    """Find hotel rooms in a city for given dates, with prices and ratings."""
    return "5 hotels"


def rent_car(city: str, pick_up: str, drop_off: str) -> str:
    """Reserve a rental car."""
    return "reserved"


def set_thermostat(room: str, celsius: float) -> str:
    """Set the target temperature of a room's smart thermostat."""
    return "set"


def lights(room: str, on: bool) -> str:
    """Switch the smart lights in a room on or off."""
    return "ok"


def lock_front_door() -> str:
    """Lock the smart lock on the front door."""
    return "locked"


def shopping_list_add(item: str) -> str:
    """Add an item to the shared shopping list."""
    return "added"


def order_groceries(items: list[str]) -> str:
    """Order groceries for home delivery."""
    return "ordered"


def track_package(tracking_number: str) -> str:
    """Where a parcel is and when it will be delivered."""
    return "out for delivery"


def step_count(date: str) -> str:
    """Steps walked on a date, from the user's fitness tracker."""
    return "8,412"


def log_workout(kind: str, minutes: int) -> str:
    """Record a workout (run, swim, gym) in the fitness log."""
    return "logged"


def podcast_episodes(show: str) -> str:
    """Recent episodes of a podcast."""
    return "..."


def start_timer(minutes: int, label: str = "") -> str:
    """Start a countdown timer."""
    return "started"


TOOLS = [
    FunctionTool.from_defaults(fn=fn)
    for fn in (
        weather_now,
        weather_week,
        sunrise_sunset,
        agenda,
        schedule_meeting,
        cancel_meeting,
        compose_email,
        inbox_unread,
        open_document,
        save_document,
        search_drive,
        delete_document,
        evaluate_math,
        solve_equation,
        exchange_rate,
        news_headlines,
        wikipedia_lookup,
        flight_search,
        hotel_search,
        rent_car,
        set_thermostat,
        lights,
        lock_front_door,
        shopping_list_add,
        order_groceries,
        track_package,
        step_count,
        log_workout,
        podcast_episodes,
        start_timer,
    )
]

REQUESTS = [
    "is it going to rain in Bergen this week?",
    "book me a flight to Lisbon on May 3 and a hotel for four nights",
    "make the living room warmer and turn the lights off in the kitchen",
    "where is my parcel?",
    "what is 15% of 2,340?",
]


async def main(home: str) -> None:
    with Scout(home=home) as scout:
        scout.ingest(SAMPLE_DIR, collection="notes")
        catalog = ToolCatalog(scout, collection="home-assistant")

        retriever = HopscoutToolRetriever(TOOLS, catalog=catalog, k=3)
        print(f"{len(TOOLS)} LlamaIndex tools in the catalog ({len(retriever.report.added)} added now)")
        for request in REQUESTS:
            print(f"\n? {request}\n  -> {', '.join(t.metadata.name for t in retriever.retrieve(request))}")

        agent = FunctionAgent(tool_retriever=retriever, llm=MockLLM())
        tools = await agent.get_tools("cancel my 3pm meeting and tell the guests by email")
        print(
            f"\nFunctionAgent(tool_retriever=...) gets for 'cancel my 3pm meeting and tell the guests by email': "
            f"{', '.join(t.metadata.name for t in tools)}"
        )

        spec_tools = HopscoutToolSpec(scout, catalog=catalog, collection="notes", k=2).to_tool_list()
        print(f"\nHopscoutToolSpec.to_tool_list(): {[t.metadata.name for t in spec_tools]}")
        search, find_tools = spec_tools
        print(
            "search(query='when is bread dough ready to bake?'):\n  "
            + str(search.call(query="when is bread dough ready to bake?")).replace("\n", "\n  ")[:420]
            + "…"
        )
        found = await find_tools.acall(request="turn up the heating", k=2)
        print("find_tools(request='turn up the heating', k=2):\n  " + str(found).replace("\n", "\n  "))


if __name__ == "__main__":
    if os.environ.get("HOPSCOUT_HOME"):
        asyncio.run(main(os.environ["HOPSCOUT_HOME"]))
    else:
        with tempfile.TemporaryDirectory(prefix="hopscout-example-") as tmp:
            asyncio.run(main(tmp))
