"""The PySide6 desktop application (``kmrecon gui``): drives ``digitize``/``reconstruct``/``pooling``.

Importing this package does not import Qt.
"""
