"""The Qt studio: widgets, view-models, plots, dialogs and actions. The only place that imports Qt."""
