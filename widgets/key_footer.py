"""Textual's footer, rebuilt only when the keys it shows change, and without leaking the old keys."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

KeySignature = tuple[tuple[str, str, str, bool, str], ...]


class KeyFooter(Footer):
    """Textual 8.2.8's Footer recomposes on every bindings change (each view switch, each modal screen
    opened or closed), and each rebuild leaves the old keys alive: every key registers a watcher of the
    footer's `compact` reactive, a list Textual prunes only when `compact` changes, which it never does
    here (~0.35 MB per view switch). This one rebuilds only when what it shows changed, and drops the
    watchers of keys that are gone."""

    _shown: KeySignature | None = None

    def _signature(self) -> KeySignature:
        return tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip or "")
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show or binding.action == "command_palette"
        )

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        shown = self._signature()
        if shown != self._shown:
            self._shown = shown
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        await self.recompose()
        watchers: dict[str, list[tuple[object, object]]] = getattr(self, "__watchers", {})
        if "compact" in watchers:
            watchers["compact"] = [
                (node, callback)
                for node, callback in watchers["compact"]
                if getattr(node, "is_attached", True)
            ]
