"""Pictures of the dashboard: `png` paints the terminal's cells with Pillow (no Textual here)."""
