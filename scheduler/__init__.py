"""The scheduler: the job table (`jobs.py`) and the APScheduler process running it (`runner.py`)."""
