"""Performance tracking (tools/track.py): statistics, history store, host facts, runs, builds,
bisection and rendering."""
