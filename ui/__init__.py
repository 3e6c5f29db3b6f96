"""Streamlit helpers shared by the pages: session state, cached loaders, figures, widgets."""
