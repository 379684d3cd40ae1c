"""What-if tools above the scheduler: a cloud's snapshot, a throw-away copy of
it with corral's real scheduler over it, and the replay of a workload through
one or more scheduler configurations (`corral snapshot`, `corral simulate`).

Nothing below imports this package; it imports the layers it drives.
"""
