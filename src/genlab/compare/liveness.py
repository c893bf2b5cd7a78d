"""A run's status as a reader sees it: `running` only while its heartbeat is fresh, else `dead`; and its wall time."""
from datetime import datetime, timezone

from genlab.compare.formatting import format_duration
from genlab.runs.run_info import HEARTBEAT_SECONDS

STALE_HEARTBEAT_SECONDS = 3 * HEARTBEAT_SECONDS


def parse_time(text: str | None) -> datetime | None:
    """run_info.json's ISO times (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def run_status(info: dict, now: datetime) -> tuple[str, str | None]:
    """(status, detail): the recorded status, except that a `running` run whose heartbeat went stale is `dead`."""
    status = info.get("status") or "unknown"
    if status != "running":
        return status, info.get("error")
    heartbeat = parse_time(info.get("heartbeat"))
    if heartbeat is None:
        return "dead", "no heartbeat recorded"
    age = (now - heartbeat).total_seconds()
    if age < STALE_HEARTBEAT_SECONDS:
        return "running", None
    return "dead", f"process gone: last heartbeat {format_duration(age)} ago"


def wall_time_s(info: dict, status: str, now: datetime) -> float | None:
    """Start to end; to now for a running run; to the last heartbeat for a dead one."""
    start = parse_time(info.get("start_time"))
    end = now if status == "running" else parse_time(info.get("end_time") or info.get("heartbeat"))
    return None if start is None or end is None else (end - start).total_seconds()


def utc_now() -> datetime:
    """Timezone-aware now, comparable with run_info.json's UTC times."""
    return datetime.now(timezone.utc)
