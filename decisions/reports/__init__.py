"""Manager reports: which decisions count (filters), where answers sit (fields), the figures,
small-number suppression, charts, export documents, starting exports and the background task.
"""
