"""Renderers: pure functions of a Plan (or another result object) to text. Each is `to_<format>(obj) -> str`."""
