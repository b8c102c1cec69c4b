"""The day grid: one column per room, one row per five minutes, long empty stretches folded.

Row numbers are the same in every zone; only the time labels (placed where the viewer's
clock shows :00 or :30) depend on the zone, which also works for zones offset by :30 or :45.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sessions.models import Talk

SLOT = timedelta(minutes=5)
# Empty stretches longer than this become a single "nothing scheduled" row.
FOLD_AFTER = timedelta(minutes=90)


@dataclass
class Segment:
    start: datetime
    end: datetime
    first_row: int

    @property
    def rows(self) -> int:
        return -(-(self.end - self.start) // SLOT)


def _segments(talks: list[Talk], zone: tzinfo) -> list[tuple[datetime, datetime]]:
    spans: list[tuple[datetime, datetime]] = []
    for talk in sorted(talks, key=lambda t: t.start):
        if spans and talk.start <= spans[-1][1] + FOLD_AFTER:
            spans[-1] = (spans[-1][0], max(spans[-1][1], talk.end))
        else:
            spans.append((talk.start, talk.end))
    aligned = []
    for start, end in spans:
        local = start.astimezone(zone)
        aligned.append((start - timedelta(minutes=local.minute % 30, seconds=local.second), end))
    return aligned


def _lanes(talks: list[Talk]) -> dict[int, tuple[int, int]]:
    """(lane, lanes) per talk: overlapping talks in one room get lanes side by side, each group
    of overlapping talks as many lanes as it needs at most at once; a talk alone gets (0, 1)."""
    out: dict[int, tuple[int, int]] = {}
    by_room: dict[int, list[Talk]] = {}
    for talk in talks:
        by_room.setdefault(talk.room_id, []).append(talk)
    for room_talks in by_room.values():
        group: list[tuple[Talk, int]] = []
        lane_ends: list[datetime] = []
        group_end = datetime.min
        for talk in sorted(room_talks, key=lambda t: (t.start, t.end)):
            if group and talk.start >= group_end:
                out.update({t.pk: (lane, len(lane_ends)) for t, lane in group})
                group, lane_ends = [], []
            lane = next((i for i, end in enumerate(lane_ends) if end <= talk.start), len(lane_ends))
            if lane == len(lane_ends):
                lane_ends.append(talk.end)
            else:
                lane_ends[lane] = talk.end
            group.append((talk, lane))
            group_end = talk.end if len(group) == 1 else max(group_end, talk.end)
        out.update({t.pk: (lane, len(lane_ends)) for t, lane in group})
    return out


def build(day: date, talks: list[Talk], at: datetime, zone: tzinfo, preview_query: str) -> dict:
    """Template context for sessions/_day_grid.html (talks sorted by start, all on `day`)."""
    rooms = sorted({t.room_id: t.room for t in talks}.values(), key=lambda r: (r.position, r.name))
    column = {room.pk: index + 2 for index, room in enumerate(rooms)}

    segments: list[Segment] = []
    gaps: list[dict] = []
    next_row = 2  # row 1 holds the room names
    for start, end in _segments(talks, zone):
        if segments:
            gaps.append({"row": next_row, "start": segments[-1].end, "end": start})
            next_row += 1
        segment = Segment(start, end, next_row)
        segments.append(segment)
        next_row += segment.rows

    def row(instant: datetime) -> int:
        for segment in segments:
            if instant <= segment.end:
                return segment.first_row + max(0, int((instant - segment.start) // SLOT))
        return next_row

    def now_row() -> int | None:
        if not (segments[0].start <= at < segments[-1].end):
            return None
        for gap in gaps:
            if gap["start"] <= at < gap["end"]:
                return gap["row"]
        return row(at)

    lanes = _lanes(talks)
    items = []
    now_index = None
    for talk in talks:
        if now_index is None and talk.start > at:
            now_index = len(items)
        items.append(
            {
                "talk": talk,
                "row": row(talk.start),
                "row_end": max(row(talk.end), row(talk.start) + 1),
                "column": column[talk.room_id],
                "other_day": talk.start.astimezone(zone).date() != day,
                "short": (talk.end - talk.start) <= timedelta(minutes=15),
                # Sessions at once in one room (imported with --allow-overlaps) share its column.
                "lane": lanes[talk.pk][0],
                "lanes": lanes[talk.pk][1],
            }
        )
    labels = []
    for segment in segments:
        for index in range(segment.rows):
            local = (segment.start + index * SLOT).astimezone(zone)
            if local.minute in (0, 30):
                labels.append(
                    {"at": segment.start + index * SLOT, "row": segment.first_row + index, "hour": not local.minute}
                )
    current_row = now_row()
    return {
        "day": day,
        "rooms": rooms,
        "items": items,
        "labels": labels,
        "gaps": gaps,
        "rows": next_row - 2,
        # For the page's script, which moves the "now" line as the clock runs.
        "segments_json": json.dumps(
            [[s.start.isoformat(), s.end.isoformat(), s.first_row] for s in segments], separators=(",", ":")
        ),
        "now_row": current_row,
        "now_index": (len(items) if now_index is None else now_index) if current_row else None,
        "at": at,
        "preview_query": preview_query,
    }
