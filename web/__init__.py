"""GraphFlow's web layer (Flask app factory, JSON API, Cytoscape.js UI).

Built in the web UI issue; this package is reserved so that the name is ours from the start.
"""
