"""Streamlit helpers shared by the pages: session state, cached loaders,
charts and pictures, pickers and forms, each page's views (one job a module)."""
