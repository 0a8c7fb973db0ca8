"""Using kafkalite from tests: a broker in a background thread (`run_in_thread`), its helpers
and event-driven waits, and the pytest plugin's fixtures."""
