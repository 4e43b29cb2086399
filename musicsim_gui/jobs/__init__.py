"""Long-running work off the GUI thread: frozen job specs, runners, progress and cancellation."""
