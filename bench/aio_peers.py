"""aio_peers.py - asyncio's and uvloop's side of coro-bench's aio rows.

Usage: python3 aio_peers.py LOOP REPS MIN_TIME
  LOOP      asyncio or uvloop (the event loop implementation measured)
  REPS      repetitions per row; the median is printed
  MIN_TIME  seconds each repetition of a timed row lasts at least

Prints one "metric<TAB>value" line per row on stdout, the metric named after
coro-bench's own row with LOOP in place of "aio" (asyncio_sleep0_ns,
uvloop_spawn_ns, ...). Each row does the work its C counterpart does:

  sleep0_ns          one task awaiting asyncio.sleep(0) in a loop: ns per
                     round trip through the loop
  handoff_ns         two tasks waking each other through an Event each: ns per
                     hand-off (one set() that wakes the other task)
  spawn_ns           100 000 tasks that return at once: create_task for all,
                     then wait for all (create, run, finish, free): ns per task
  timer_arm_ns       1 000 000 loop.call_later(delay, cb): ns per call
  timer_fire_per_s   those 1 000 000 timers, all due, fired: timers per second
  mem_per_task_bytes resident growth with 100 000 tasks parked in sleep()

Timed rows are calibrated like coro-bench's: the count doubles until one
repetition lasts MIN_TIME, then REPS repetitions are taken.
"""
import asyncio
import gc
import statistics
import sys
import time

SPAWN_TASKS = 100_000
TIMERS = 1_000_000
PARKED_TASKS = 100_000


def new_loop(kind):
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


async def sleep0(n):
    t = time.perf_counter()
    for _ in range(n):
        await asyncio.sleep(0)
    return time.perf_counter() - t


async def handoff(n):
    a, b = asyncio.Event(), asyncio.Event()

    async def side(mine, other, rounds):
        # Wait for my event, take it, wake the other side: each round of
        # either side is one hand-off. Clearing before setting the other's
        # event means no wake-up is lost.
        for _ in range(rounds):
            await mine.wait()
            mine.clear()
            other.set()

    t = time.perf_counter()
    a.set()  # side a moves first
    await asyncio.gather(side(a, b, n), side(b, a, n))
    return time.perf_counter() - t


async def spawn(n):
    async def ret():
        return None

    total = 0.0
    left = n
    while left > 0:
        batch = min(left, SPAWN_TASKS)
        t = time.perf_counter()
        tasks = [asyncio.create_task(ret()) for _ in range(batch)]
        await asyncio.wait(tasks)
        del tasks
        total += time.perf_counter() - t
        left -= batch
    return total


def nothing():
    pass


async def timers_arm(n):
    loop = asyncio.get_running_loop()
    total = 0.0
    left = n
    while left > 0:
        batch = min(left, TIMERS)
        t = time.perf_counter()
        handles = [loop.call_later(3600.0, nothing) for _ in range(batch)]
        total += time.perf_counter() - t
        for h in handles:
            h.cancel()
        del handles
        await asyncio.sleep(0)
        left -= batch
    return total


async def timers_fire():
    loop = asyncio.get_running_loop()
    fired = 0
    done = loop.create_future()

    def tick():
        nonlocal fired
        fired += 1
        if fired == TIMERS:
            done.set_result(None)

    for _ in range(TIMERS):
        loop.call_later(0.0, tick)
    t = time.perf_counter()
    await done
    return TIMERS / (time.perf_counter() - t)


async def parked_memory():
    gc.collect()
    before = rss_bytes()
    stop = asyncio.Event()

    async def parked():
        await stop.wait()

    tasks = [asyncio.create_task(parked()) for _ in range(PARKED_TASKS)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    grown = rss_bytes() - before
    stop.set()
    await asyncio.wait(tasks)
    return grown / PARKED_TASKS


def per_op_ns(loop, make, min_time, reps, per_count=1):
    n = 1
    while True:
        t = loop.run_until_complete(make(n))
        if t >= min_time:
            break
        n *= 2
    samples = [loop.run_until_complete(make(n)) / (n * per_count) * 1e9 for _ in range(reps)]
    return statistics.median(samples)


def main():
    kind, reps, min_time = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    loop = new_loop(kind)
    asyncio.set_event_loop(loop)
    rows = []
    rows.append(("sleep0_ns", per_op_ns(loop, sleep0, min_time, reps)))
    rows.append(("handoff_ns", per_op_ns(loop, handoff, min_time, reps, per_count=2)))
    rows.append(("spawn_ns", per_op_ns(loop, spawn, min_time, reps)))
    rows.append(("timer_arm_ns", per_op_ns(loop, timers_arm, min_time, reps)))
    rows.append(("timer_fire_per_s",
                 statistics.median(loop.run_until_complete(timers_fire()) for _ in range(reps))))
    rows.append(("mem_per_task_bytes", loop.run_until_complete(parked_memory())))
    loop.close()
    print(f"coro-bench: {kind} rows: Python {sys.version.split()[0]} ({sys.executable}), "
          f"{reps} reps of >= {min_time:g} s per timed row", file=sys.stderr)
    for metric, value in rows:
        print(f"{kind}_{metric}\t{value:.1f}")


if __name__ == "__main__":
    main()
