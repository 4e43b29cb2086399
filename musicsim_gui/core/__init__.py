"""Qt-free domain model: projects, tracks, takes, ratings, undoable edit commands, settings and the project file format."""
