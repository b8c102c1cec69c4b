"""Scenarios 1 and 2: the login herd and the join storm, through the real pages and forms."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.data import Attendee
from bench.report import Scenario, percentile
from bench.web import Browser, FlowError, parse_page


@dataclass
class Urls:
    login: str
    now: str
    join: str | None
    room: str | None
    chat_room: str | None
    chat_token: str | None
    room_slug: str | None


async def run_flows(
    scenario: Scenario,
    starts: list[float],
    flow: Callable[[int], Awaitable[None]],
    *,
    concurrency: int,
    deadline: float,
) -> None:
    """Start flow(i) at time starts[i] (seconds after now), at most `concurrency` at once; each
    completed flow's duration from its arrival (waiting for a slot included, as a person would
    wait) is a latency sample, each exception an error. Everything still running at `deadline`
    seconds is cancelled and counted as not done."""
    limit = asyncio.Semaphore(concurrency)
    t0 = time.monotonic()
    scenario.started_at = t0
    scenario.planned = len(starts)

    async def one(i: int) -> None:
        delay = t0 + starts[i] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        began = t0 + starts[i]
        async with limit:
            try:
                await flow(i)
            except FlowError as exc:
                scenario.error(str(exc))
                return
            except (ValueError, KeyError, TypeError) as exc:
                scenario.error(f"unexpected answer: {type(exc).__name__}: {exc}")
                return
            scenario.latencies.append(time.monotonic() - began)
            scenario.finished_at = time.monotonic()
            scenario.done_at.append(scenario.finished_at - t0)

    if not starts:
        scenario.finished_at = t0
        return
    tasks = [asyncio.create_task(one(i)) for i in range(len(starts))]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    if pending:
        scenario.timed_out = True
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        scenario.errors[f"not finished within the {deadline:.0f} s limit"] += len(pending)
    for task in done:
        if task.exception() is not None:
            scenario.error(f"harness: {task.exception()!r}")
    if not scenario.finished_at or pending:
        scenario.finished_at = time.monotonic()


def spread(count: int, window: float, burst: int = 0) -> list[float]:
    """Arrival times: `burst` at 0, the rest evenly over 90% of `window` (so that the last
    arrival still has time to finish inside the window)."""
    burst = min(burst, count)
    rest = count - burst
    span = window * 0.9
    return [0.0] * burst + [span * (i + 1) / rest for i in range(rest)] if rest else [0.0] * burst


def summarise_timings(browsers: list[Browser], prefix: str) -> dict[str, dict[str, float | None]]:
    """p50/p95 per step (each request of the flow) over all browsers."""
    steps: dict[str, list[float]] = {}
    for browser in browsers:
        for step, samples in browser.timings.items():
            if step.startswith(prefix):
                steps.setdefault(step, []).extend(samples)
    return {
        step: {
            "count": len(samples),
            "p50_s": _r(percentile(samples, 50)),
            "p95_s": _r(percentile(samples, 95)),
            "p99_s": _r(percentile(samples, 99)),
        }
        for step, samples in sorted(steps.items())
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# -- 1. login herd ------------------------------------------------------------------------------------
def _login_form(html: str):
    for form in parse_page(html).forms:
        if form.method == "post" and any(t == "password" or "code" in n for n, t in form.types.items()):
            return form
    return None


async def login(browser: Browser, urls: Urls, who: Attendee) -> None:
    """GET the login page, POST the form (email, regcode, CSRF token), load the page it leads to."""
    page = await browser.page("GET", urls.login, step="login.1 GET login page")
    if page.status != 200:
        raise FlowError(f"GET login page: HTTP {page.status}")
    form = _login_form(page.text)
    if form is None:
        raise FlowError("login page: no login form (email + code) found")
    fields = dict(form.fields)
    email_field = next((n for n, t in form.types.items() if t == "email" or "email" in n), None)
    code_field = next((n for n, t in form.types.items() if t == "password" or "code" in n), None)
    if not email_field or not code_field or "csrfmiddlewaretoken" not in fields:
        raise FlowError(f"login form: fields {sorted(form.types)} lack email, code or CSRF token")
    fields[email_field], fields[code_field] = who.email, who.regcode
    posted = await browser.page(
        "POST", form.action or urls.login, form=fields, follow=False, step="login.2 POST login form"
    )
    if posted.status != 302:
        raise FlowError(f"POST login: HTTP {posted.status} (expected a redirect)")
    landing = await browser.page("GET", posted.headers.get("Location", urls.now), step="login.3 GET front page")
    if landing.status != 200:
        raise FlowError(f"front page after login: HTTP {landing.status}")
    if landing.url.rstrip("/").endswith(urls.login.rstrip("/")):
        raise FlowError("front page after login: sent back to the login page")


async def login_herd(
    browsers: list[Browser], urls: Urls, attendees: list[Attendee], window: float, concurrency: int
) -> Scenario:
    scenario = Scenario("login", "1. login herd")
    order = list(range(len(attendees)))
    random.shuffle(order)

    async def flow(i: int) -> None:
        await login(browsers[order[i]], urls, attendees[order[i]])

    await run_flows(scenario, spread(len(attendees), window), flow, concurrency=concurrency, deadline=window + 60)
    scenario.extra["arrival_window_s"] = window
    scenario.extra["concurrency_bound"] = concurrency
    scenario.extra["steps"] = summarise_timings(browsers, "login.")
    p95 = scenario.pct(95)
    scenario.target("all done within", f"{window:.0f} s", f"{scenario.elapsed:.1f} s", _done(scenario, window))
    scenario.target("p95 per login (3 requests)", "< 300 ms", _ms(p95), None if p95 is None else p95 < 0.3)
    scenario.target("errors", "= 0", str(scenario.error_count), scenario.error_count == 0)
    return scenario


# -- 2. join storm ------------------------------------------------------------------------------------
async def join(browser: Browser, urls: Urls) -> None:
    """POST join (with the CSRF token, as the join button's form does) and load the page it leads to."""
    token = browser.cookies.get("csrftoken")
    if not token:
        raise FlowError("join: no CSRF cookie (was the login done?)")
    posted = await browser.page(
        "POST", urls.join, form={"csrfmiddlewaretoken": token}, follow=False, step="join.1 POST join"
    )
    if posted.status not in (302, 303):
        raise FlowError(f"POST join: HTTP {posted.status} (expected a redirect)")
    location = posted.headers.get("Location", "")
    if location.startswith("/"):
        landing = await browser.page("GET", location, step="join.2 GET room page")
        if landing.status != 200:
            raise FlowError(f"room page after join: HTTP {landing.status}")


async def join_storm(
    browsers: list[Browser], urls: Urls, clients: int, window: float, burst: int, concurrency: int
) -> Scenario:
    scenario = Scenario("join", "2. join storm")
    chosen = random.sample(browsers, clients)

    async def flow(i: int) -> None:
        await join(chosen[i], urls)

    await run_flows(scenario, spread(clients, window, burst), flow, concurrency=concurrency, deadline=window + 60)
    scenario.extra["arrival_window_s"] = window
    scenario.extra["burst"] = burst
    scenario.extra["concurrency_bound"] = concurrency
    scenario.extra["steps"] = summarise_timings(chosen, "join.")
    p95 = scenario.pct(95)
    scenario.target("all done within", f"{window:.0f} s", f"{scenario.elapsed:.1f} s", _done(scenario, window))
    scenario.target("p95 per join (POST + room page)", "< 200 ms", _ms(p95), None if p95 is None else p95 < 0.2)
    scenario.target("errors", "= 0", str(scenario.error_count), scenario.error_count == 0)
    return scenario


def _done(scenario: Scenario, window: float) -> bool:
    return scenario.completed == scenario.planned and scenario.elapsed <= window


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"
